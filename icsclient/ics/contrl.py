"""CONTRL syntax reports: reading what the CCF says about an interchange, and writing one.

The CCF answers every interchange it can read with a CONTRL message (``CONTRL:D:3:UN``)::

    UNH+1+CONTRL:D:3:UN'
    UCI+1234+AAA676Y::AAA676Y+AAA336C+7'                  interchange level
    UCM+2+CUSCAR:D:99B:UN+4'                              message level
    UCS+5'                                                segment level (UNH is 1)
    UCD+39+3'                                             element level (the tag is 1)
    UNT+6+1'

:func:`parse_contrl` reads it into a :class:`ContrlReport`; :func:`build_contrl` writes
the CONTRL a gateway sends for the envelope findings of
:func:`~icsclient.edifact.envelope.parse_interchange`, and
:func:`build_contrl_interchange` wraps it in an interchange addressed back to the sender.
Codes are :class:`ActionCode` (0083) and :class:`ErrorCode` (0085) values: plain ``int``
values that also know their meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import attrs

from .._html import Severity, html_of
from ..edifact.charsets import ascii_number
from ..edifact.codes import action_meaning, syntax_error_meaning
from ..edifact.envelope import Finding, Interchange, Message, parse_interchange
from ..edifact.segment import Element, Segment
from ..errors import BuildError, ReceivedError
from .envelope import build_interchange
from .names import CCF_SITE

__all__ = [
    "ActionCode",
    "ContrlReport",
    "ElementError",
    "ErrorCode",
    "MessageReport",
    "SegmentError",
    "build_contrl",
    "build_contrl_interchange",
    "contrl_interchange",
    "contrl_outcome",
    "located",
    "parse_contrl",
    "parse_contrl_all",
]

MAX_ELEMENT_ERRORS = 99
"""The most UCD segments a CONTRL may carry under one UCS."""


class _Code(int):
    """An ``int`` code that knows its meaning from a service code list."""

    @property
    def meaning(self) -> str:
        """The code's meaning from its code list."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)}: {self.meaning})"

    def __str__(self) -> str:
        return int.__repr__(self)

    def describe(self) -> str:
        """The meaning followed by the code, e.g. ``"data element too long (39)"``."""
        return f"{self.meaning} ({int(self)})"


class ActionCode(_Code):
    """A 0083 action code: an ``int`` (``4``, ``7``, ``8``) that knows its :attr:`meaning`."""

    @property
    def meaning(self) -> str:
        """The code's meaning from the 0083 code list."""
        return action_meaning(int(self))

    @property
    def word(self) -> str:
        """One word for the action: ``rejected`` (4), ``acknowledged`` (7), ``received`` (8)."""
        return {4: "rejected", 7: "acknowledged", 8: "received"}.get(int(self), f"action {self}")


class ErrorCode(_Code):
    """A 0085 syntax error code: an ``int`` (e.g. ``39``) that knows its :attr:`meaning`."""

    @property
    def meaning(self) -> str:
        """The code's meaning from the 0085 code list."""
        return syntax_error_meaning(int(self))


def _where(tag: str | None, element: int | None, component: int | None) -> str:
    parts = [tag] if tag else []
    if element is not None:
        parts.append(f"element {element}")
        if component is not None:
            parts.append(f"component {component}")
    return ", ".join(parts)


def located(error: ErrorCode, tag: str | None, element: int | None, component: int | None) -> str:
    """``"UNT, element 2: <meaning> (29)"``, or just the meaning and code without a place."""
    where = _where(tag, element, component)
    return f"{where}: {error.describe()}" if where else error.describe()


def _position(element: int | None, component: int | None) -> Element | None:
    """S011 (data element identification) for a position, or ``None``."""
    if element is None:
        return None
    return (str(element),) if component is None else (str(element), str(component))


@attrs.frozen
class ElementError:
    """A UCD: an error in one data element of an erroneous segment.

    ``element`` is the element's position in the segment, the segment tag counting as 1;
    ``component`` the 1-based component position, or ``None``.
    """

    error: ErrorCode
    element: int
    component: int | None = None

    def __str__(self) -> str:
        return f"{_where(None, self.element, self.component)}: {self.error.describe()}"


@attrs.frozen
class SegmentError:
    """A UCS: an erroneous segment of a message, with the UCD errors under it.

    ``position`` counts the segments of the message with UNH as 1; ``error`` is ``None``
    when only its elements are in error.
    """

    position: int
    error: ErrorCode | None = None
    element_errors: tuple[ElementError, ...] = ()

    def describe(self) -> list[str]:
        """One phrase per error: ``"segment 5: missing (13)"``, ``"segment 5, element 3: ..."``."""
        out = [] if self.error is None else [f"segment {self.position}: {self.error.describe()}"]
        out.extend(f"segment {self.position}, {e}" for e in self.element_errors)
        return out or [f"segment {self.position}"]


@attrs.frozen
class MessageReport:
    """A UCM: what the CONTRL says about one message of the subject interchange.

    ``type``, ``version``, ``release`` and ``agency`` are the message identifier (S009)
    quoted in the UCM; ``error``, ``segment_tag``, ``element`` and ``component`` locate a
    message-level error (for example 29 on ``UNT`` element 2: wrong segment count).
    """

    reference: str
    type: str
    action: ActionCode
    error: ErrorCode | None = None
    segment_tag: str | None = None
    element: int | None = None
    component: int | None = None
    segment_errors: tuple[SegmentError, ...] = ()
    version: str = ""
    release: str = ""
    agency: str = ""

    @property
    def rejected(self) -> bool:
        """Whether the message was rejected (action 4): it did not reach the ICS."""
        return self.action == 4

    @property
    def has_errors(self) -> bool:
        """Whether any error is reported for the message, at any level."""
        return self.error is not None or bool(self.segment_errors)

    def explain(self) -> str:
        """``"message 2 (CUSCAR) rejected: segment 5, element 3: data element too long (39)"``."""
        head = f"message {self.reference} ({self.type or 'unknown type'}) {self.action.word}"
        details: list[str] = []
        if self.error is not None:
            details.append(located(self.error, self.segment_tag, self.element, self.component))
        for seg in self.segment_errors:
            details.extend(seg.describe())
        if not details:
            return head
        if not self.rejected:
            head += " with errors"
        return f"{head}: {'; '.join(details)}"


@attrs.frozen
class ContrlReport:
    """A CONTRL message read: the verdict on one interchange you sent.

    ``control_reference``, ``sender``, ``owner`` and ``recipient`` identify the subject
    interchange (they are those of *your* UNB); ``action`` is the interchange-level
    action and ``error`` / ``segment_tag`` / ``element`` / ``component`` the
    interchange-level error, if any (e.g. 27 on ``UNB``: a signature problem).
    ``messages`` holds one :class:`MessageReport` per UCM.  ``reference`` is the CONTRL
    message's own UNH reference.
    """

    control_reference: str
    sender: str
    owner: str
    recipient: str
    action: ActionCode
    error: ErrorCode | None = None
    segment_tag: str | None = None
    element: int | None = None
    component: int | None = None
    messages: tuple[MessageReport, ...] = ()
    reference: str = ""

    @property
    def accepted(self) -> bool:
        """Whether the whole interchange was accepted: acknowledged, with no error anywhere."""
        return (
            self.action in (7, 8)
            and self.error is None
            and not any(m.rejected or m.has_errors for m in self.messages)
        )

    @property
    def rejected(self) -> bool:
        """Whether the interchange as a whole was rejected (action 4 in UCI)."""
        return self.action == 4

    @property
    def rejected_messages(self) -> tuple[MessageReport, ...]:
        """The messages the CONTRL rejects (UCM action 4).

        When the whole interchange is rejected, every message is, listed or not.
        """
        return tuple(m for m in self.messages if m.rejected)

    def message(self, reference: str) -> MessageReport | None:
        """The report on message ``reference`` (UNH 0062), or ``None`` when not listed.

        A message that is not listed was accepted, unless the interchange was rejected.
        """
        for m in self.messages:
            if m.reference == reference:
                return m
        return None

    def findings(self) -> tuple[Finding, ...]:
        """The reported errors as envelope :class:`~icsclient.edifact.envelope.Finding` records.

        The inverse of :func:`build_contrl`.  A CONTRL does not carry the segment tag of a
        UCS/UCD error, the segment number in the interchange or a detail text: those
        fields come back empty.
        """
        out: list[Finding] = []
        if self.error is not None:
            out.append(
                Finding(int(self.error), self.segment_tag or "", None, self.element, self.component)
            )
        for m in self.messages:
            ref = m.reference
            if m.error is not None:
                out.append(
                    Finding(int(m.error), m.segment_tag or "", None, m.element, m.component, ref)
                )
            for s in m.segment_errors:
                if s.error is not None:
                    out.append(Finding(int(s.error), "", None, None, None, ref, s.position))
                for e in s.element_errors:
                    out.append(
                        Finding(int(e.error), "", None, e.element, e.component, ref, s.position)
                    )
        return tuple(out)

    def explain(self) -> str:
        """The report in plain English, one line for the interchange and one per message.

        For example::

            interchange 1234 (AAA676Y to AAA336C) acknowledged
            message 2 (CUSCAR) rejected: segment 5, element 3: data element too long (39)
        """
        head = f"interchange {self.control_reference} ({self.sender} to {self.recipient}) " + (
            "accepted" if self.accepted else self.action.word
        )
        if self.error is not None:
            head += ": " + located(self.error, self.segment_tag, self.element, self.component)
        return "\n".join([head, *(m.explain() for m in self.messages)])

    def __repr__(self) -> str:
        """A one-line summary; the full field list would be long."""
        words = contrl_outcome(self)[1]
        return (
            f"<ContrlReport on {self.control_reference} ({self.sender}->{self.recipient}): "
            f"{words}>"
        )

    def _repr_html_(self) -> str | None:
        """The verdict and the errors per level as HTML; see ``render_contrl`` (Jupyter)."""
        return html_of(self)


def contrl_outcome(
    report: ContrlReport, interchange: Interchange | None = None
) -> tuple[Severity, str]:
    """The verdict of a CONTRL at a glance: ``(severity, words)``.

    ``("ok", "accepted")``; ``("error", "rejected")`` when the interchange, or every
    message of ``interchange``, was rejected; otherwise ``("warning", ...)`` naming how
    many messages were rejected or reported with errors.
    """
    if report.accepted:
        return "ok", "accepted"
    if report.rejected:
        return "error", "rejected"
    rejected = {m.reference for m in report.rejected_messages}
    if (
        interchange is not None
        and interchange.messages
        and rejected >= {m.reference for m in interchange.messages}
    ):
        return "error", "rejected"
    if rejected:
        n = len(rejected)
        return "warning", f"{n} message{'' if n == 1 else 's'} rejected"
    return "warning", "acknowledged with errors"


# --------------------------------------------------------------------------- reading


class _Reader:
    """Reads the elements of one CONTRL segment, naming the place of any fault."""

    def __init__(self, seg: Segment, position: int, reference: str) -> None:
        self.seg = seg
        self.position = position
        self.reference = reference

    def fail(self, element: int, text: str) -> ReceivedError:
        return ReceivedError(
            f"CONTRL message {self.reference!r}, segment {self.position} ({self.seg.tag}), "
            f"element {element}: {text}"
        )

    def text(self, index: int, component: int = 0) -> str:
        return self.seg.get(index, component)

    def number(self, index: int, component: int, what: str, *, required: bool) -> int | None:
        """The integer at 0-based data element ``index`` (reported with the tag as 1)."""
        value = self.seg.get(index, component).strip(" ")
        if not value:
            if required:
                raise self.fail(index + 2, f"{what} is missing")
            return None
        number = ascii_number(value, 6)
        if number is None:
            raise self.fail(index + 2, f"{what} {value[:20]!r} is not a number")
        return number

    def action(self, index: int) -> ActionCode:
        value = self.number(index, 0, "action (0083)", required=True)
        assert value is not None
        return ActionCode(value)

    def error(self, index: int) -> ErrorCode | None:
        value = self.number(index, 0, "syntax error (0085)", required=False)
        return None if value is None else ErrorCode(value)

    def location(self, index: int) -> tuple[int | None, int | None]:
        """S011: (element position, component position)."""
        element = self.number(index, 0, "erroneous data element position", required=False)
        component = self.number(index, 1, "erroneous component position", required=False)
        return element, (component if element is not None else None)


def _parse_body(segments: Sequence[Segment], reference: str) -> ContrlReport:
    if not segments or segments[0].tag != "UCI":
        found = segments[0].tag if segments else "nothing"
        raise ReceivedError(
            f"CONTRL message {reference!r}: expected UCI as segment 2, found {found}"
        )
    uci = _Reader(segments[0], 2, reference)
    if not uci.text(0):
        raise uci.fail(2, "interchange control reference (0020) is missing")
    icr = uci.text(0)
    # the UCI quotes the subject's ICR as received, so a gateway rejecting one that is
    # not numeric or too long quotes it as it was; but digits are ASCII digits ('¹²³':
    # str.isdigit() takes them, int() does not) and a number is no longer than the
    # longest EDIFACT identifier (an..35; int() refuses 4,300 digits)
    if icr.isdigit() and ascii_number(icr, 35) is None:
        raise uci.fail(
            2,
            f"interchange control reference (0020) {icr[:20]!r} is not a number of up to "
            "35 ASCII digits",
        )
    element, component = uci.location(6)
    report = ContrlReport(
        control_reference=uci.text(0),
        sender=uci.text(1, 0),
        owner=uci.text(1, 2),
        recipient=uci.text(2, 0),
        action=uci.action(3),
        error=uci.error(4),
        segment_tag=uci.text(5) or None,
        element=element,
        component=component,
        reference=reference,
    )
    messages: list[MessageReport] = []
    # each message's UCS groups: [position, error, [its UCD errors]], made into frozen
    # values once at the end (rebuilding a tuple per UCS/UCD was quadratic)
    groups: list[list[tuple[int, ErrorCode | None, list[ElementError]]]] = []
    for pos, seg in enumerate(segments[1:], start=3):
        r = _Reader(seg, pos, reference)
        if seg.tag == "UCM":
            # an empty 0062 is kept: it reports a message whose UNH lacked its reference
            element, component = r.location(5)
            messages.append(
                MessageReport(
                    reference=r.text(0),
                    type=r.text(1, 0),
                    version=r.text(1, 1),
                    release=r.text(1, 2),
                    agency=r.text(1, 3),
                    action=r.action(2),
                    error=r.error(3),
                    segment_tag=r.text(4) or None,
                    element=element,
                    component=component,
                )
            )
            groups.append([])
        elif seg.tag == "UCS":
            if not messages:
                raise r.fail(1, "UCS outside a UCM group")
            position = r.number(0, 0, "segment position (0096)", required=True)
            assert position is not None
            groups[-1].append((position, r.error(1), []))
        elif seg.tag == "UCD":
            if segments[pos - 3].tag not in ("UCS", "UCD"):
                raise r.fail(1, "UCD without a preceding UCS")
            code = r.number(0, 0, "syntax error (0085)", required=True)
            element, component = r.location(1)
            if element is None:
                raise r.fail(3, "erroneous data element position is missing")
            assert code is not None
            groups[-1][-1][2].append(ElementError(ErrorCode(code), element, component))
        else:
            raise r.fail(1, f"unexpected segment {seg.tag} in a CONTRL message")
    return attrs.evolve(
        report,
        messages=tuple(
            attrs.evolve(
                m,
                segment_errors=tuple(
                    SegmentError(position, error, tuple(elements))
                    for position, error, elements in group
                ),
            )
            if group
            else m
            for m, group in zip(messages, groups, strict=True)
        ),
    )


def _as_interchange(source: Interchange | bytes | bytearray | memoryview) -> Interchange:
    if isinstance(source, Interchange):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return parse_interchange(source, strict=False)
    raise TypeError(f"expected an Interchange, a Message or bytes, got {type(source).__name__}")


def messages_of_type(
    source: Interchange | Message | bytes | bytearray | memoryview, msg_type: str
) -> tuple[Message, ...]:
    """The messages of type ``msg_type`` in ``source``, raising ReceivedError if there is none.

    ``source`` is an interchange (bytes are parsed leniently, envelope findings kept) or
    a single message, which must be of that type.
    """
    if isinstance(source, Message):
        found: tuple[Message, ...] = (source,)
        if source.type != msg_type:
            raise ReceivedError(
                f"message {source.reference!r} is a {source.type or 'message of no type'}, "
                f"not a {msg_type}"
            )
        return found
    interchange = _as_interchange(source)
    found = tuple(m for m in interchange.messages if m.type == msg_type)
    if not found:
        types = ", ".join(m.type for m in interchange.messages) or "no messages"
        raise ReceivedError(
            f"interchange {interchange.control_reference!r} holds no {msg_type} ({types})"
        )
    return found


def parse_contrl_all(
    source: Interchange | bytes | bytearray | memoryview,
) -> tuple[ContrlReport, ...]:
    """Every CONTRL message of an interchange, read with :func:`parse_contrl`."""
    return tuple(_parse_body(m.segments, m.reference) for m in messages_of_type(source, "CONTRL"))


def parse_contrl(source: Interchange | Message | bytes | bytearray | memoryview) -> ContrlReport:
    """Read a CONTRL message into a :class:`ContrlReport`.

    ``source`` is a CONTRL :class:`~icsclient.edifact.envelope.Message`, or an interchange
    (an :class:`~icsclient.edifact.envelope.Interchange` or its bytes) holding exactly one
    CONTRL; use :func:`parse_contrl_all` for an interchange with several.  A CONTRL that
    cannot be read raises :class:`~icsclient.errors.ReceivedError` naming the segment and
    element at fault.
    """
    messages = messages_of_type(source, "CONTRL")
    if len(messages) > 1:
        raise ReceivedError(
            f"the interchange holds {len(messages)} CONTRL messages; use parse_contrl_all()"
        )
    return _parse_body(messages[0].segments, messages[0].reference)


# --------------------------------------------------------------------------- writing


def _trimmed(tag: str, elements: list[str | Element | None]) -> Segment:
    """A segment with trailing empty elements removed (``None`` is an empty element)."""
    while elements and elements[-1] in (None, "", ("",)):
        elements.pop()
    return Segment(tag, *("" if e is None else e for e in elements))


def _error_elements(first: Finding | None, with_tag: bool = True) -> list[str | Element | None]:
    if first is None:
        return []
    out: list[str | Element | None] = [str(first.code)]
    if with_tag:
        out.append(first.segment_tag or None)
        out.append(_position(first.element, first.component))
    return out


def build_contrl(
    received: Interchange,
    findings: Iterable[Finding] | None = None,
    *,
    list_accepted: bool = False,
) -> tuple[Segment, ...]:
    """The body of the CONTRL a gateway sends for ``received`` (UCI … , without UNH/UNT).

    ``findings`` defaults to ``received.issues`` (``parse_interchange(..., strict=False)``).
    Each finding goes to its level: no message reference → UCI (action 4); a message
    reference without a position → UCM (action 4); a position → UCS, and with an
    element position → UCD under that UCS.  Without findings the UCI says 7.

    The UCI quotes the received UNB exactly: the ICR as written (zero padding kept), the
    sender (S002) and the recipient (S003).  UCI and UCM carry one error each: where
    several findings share such a level the first one is reported; a UCS carries its
    first segment-level error and at most 99 UCD.  Messages without findings are listed
    (UCM action 7) only with ``list_accepted`` and when the interchange is not rejected.
    Pass the result to :func:`~icsclient.ics.envelope.build_interchange` as
    ``("CONTRL", segments)``, or use :func:`build_contrl_interchange`.

    Raises :class:`~icsclient.errors.BuildError` when the received UNB lacks what a UCI
    must quote (control reference, sender, recipient).  Quoted values are copied as
    received; one the syntax level cannot carry makes :func:`build_contrl_interchange`
    raise BuildError, and the gateway stays silent as the CCF does for an interchange in
    the wrong format.
    """
    findings = tuple(received.issues if findings is None else findings)
    for f in findings:
        if not isinstance(f, Finding):
            raise BuildError(f"expected envelope Finding records, got {f!r:.80}")
    header = received.header
    icr = received.control_reference
    sender = header.elements[1] if len(header.elements) > 1 else ("",)
    recipient = header.elements[2] if len(header.elements) > 2 else ("",)
    for value, name in (
        (icr, "control reference (0020)"),
        (sender[0], "sender (S002)"),
        (recipient[0], "recipient (S003)"),
    ):
        if not value:
            raise BuildError(f"cannot write a CONTRL: the received UNB has no {name}")

    top = next((f for f in findings if f.message_reference is None), None)
    uci_action = "4" if top is not None else "7"
    segments = [_trimmed("UCI", [icr, sender, recipient, uci_action, *_error_elements(top)])]

    per_message: dict[str, list[Finding]] = {m.reference: [] for m in received.messages}
    for f in findings:
        if f.message_reference is not None:
            per_message.setdefault(f.message_reference, []).append(f)
    identifiers = {m.reference: (m.type, m.version, m.release, m.agency) for m in received.messages}
    for reference, found in per_message.items():
        if not found and (not list_accepted or top is not None):
            continue
        ident = list(identifiers.get(reference, ("",)))
        while len(ident) > 1 and not ident[-1]:
            ident.pop()
        head = next((f for f in found if f.message_position is None), None)
        action = "4" if found else "7"
        segments.append(_trimmed("UCM", [reference, tuple(ident), action, *_error_elements(head)]))
        by_position: dict[int, list[Finding]] = {}
        for f in found:
            if f.message_position is not None:
                by_position.setdefault(f.message_position, []).append(f)
        for position in sorted(by_position):
            group = by_position[position]
            seg_error = next((f for f in group if f.element is None), None)
            segments.append(
                _trimmed("UCS", [str(position), *_error_elements(seg_error, with_tag=False)])
            )
            element_errors = [f for f in group if f.element is not None]
            for f in element_errors[:MAX_ELEMENT_ERRORS]:
                location = _position(f.element, f.component)
                assert location is not None
                segments.append(Segment("UCD", str(f.code), location))
    return tuple(segments)


def build_contrl_interchange(
    received: Interchange,
    findings: Iterable[Finding] | None = None,
    *,
    sender: str = CCF_SITE,
    icr: int | str,
    prepared: datetime | None = None,
    test: bool | None = None,
    list_accepted: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> bytes:
    """The complete interchange holding the CONTRL for ``received`` (what the CCF sends).

    It is addressed back to the received interchange's sender, from ``sender`` (the
    CCF's site ID by default) with control reference ``icr``, asks for no
    acknowledgement, and carries the test indicator of ``received`` unless ``test`` says
    otherwise.  ``findings`` and ``list_accepted`` are as for :func:`build_contrl`;
    ``prepared`` (an aware datetime) or ``clock()`` gives the UNB time.

    Raises :class:`~icsclient.errors.BuildError` when no CONTRL can be written: the
    received UNB lacks a value the UCI quotes, its sender is not a valid site ID to
    address, or a quoted value cannot be carried by UNOC.
    """
    body = build_contrl(received, findings, list_accepted=list_accepted)
    return contrl_interchange(
        body,
        sender=sender,
        icr=icr,
        recipient=received.sender,
        test=received.test if test is None else test,
        prepared=prepared,
        clock=clock,
    )


def contrl_interchange(
    body: Sequence[Segment],
    *,
    sender: str,
    icr: int | str,
    recipient: str,
    test: bool,
    prepared: datetime | None = None,
    clock: Callable[[], datetime] | None = None,
    owner: str | None = None,
) -> bytes:
    """An interchange holding one CONTRL message with ``body``; it asks for no acknowledgement.

    ``prepared`` (an aware datetime) or ``clock()`` gives the UNB time (the envelope
    builder's clock when neither is given).
    """
    if prepared is None and clock is not None:
        prepared = clock()
    return build_interchange(
        sender,
        [("CONTRL", body)],
        icr,
        recipient=recipient,
        test=test,
        prepared=prepared,
        owner=owner,
        ack_request=False,
    )
