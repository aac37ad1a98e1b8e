"""The interchange model and the ISO 9735 envelope checks.

:func:`parse_interchange` reads an interchange into :class:`Interchange` /
:class:`Message` values and checks the envelope.  Every fault becomes a
:class:`Finding` carrying its 0085 syntax error code and position, so the same records
drive a client's pre-flight validation and a gateway's CONTRL.
"""

from __future__ import annotations

import gc
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import chain
from operator import itemgetter

import attrs

from .._html import html_of
from ..errors import EnvelopeError
from ._pieces import pieces_at
from .charsets import SUPPORTED_SYNTAXES, ascii_number, describe_char, invalid_char_pattern
from .codes import syntax_error_meaning
from .segment import DEFAULT_CHARS, Segment, ServiceChars
from .serializer import serialize
from .tokenizer import SegmentReader, Source, iter_segments

_SERVICE_TAGS = frozenset({"UNB", "UNZ", "UNH", "UNT", "UNG", "UNE"})


@attrs.frozen
class Finding:
    """One envelope finding, located the way a CONTRL reports it.

    ``segment_number`` counts the segments of the interchange from UNB = 1.
    ``element`` is the position of the data element with the segment tag counting as 1
    (so the first data element is 2) and ``component`` is 1-based, as in CONTRL's UCD.
    ``message_reference`` is set when the finding concerns a message; then
    ``message_position`` is the segment's position in the message counting UNH as 1, or
    ``None`` when the finding is about the message as a whole.
    """

    code: int
    segment_tag: str
    segment_number: int | None = None
    element: int | None = None
    component: int | None = None
    message_reference: str | None = None
    message_position: int | None = None
    detail: str = ""

    @property
    def meaning(self) -> str:
        """The meaning of ``code`` in the 0085 code list."""
        return syntax_error_meaning(self.code)

    @property
    def level(self) -> str:
        """``"interchange"``, ``"message"``, ``"segment"`` or ``"element"``."""
        if self.message_reference is None:
            return "interchange"
        if self.message_position is None:
            return "message"
        return "segment" if self.element is None else "element"

    def __str__(self) -> str:
        where = [f"{self.segment_tag}"]
        if self.segment_number is not None:
            where.append(f"segment {self.segment_number}")
        if self.element is not None:
            pos = f"element {self.element}"
            if self.component is not None:
                pos += f":{self.component}"
            where.append(pos)
        text = f"{self.code} {self.meaning} at {', '.join(where)}"
        return f"{text}: {self.detail}" if self.detail else text


@attrs.frozen
class Message:
    """One message (UNH … UNT) of an interchange.

    ``segments`` is the body, without UNH and UNT; ``header`` and ``trailer`` are the UNH
    and UNT segments themselves (``trailer`` is ``None`` when UNT was missing).
    """

    reference: str
    type: str
    version: str
    release: str
    agency: str
    segments: tuple[Segment, ...]
    header: Segment
    trailer: Segment | None = None

    @classmethod
    def create(
        cls,
        reference: str,
        type: str,
        segments: Iterable[Segment],
        *,
        version: str = "D",
        release: str = "99B",
        agency: str = "UN",
    ) -> Message:
        """A message with a well-formed UNH and UNT (the count includes UNH and UNT)."""
        body = tuple(segments)
        return cls(
            reference=reference,
            type=type,
            version=version,
            release=release,
            agency=agency,
            segments=body,
            header=Segment("UNH", reference, (type, version, release, agency)),
            trailer=Segment("UNT", str(len(body) + 2), reference),
        )

    def all_segments(self) -> Iterator[Segment]:
        """UNH, the body and UNT (if present), in order."""
        trailer = () if self.trailer is None else (self.trailer,)
        return chain((self.header,), self.segments, trailer)

    def __repr__(self) -> str:
        """A one-line summary; the full field list would be long."""
        size = len(self.segments) + (2 if self.trailer is not None else 1)
        ident = ":".join((self.type, self.version, self.release, self.agency))
        return f"<Message {self.reference} {ident}, {size} segments>"

    def _repr_html_(self) -> str | None:
        """The message as an HTML table of its segments (Jupyter)."""
        return html_of(self)


@attrs.frozen
class Interchange:
    """An interchange (UNB … UNZ) with its envelope fields and messages.

    ``control_reference`` is the ICR exactly as written (a zero-padded one stays padded);
    ``prepared`` is the UNB date and time as written (local time of the sender, naive),
    ``None`` when invalid.  ``issues`` holds the envelope findings.
    """

    service_chars: ServiceChars
    una: bool
    syntax_id: str
    syntax_version: str
    sender: str
    owner: str
    recipient: str
    prepared: datetime | None
    control_reference: str
    ack_requested: bool
    test: bool
    messages: tuple[Message, ...]
    header: Segment
    trailer: Segment | None = None
    issues: tuple[Finding, ...] = ()

    def segments(self) -> Iterator[Segment]:
        """Every segment in order, UNB to UNZ (UNA not included)."""
        trailer = () if self.trailer is None else (self.trailer,)
        # chained in C: no generator frame resumed per segment
        bodies = map(Message.all_segments, self.messages)
        return chain((self.header,), chain.from_iterable(bodies), trailer)

    def to_bytes(self, *, una: bool | None = None) -> bytes:
        """Serialize back to EDIFACT bytes with the interchange's own service characters."""
        syntax = self.syntax_id if self.syntax_id in SUPPORTED_SYNTAXES else "UNOC"
        return serialize(
            self.segments(),
            chars=self.service_chars,
            syntax=syntax,
            una=self.una if una is None else una,
        )

    def __repr__(self) -> str:
        """A one-line summary; the full field list would be long."""
        n = len(self.messages)
        types = ", ".join(sorted({m.type for m in self.messages}))
        text = (
            f"<Interchange {self.control_reference} {self.sender}->{self.recipient}"
            f"{', test' if self.test else ''}, {n} message{'' if n == 1 else 's'}"
            f"{f' ({types})' if types else ''}"
        )
        if self.issues:
            k = len(self.issues)
            text += f", {k} finding{'' if k == 1 else 's'}"
        return text + ">"

    def _repr_html_(self) -> str | None:
        """The envelope and segments as HTML, envelope findings highlighted (Jupyter)."""
        return html_of(self)


def _flag_segments(segs: list[Segment], bad: re.Pattern[str], nbase: int) -> set[int]:
    """Numbers (``nbase + index + 1``) of the segments holding a character ``bad`` matches."""
    texts = list(map("".join, map(chain.from_iterable, map(_elements, segs))))
    joined = " ".join(texts)  # a space is valid in every repertoire
    hits = [m.start() for m in bad.finditer(joined)]
    if not hits:
        return set()
    return {nbase + i + 1 for i in pieces_at(texts, hits)}


_tag = itemgetter(0)
_elements = itemgetter(1)


def _flagged_between(flagged: list[int], first: int, stop: int) -> list[int]:
    """The flagged segment numbers in ``first <= n < stop``, in order, from the sorted
    list ``flagged`` (two binary searches: the messages of an interchange look at their
    own flags only, never at all of them)."""
    return flagged[bisect_left(flagged, first) : bisect_left(flagged, stop)]


def _check_unh(check: _Checker, seg: Segment, number: int) -> None:
    ref = seg.get(0)
    if not ref:
        check.add(
            13,
            "UNH",
            number,
            "message reference (0062) is missing",
            element=2,
            message="",
            position=1,
        )
    elif len(ref) > 14:
        check.add(
            39,
            "UNH",
            number,
            f"message reference {ref!r} exceeds 14",
            element=2,
            message=ref,
            position=1,
        )
    for comp, name in ((0, "message type"), (1, "version"), (2, "release"), (3, "agency")):
        if not seg.get(1, comp):
            check.add(
                13,
                "UNH",
                number,
                f"{name} (S009) is missing",
                element=3,
                component=comp + 1,
                message=ref,
                position=1,
            )


def _parse_datetime(date: str, time: str) -> datetime | None:
    """``YYMMDD`` or ``CCYYMMDD`` and ``HHMM`` as a datetime; ``None`` when not valid."""
    if len(date) not in (6, 8) or len(time) != 4 or ascii_number(date + time, 12) is None:
        return None
    year = 2000 + int(date[:2]) if len(date) == 6 else int(date[:4])
    if len(date) == 6 and year > 2068:  # the POSIX pivot strptime's %y uses
        year -= 100
    try:
        return datetime(year, int(date[-4:-2]), int(date[-2:]), int(time[:2]), int(time[2:]))
    except ValueError:
        return None


MAX_FINDINGS = 1000
"""The most envelope findings kept for one interchange: the first ones in the input.  A
hostile interchange can hold one fault per segment; a CONTRL reporting a thousand is
already more than anyone reads, and the interchange is refused either way."""


class _Checker:
    """Collects findings (the first :data:`MAX_FINDINGS`) while the segments stream past."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(
        self,
        code: int,
        tag: str,
        number: int | None,
        detail: str,
        *,
        element: int | None = None,
        component: int | None = None,
        message: str | None = None,
        position: int | None = None,
    ) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(
                Finding(code, tag, number, element, component, message, position, detail)
            )


def _check_chars(
    check: _Checker,
    seg: Segment,
    number: int,
    syntax: str,
    message: str | None,
    position: int | None,
) -> None:
    bad = invalid_char_pattern(syntax)
    if not bad.search("".join(chain.from_iterable(seg.elements))):
        return
    for i, element in enumerate(seg.elements, start=2):
        for j, component in enumerate(element, start=1):
            m = bad.search(component)
            if m:
                check.add(
                    21,
                    seg.tag,
                    number,
                    f"character {describe_char(m.group())} is not in the {syntax} repertoire",
                    element=i,
                    component=j,
                    message=message,
                    position=position,
                )
                return


def _check_unb(check: _Checker, unb: Segment) -> tuple[str, str]:
    syntax, version = unb.get(0, 0), unb.get(0, 1)
    if not syntax:
        check.add(13, "UNB", 1, "syntax identifier (S001) is missing", element=2, component=1)
    elif syntax not in SUPPORTED_SYNTAXES or version not in ("1", "2", "3"):
        check.add(
            2,
            "UNB",
            1,
            f"syntax identifier {syntax}:{version} is not supported "
            f"(supported: {', '.join(SUPPORTED_SYNTAXES)} version 3)",
            element=2,
        )
    for idx, name in ((1, "sender (S002)"), (2, "recipient (S003)")):
        if not unb.get(idx, 0):
            check.add(13, "UNB", 1, f"interchange {name} is missing", element=idx + 2, component=1)
    date, time = unb.get(3, 0), unb.get(3, 1)
    if not date or not time:
        check.add(13, "UNB", 1, "date/time of preparation (S004) is missing", element=5)
    elif _parse_datetime(date, time) is None:
        check.add(
            12,
            "UNB",
            1,
            f"date/time of preparation {date}:{time} is not a valid YYMMDD:HHMM "
            "(times run 0000-2359)",
            element=5,
            component=1 if _parse_datetime(date, "0000") is None else 2,
        )
    icr = unb.get(4)
    if not icr:
        check.add(13, "UNB", 1, "interchange control reference (0020) is missing", element=6)
    elif len(icr) > 14:
        check.add(39, "UNB", 1, f"interchange control reference {icr!r} exceeds 14", element=6)
    elif ascii_number(icr, 14) is None:
        check.add(12, "UNB", 1, f"interchange control reference {icr!r} is not numeric", element=6)
    if unb.get(8) not in ("", "1"):
        check.add(12, "UNB", 1, f"acknowledgement request {unb.get(8)!r} is not 1", element=10)
    if unb.get(10) not in ("", "1"):
        check.add(12, "UNB", 1, f"test indicator {unb.get(10)!r} is not 1", element=12)
    return syntax, version


def parse_interchange(data: Source, strict: bool = True, *, pause_gc: bool = False) -> Interchange:
    """Parse and check one interchange.

    ``data`` is bytes, str or a binary file object.  Text that cannot be tokenized raises
    :class:`~icsclient.errors.EdifactSyntaxError` naming its first fault.  Envelope faults
    are collected as :class:`Finding` records (the first :data:`MAX_FINDINGS` found);
    with ``strict=True`` any finding raises :class:`~icsclient.errors.EnvelopeError`
    carrying them, with ``strict=False`` the interchange is returned with ``issues``
    filled.  Time is linear in the input.

    ``pause_gc=True`` pauses the garbage collector during the build (and puts it back as
    it was): the bulk build creates many small tuples, and pausing saves a fifth to a half
    of the time, but it is a process-wide side effect, so only on request.
    """
    gc_was_enabled = pause_gc and gc.isenabled()
    if gc_was_enabled:
        gc.disable()
    try:
        reader = iter_segments(data, share=True)  # the model keeps every segment
        interchange = _build(reader, reader)
    finally:
        if gc_was_enabled:
            gc.enable()
    if strict and interchange.issues:
        raise EnvelopeError(interchange.issues)
    return interchange


def interchange_from_segments(
    segments: Iterable[Segment],
    *,
    service_chars: ServiceChars = DEFAULT_CHARS,
    una: bool = True,
    strict: bool = True,
) -> Interchange:
    """Build and check an :class:`Interchange` from segments (UNB … UNZ, no UNA).

    The same checks as :func:`parse_interchange` apply; ``service_chars`` and ``una``
    say how the interchange is written back by :meth:`Interchange.to_bytes`.
    """
    interchange = _build(iter(segments), None, service_chars, una)
    if strict and interchange.issues:
        raise EnvelopeError(interchange.issues)
    return interchange


def _build(
    segments: Iterator[Segment],
    reader: SegmentReader | None,
    chars: ServiceChars = DEFAULT_CHARS,
    una: bool = True,
) -> Interchange:
    check = _Checker()
    first = next(segments, None)
    if reader is not None:
        # the service characters are known once the first segment has been read
        chars, una = reader.service_chars, reader.una is not None
    if first is None or first.tag != "UNB":
        if first is None:
            check.add(13, "UNB", None, "the interchange is empty: no UNB")
        else:
            check.add(13, "UNB", 1, f"the interchange starts with {first.tag}, not UNB")
        unb = Segment._make(("UNB", ()))
        rest: Iterable[Segment] = [first] if first is not None else []
        number = 0
    else:
        unb = first
        rest = segments
        number = 1
    syntax, version = (
        _check_unb(check, unb)
        if first is not None and first.tag == "UNB"
        else (
            "UNOC",
            "3",
        )
    )
    char_syntax = syntax if syntax in SUPPORTED_SYNTAXES else "UNOC"
    if reader is not None and char_syntax == "UNOC":
        flagged = reader.flagged  # the tokenizer flags what UNOC cannot carry
    else:
        flagged = set()  # found below, once the segments are in a list
    if first is not None and first.tag == "UNB":
        _check_chars(check, unb, 1, char_syntax, None, None)

    messages: list[Message] = []
    unz: Segment | None = None
    groups = 0
    loose_messages = 0
    in_group = False
    # message being read
    m_header: Segment | None = None
    unz_number: int | None = None
    m_body: list[Segment] = []

    def close_message(trailer: Segment | None, trailer_number: int | None) -> None:
        nonlocal m_header
        assert m_header is not None
        ref = m_header.get(0)
        if trailer is None:
            check.add(13, "UNT", None, f"message {ref!r} has no UNT", message=ref)
        else:
            count = trailer.get(0)
            actual = len(m_body) + 2
            if count != str(actual):
                check.add(
                    29,
                    "UNT",
                    trailer_number,
                    f"UNT says {count!r} segments, message {ref!r} has {actual}",
                    element=2,
                    message=ref,
                )
            if trailer.get(1) != ref:
                check.add(
                    28,
                    "UNT",
                    trailer_number,
                    f"UNT reference {trailer.get(1)!r} does not match UNH reference {ref!r}",
                    element=3,
                    message=ref,
                )
        messages.append(
            Message(
                reference=ref,
                type=m_header.get(1, 0),
                version=m_header.get(1, 1),
                release=m_header.get(1, 2),
                agency=m_header.get(1, 3),
                segments=tuple(m_body),
                header=m_header,
                trailer=trailer,
            )
        )
        m_header = None

    # Only service segments drive the state machine: find them in one pass, and take each
    # message body as a slice between its UNH and UNT.
    segs = rest if isinstance(rest, list) else list(rest)
    nbase = number  # the segment number of segs[j] is nbase + j + 1
    if reader is None or char_syntax != "UNOC":
        flagged = _flag_segments(segs, invalid_char_pattern(char_syntax), nbase)
    in_order = sorted(flagged)
    service = [j for j, tag in enumerate(map(_tag, segs)) if tag in _SERVICE_TAGS]
    service.append(len(segs))
    pos = 0
    m_start = 0
    for j in service:
        if j > pos:
            if m_header is not None:
                m_body.extend(segs[pos:j])
                for k in _flagged_between(in_order, nbase + pos + 1, nbase + j + 1):
                    ref = m_header.get(0)
                    _check_chars(check, segs[k - nbase - 1], k, char_syntax, ref, k - m_start)
            else:
                for k in range(pos, j):
                    tag = segs[k].tag
                    why = (
                        "segment after UNZ"
                        if unz is not None
                        else f"segment {tag} outside a message"
                    )
                    check.add(33, tag, nbase + k + 1, why)
        if j == len(segs):
            break
        pos = j + 1
        seg = segs[j]
        number = nbase + j + 1
        tag = seg.tag
        if m_header is not None:
            if tag == "UNT":
                if number in flagged:
                    ref = m_header.get(0)
                    _check_chars(check, seg, number, char_syntax, ref, number - m_start)
                close_message(seg, number)
                continue
            close_message(None, None)
        if unz is not None:
            check.add(33, tag, number, "segment after UNZ")
            continue
        if tag == "UNH":
            m_header = seg
            m_start = number - 1
            m_body = []
            ref = seg.get(0)
            if not in_group:
                loose_messages += 1
            _check_unh(check, seg, number)
            _check_chars(check, seg, number, char_syntax, ref, 1)
        elif tag == "UNZ":
            unz = seg
            _check_chars(check, seg, number, char_syntax, None, None)
            unz_number = number
        elif tag == "UNG":
            groups += 1
            in_group = True
        elif tag == "UNE":
            in_group = False
        elif tag == "UNT":
            check.add(33, "UNT", number, "UNT without a preceding UNH")
        else:
            check.add(33, tag, number, f"segment {tag} outside a message")
    if m_header is not None:
        close_message(None, None)

    if unz is None:
        check.add(13, "UNZ", None, "the interchange has no UNZ")
    else:
        count = unz.get(0)
        actual = len(messages) if not groups else groups
        if count != str(actual):
            check.add(
                29,
                "UNZ",
                unz_number,
                f"UNZ says {count!r} messages, the interchange has {actual}",
                element=2,
            )
        if unz.get(1) != unb.get(4):
            check.add(
                28,
                "UNZ",
                unz_number,
                f"UNZ reference {unz.get(1)!r} does not match UNB reference {unb.get(4)!r}",
                element=3,
            )
    if groups:
        if loose_messages:
            check.add(30, "UNG", None, "functional groups and messages outside groups mixed")
        else:
            check.add(15, "UNG", None, "functional groups (UNG/UNE) are not supported by the CCF")
    if not messages and first is not None and first.tag == "UNB":
        check.add(32, "UNB", 1, "the interchange holds no message")

    date, time = unb.get(3, 0), unb.get(3, 1)
    return Interchange(
        service_chars=chars,
        una=una,
        syntax_id=syntax,
        syntax_version=version,
        sender=unb.get(1, 0),
        owner=unb.get(1, 2),
        recipient=unb.get(2, 0),
        prepared=_parse_datetime(date, time),
        control_reference=unb.get(4),
        ack_requested=unb.get(8) == "1",
        test=unb.get(10) == "1",
        messages=tuple(messages),
        header=unb,
        trailer=unz,
        issues=tuple(check.findings),
    )
