"""The sending half of the lodgement client: what it lodges, building ahead of the lock,
and what is due again."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeAlias

from ..edifact.envelope import Interchange, Message, parse_interchange
from ..edifact.segment import Segment
from ..errors import BuildError
from ..ics.sequence import following, format_icr
from ..smime import Credentials, Trust
from ..store import OutboxEntry, OutboxState, Store
from ._events import Event, GaveUp, PendingSend, ResendDue
from ._state import Change, Input, on_overdue

if TYPE_CHECKING:
    from ._client import LodgementClient

__all__ = [
    "Build",
    "Lodgeable",
    "MessageSpec",
    "PkiLike",
    "checked_builder",
    "foreseen",
    "messages_of",
    "overdue",
]

MessageSpec: TypeAlias = "Message | tuple[str, Iterable[Segment]]"
"""One message to lodge: a :class:`~icsclient.edifact.envelope.Message` or a
``(type, body segments)`` pair."""

Lodgeable: TypeAlias = "bytes | bytearray | Interchange | MessageSpec | Sequence[MessageSpec]"
"""What :meth:`LodgementClient.lodge` takes: an interchange (bytes or parsed), one message
(a :class:`~icsclient.edifact.envelope.Message` or a ``(type, body segments)`` pair) or a
sequence of messages."""

Build: TypeAlias = Callable[[str], "tuple[bytes, bytes]"]
"""An ``allocate_and_record`` callback: (interchange, e-mail) for an ICR."""


class PkiLike(Protocol):
    """What :meth:`LodgementClient.for_pki` reads from a throw-away PKI
    (:class:`icsclient.testing.pki.ThrowawayPKI`)."""

    @property
    def client(self) -> Credentials:
        """The client's credentials."""

    @property
    def gateway(self) -> Credentials:
        """The gateway's credentials (only its certificate is used)."""

    @property
    def client_site(self) -> str:
        """The client's site ID."""

    @property
    def client_email(self) -> str:
        """The client's e-mail address."""

    @property
    def gateway_email(self) -> str:
        """The gateway's e-mail address."""

    def trust_for_client(self, **overrides: object) -> Trust:
        """The client's trust: the test root, the gateway pinned."""


def foreseen(store: Store, site: str, pad: bool, build: Build, ahead: int = 0) -> Build:
    """``build``, done ahead for the ICR the store will most likely hand out next
    (or, with ``ahead``, after that many others).

    :meth:`~icsclient.store.Store.allocate_and_record` runs its callback while it
    holds the ledger's write lock, and signing and encrypting are most of the callback:
    another process sharing the ledger would wait for them.  So build now, before the
    lock, for the ICR :meth:`~icsclient.store.Store.peek_icr` announces, and have the
    callback return that when the store hands out that very ICR (it does, unless
    another process took it in between: then it builds again, inside).  The number is
    still allocated and recorded with its interchange in one transaction; an e-mail
    made for a number not handed out is dropped, never sent.
    """
    try:
        number = store.peek_icr(site)
        for _ in range(ahead):
            number = following(number)
        guess = format_icr(number, pad=pad)
        ready = build(guess)
    except Exception:  # the real call, inside the transaction, says what is wrong
        return build

    def record(icr: str) -> tuple[bytes, bytes]:
        return ready if icr == guess else build(icr)

    return record


def messages_of(source: Lodgeable, site: str) -> list[MessageSpec]:
    """The messages to lodge from ``source``; raises BuildError for what cannot be lodged."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = parse_interchange(bytes(source), strict=True)
    items: list[MessageSpec]
    if isinstance(source, Interchange):
        if source.sender != site:
            raise BuildError(
                f"the interchange's sender is {source.sender!r}, not this client's site {site!r}"
            )
        items = list(source.messages)
    elif isinstance(source, Message) or (
        isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], str)
    ):
        items = [source]
    else:
        items = list(source)
    if not items:
        raise BuildError("nothing to lodge: no messages")
    for item in items:
        if (item.type if isinstance(item, Message) else item[0]) == "CONTRL":
            raise BuildError(
                "lodge() takes business messages; the client writes acknowledgements "
                "(ICONTRL) itself when it receives"
            )
    return items


def checked_builder(
    build: Callable[[str], bytes], site: str, compose: Callable[[bytes], bytes]
) -> tuple[Build, Callable[[str, bytes], str | None]]:
    """For :meth:`~icsclient.lodgement.LodgementClient.lodge_built`: the
    ``allocate_and_record`` callback that checks what ``build(icr)`` wrote (a UNB with
    ``site`` as sender and that ICR) and composes its e-mail; and the ``kind`` function
    giving the first message type of what it built."""
    kinds: dict[str, str | None] = {}

    def record(icr: str) -> tuple[bytes, bytes]:
        data = build(icr)
        if not isinstance(data, (bytes, bytearray)):
            raise BuildError(f"build({icr!r}) must return bytes, not {type(data).__name__}")
        data = bytes(data)
        if not data.lstrip().startswith((b"UNB", b"UNA")):
            raise BuildError(f"build({icr!r}) returned bytes that do not start with a UNB")
        head = parse_interchange(data, strict=False)
        if (head.sender, head.control_reference) != (site, icr):
            raise BuildError(
                f"build({icr!r}) wrote UNB sender {head.sender!r} and ICR "
                f"{head.control_reference!r}; expected {site!r} and {icr!r}"
            )
        kinds[icr] = head.messages[0].type if head.messages else None
        return data, compose(data)

    return record, lambda icr, data: kinds.get(icr)


def overdue(client: LodgementClient, when: datetime) -> list[Event]:
    """:meth:`~icsclient.lodgement.LodgementClient.due`: offer again, or give up."""
    found: list[tuple[OutboxEntry, bool]] = [
        (e, True) for e in client.store.due(when) if e.site == client.site
    ]
    found.extend(
        (e, False)
        for e in client.store.outbox(OutboxState.QUEUED)
        if e.site == client.site and (e.next_resend or e.created + client.resend_after) <= when
    )
    events: list[Event] = []
    for entry, was_sent in found:
        if on_overdue(entry.attempts, client.max_attempts) is Input.LAST_OVERDUE:
            what = "no CONTRL" if was_sent else "not sent"
            detail = f"{what} after {entry.attempts} attempt(s)"
            change = Change(Input.LAST_OVERDUE, when, detail=detail, sets_detail=True)
            client.store.update_outbox(entry.site, entry.icr, change, op="due")
            events.append(GaveUp(entry.site, entry.icr, entry.attempts, entry.last_sent))
        elif was_sent:
            events.append(ResendDue(client._to_send(entry, when), entry.last_sent))
        else:
            events.append(PendingSend(client._to_send(entry, when)))
    return events
