"""The CCF envelope: UNA/UNB/UNH…UNT/UNZ exactly as the gateway expects them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ..edifact.envelope import Message
from ..edifact.segment import DEFAULT_CHARS, Segment
from ..edifact.serializer import serialize_segment
from ..errors import BuildError
from .names import CCF_SITE, check_icr, check_site_id

SYDNEY = ZoneInfo("Australia/Sydney")
"""The CCF's time zone: UNB times are Australian Eastern (AEST/AEDST) local time."""

MAX_INTERCHANGE_BYTES = 10 * 1024 * 1024
"""The largest interchange the CCF accepts: 10 MB (10,485,760 bytes)."""

_SERVICE = frozenset({"UNA", "UNB", "UNZ", "UNH", "UNT", "UNG", "UNE"})


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def message_identifier(msg_type: str) -> tuple[str, str, str, str]:
    """S009 for a message type: ``CONTRL:D:3:UN`` or ``<TYPE>:D:99B:UN``."""
    return (msg_type, "D", "3", "UN") if msg_type == "CONTRL" else (msg_type, "D", "99B", "UN")


def _normalise(
    messages: Iterable[Message | tuple[str, Iterable[Segment]]],
) -> list[tuple[tuple[str, str, str, str], tuple[Segment, ...]]]:
    out: list[tuple[tuple[str, str, str, str], tuple[Segment, ...]]] = []
    for n, item in enumerate(messages, start=1):
        if isinstance(item, Message):
            ident = (item.type, item.version, item.release, item.agency)
            body = tuple(item.segments)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            ident = message_identifier(item[0])
            body = tuple(item[1])
        else:
            raise BuildError(
                f"message {n}: expected a Message or a (type, segments) pair, got {item!r:.80}"
            )
        if not ident[0].isascii() or not ident[0].isalnum() or not ident[0].isupper():
            raise BuildError(f"message {n}: message type {ident[0]!r} is not like CUSCAR")
        for i, seg in enumerate(body, start=1):
            if not isinstance(seg, Segment):
                raise BuildError(
                    f"message {n}, body segment {i}: expected a Segment, got {seg!r:.80}"
                )
            if seg.tag in _SERVICE:
                raise BuildError(
                    f"message {n}, body segment {i}: {seg.tag} is a service segment; "
                    "the builder writes the envelope itself"
                )
        out.append((ident, body))
    return out


def prepared_fields(prepared: datetime) -> tuple[str, str]:
    """S004 ``(YYMMDD, HHMM)`` for an aware datetime, in Australia/Sydney local time."""
    if prepared.tzinfo is None or prepared.utcoffset() is None:
        raise BuildError(
            f"prepared time {prepared.isoformat()} has no time zone; give an aware datetime"
        )
    local = prepared.astimezone(SYDNEY)
    return local.strftime("%y%m%d"), local.strftime("%H%M")


def build_interchange(
    sender: str,
    messages: Sequence[Message | tuple[str, Iterable[Segment]]],
    icr: int | str,
    *,
    recipient: str = CCF_SITE,
    test: bool = False,
    prepared: datetime | None = None,
    owner: str | None = None,
    ack_request: bool | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> bytes:
    """Build the bytes of one interchange as the CCF expects it.

    ``UNA:+.? '``, ``UNB+UNOC:3+<sender>::<owner>+<recipient>+YYMMDD:HHMM+<icr>++++1++1'``
    (0031 = 1 when there is a business message, 0035 = 1 for test), ``UNH+<n>+<TYPE>:D:99B:UN'``
    numbered 1..n (``CONTRL:D:3:UN`` for CONTRL), ``UNT`` counting UNH and UNT and
    ``UNZ+<count>+<icr>'``.  Messages are :class:`~icsclient.edifact.envelope.Message`
    values or ``(type, body_segments)`` pairs.  The preparation time is ``prepared`` (any
    aware datetime) or ``clock()``, written in Australia/Sydney local time.

    Raises :class:`~icsclient.errors.BuildError` for an interchange over 10 MB, CONTRL
    mixed with business messages, no messages, an invalid site ID or ICR.
    """
    sender = check_site_id(sender, "sender site ID")
    owner = sender if owner is None else check_site_id(owner, "owner site ID")
    recipient = check_site_id(recipient, "recipient site ID")
    icr_text = check_icr(icr)
    specs = _normalise(messages)
    if not specs:
        raise BuildError("an interchange needs at least one message")
    contrl = [ident[0] == "CONTRL" for ident, _ in specs]
    if any(contrl) and not all(contrl):
        raise BuildError(
            "CONTRL and business messages cannot share an interchange "
            f"(types: {', '.join(ident[0] for ident, _ in specs)})"
        )
    ack = (not all(contrl)) if ack_request is None else ack_request
    date, time = prepared_fields(prepared if prepared is not None else clock())

    unb: list[str | tuple[str, ...]] = [
        ("UNOC", "3"),
        (sender, "", owner),
        recipient,
        (date, time),
        icr_text,
        "",
        "",
        "",
        "1" if ack else "",
        "",
        "1" if test else "",
    ]
    while unb and unb[-1] == "":
        unb.pop()
    parts = [DEFAULT_CHARS.una, serialize_segment(Segment("UNB", *unb))]
    size = len(parts[0]) + len(parts[1])
    for n, (ident, body) in enumerate(specs, start=1):
        ref = str(n)
        for i, seg in enumerate(
            (Segment("UNH", ref, ident), *body, Segment("UNT", str(len(body) + 2), ref)), start=1
        ):
            try:
                text = serialize_segment(seg)
            except BuildError as exc:
                raise BuildError(f"message {n}, segment {i}: {exc}") from None
            size += len(text)
            if size > MAX_INTERCHANGE_BYTES:
                raise BuildError(
                    f"the interchange exceeds the CCF's limit of {MAX_INTERCHANGE_BYTES:,} "
                    f"bytes (at message {n})"
                )
            parts.append(text)
    parts.append(serialize_segment(Segment("UNZ", str(len(specs)), icr_text)))
    data = "".join(parts).encode("latin-1")
    if len(data) > MAX_INTERCHANGE_BYTES:
        raise BuildError(
            f"the interchange is {len(data):,} bytes, over the CCF's limit of "
            f"{MAX_INTERCHANGE_BYTES:,}"
        )
    return data
