"""CUSRES business responses from the ICS, including ERM (ICS rules §5.2).

A response names its ICS document in the BGM, says what it answers in RFF/DTM/NAD
segments and carries its errors and advices in ERP groups::

    BGM+962:::AIRCRR+AIRCR123:1+11'
    RFF+ACW:AIRCR'  RFF+AFM:9'  RFF+ABO:MYREF::2'  DTM+310:20240102140455:204'
    NAD+MR+AAA676Y'
    ERP+1'  ERC+ADVICE:80:95'  ERC+MS5203:6:95'  FTX+AAO+++Report accepted'
    CNT+55:1'

:func:`parse_cusres` reads one into a :class:`CusresResponse`.  The outcome is decided by
the outcome code among the advices (``MS5201`` rejected, ``MS5202`` accepted with errors
and/or warnings, ``MS5203`` accepted), never by counting errors.  Segments the reader does
not know are kept in :attr:`CusresResponse.unknown_segments`, so nothing is lost.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

import attrs

from .._html import Severity, html_of
from ..edifact.charsets import ascii_number
from ..edifact.envelope import Interchange, Message
from ..edifact.segment import Segment
from ..errors import ReceivedError
from .catalogue import function_meaning
from .contrl import messages_of_type

__all__ = [
    "OUTCOME_CODES",
    "CusresResponse",
    "Outcome",
    "ResponseError",
    "cusres_outcome",
    "parse_cusres",
    "parse_cusres_all",
]


class Outcome(enum.Enum):
    """The overall outcome of a response, from its outcome code."""

    REJECTED = "rejected"
    """``MS5201`` (or ``XX9999``): the transaction was rejected."""
    ACCEPTED_WITH_WARNINGS = "accepted with errors and/or warnings"
    """``MS5202``: accepted, with errors and/or warnings to look at."""
    ACCEPTED = "accepted"
    """``MS5203``: accepted without errors or warnings."""
    UNKNOWN = "unknown"
    """No outcome code: a status or an advice, for instance."""


OUTCOME_CODES: Mapping[str, Outcome] = MappingProxyType(
    {
        "MS5201": Outcome.REJECTED,
        "XX9999": Outcome.REJECTED,
        "MS5202": Outcome.ACCEPTED_WITH_WARNINGS,
        "MS5203": Outcome.ACCEPTED,
    }
)
"""The advice codes that state a response's outcome."""

_SEVERITY = (Outcome.REJECTED, Outcome.ACCEPTED_WITH_WARNINGS, Outcome.ACCEPTED)
_CLASSES = frozenset({"ERROR", "ADVICE", "CCFERROR", "WARNING"})
_GROUP_TAGS = frozenset({"ERC", "FTX", "RFF"})
_DTM_FORMATS = {"204": "%Y%m%d%H%M%S", "203": "%Y%m%d%H%M", "102": "%Y%m%d"}


def _text(seg: Segment) -> str:
    """The free text of an FTX (C108, all components, joined by a space)."""
    return " ".join(c for c in seg.elements[3] if c) if len(seg.elements) > 3 else ""


@attrs.frozen
class ResponseError:
    """One ERP group: an error or an advice.

    ``error_class`` is ``ERROR``, ``ADVICE`` or ``CCFERROR`` (``""`` when absent),
    ``code`` the ICS message id (``EX1234``, ``MS5203``), ``text`` the FTX+AAO text.
    ``location`` is the ERP error point (C701 components as written) and ``references``
    the (qualifier, value) pairs of RFF segments inside the group.  ``segments`` is the
    group as received.
    """

    error_class: str
    code: str
    text: str
    location: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()
    segments: tuple[Segment, ...] = ()

    @property
    def is_advice(self) -> bool:
        """Whether this is an advice (class ADVICE) rather than an error."""
        return self.error_class == "ADVICE"

    def __str__(self) -> str:
        head = " ".join(p for p in (self.error_class, self.code) if p) or "error"
        return f"{head}: {self.text}" if self.text else head


def _read_group(group: Sequence[Segment]) -> ResponseError:
    error_class = code = ""
    texts: list[str] = []
    refs: list[tuple[str, str]] = []
    for seg in group[1:]:
        if seg.tag == "ERC":
            value, qualifier = seg.get(0, 0), seg.get(0, 1)
            is_class = qualifier == "80" or (qualifier != "6" and value.upper() in _CLASSES)
            if is_class and not error_class:
                error_class = value
            elif not code:
                code = value
        elif seg.tag == "FTX":
            texts.append(_text(seg))
        else:  # RFF
            refs.append((seg.get(0, 0), seg.get(0, 1)))
    location = group[0].elements[0] if group[0].elements else ()
    return ResponseError(
        error_class, code, " ".join(t for t in texts if t), location, tuple(refs), tuple(group)
    )


@attrs.frozen
class CusresResponse:
    """A CUSRES response read: what Customs said about one of your transactions.

    The document: ``document_name`` (``AIRCRR``, ``EXDR``, ``ERM``, ``CARST`` ...),
    ``document_code`` (BGM 1001), ``transaction_id`` and ``version`` (BGM C106) and
    ``function`` (BGM 1225: ``11`` response, ``8`` status, ``14`` advice).

    What it answers: ``original_document`` (RFF+ACW), ``original_function`` (RFF+AFM),
    ``sender_reference`` and ``sender_version`` (RFF+ABO; RFF+AAY in an ERM),
    ``received`` (DTM+310, when the ICS received it; ``None`` if absent or unreadable)
    and ``recipient_site`` (NAD+MR).

    The verdict: ``outcome`` from ``outcome_code``; ``errors`` every ERP group, advices
    included, in order; ``count`` the CNT+55 value.  ``status`` / ``status_text`` come
    from FTX+AHN, ``failed_message_type`` / ``failed_function`` from an ERM's FTX+ACX /
    FTX+ADN and ``raised_by`` from FTX+AAH.  ``references`` maps every RFF qualifier
    outside the error groups to its values.  ``unknown_segments`` holds every segment
    not read into a field above and ``notes`` what could not be read.
    """

    document_name: str
    transaction_id: str
    version: str
    function: str
    outcome: Outcome
    document_code: str = ""
    original_document: str | None = None
    original_function: str | None = None
    sender_reference: str | None = None
    sender_version: str | None = None
    received: datetime | None = None
    recipient_site: str | None = None
    outcome_code: str | None = None
    errors: tuple[ResponseError, ...] = ()
    count: int | None = None
    status: str | None = None
    status_text: str | None = None
    failed_message_type: str | None = None
    failed_function: str | None = None
    raised_by: str | None = None
    references: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=lambda: MappingProxyType({}), hash=False
    )
    unknown_segments: tuple[Segment, ...] = ()
    notes: tuple[str, ...] = ()
    message_reference: str = ""
    segments: tuple[Segment, ...] = ()

    @property
    def is_erm(self) -> bool:
        """Whether this is an ERM: an error raised before the application saw the message."""
        return self.document_name == "ERM"

    @property
    def accepted(self) -> bool:
        """Whether the outcome is ACCEPTED or ACCEPTED_WITH_WARNINGS."""
        return self.outcome in (Outcome.ACCEPTED, Outcome.ACCEPTED_WITH_WARNINGS)

    @property
    def rejected(self) -> bool:
        """Whether the outcome is REJECTED."""
        return self.outcome is Outcome.REJECTED

    @property
    def count_mismatch(self) -> bool:
        """Whether CNT+55 is present and differs from the number of ERP groups."""
        return self.count is not None and self.count != len(self.errors)

    @property
    def advices(self) -> tuple[ResponseError, ...]:
        """The ERP groups of class ADVICE."""
        return tuple(e for e in self.errors if e.is_advice)

    @property
    def problems(self) -> tuple[ResponseError, ...]:
        """The ERP groups that are not advices (ERROR, CCFERROR, ...)."""
        return tuple(e for e in self.errors if not e.is_advice)

    def explain(self) -> str:
        """The response in plain English, one line per error or advice."""
        about = self.original_document or self.failed_message_type or ""
        if self.sender_reference:
            about += f" {self.sender_reference}"
            if self.sender_version:
                about += f" version {self.sender_version}"
        head = f"{self.document_name or 'CUSRES'} ({function_meaning(self.function)})"
        if about.strip():
            head += f" for {about.strip()}"
        head += f": {self.outcome.value}"
        if self.outcome_code:
            head += f" ({self.outcome_code})"
        if self.status:
            head += f"; status {self.status}" + (
                f": {self.status_text}" if self.status_text else ""
            )
        lines = [head, *(f"  {e}" for e in self.errors)]
        if self.count_mismatch:
            lines.append(f"  (CNT+55 says {self.count}, {len(self.errors)} found)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        """A one-line summary; the full field list would be long."""
        words = cusres_outcome(self)[1]
        about = f" for {self.sender_reference}" if self.sender_reference else ""
        code = f" ({self.outcome_code})" if self.outcome_code else ""
        counts = ", ".join(
            f"{len(v)} {w}{'' if len(v) == 1 else 's'}"
            for v, w in ((self.problems, "error"), (self.advices, "advice"))
        )
        return (
            f"<CusresResponse {self.document_name} {self.transaction_id}{about}: {words}{code}, "
            f"{counts}>"
        )

    def _repr_html_(self) -> str | None:
        """The outcome, errors and segments as HTML (Jupyter)."""
        return html_of(self)


_OUTCOME_SEVERITY: Mapping[Outcome, Severity] = MappingProxyType(
    {
        Outcome.ACCEPTED: "ok",
        Outcome.ACCEPTED_WITH_WARNINGS: "warning",
        Outcome.REJECTED: "error",
        Outcome.UNKNOWN: "info",
    }
)


def cusres_outcome(response: CusresResponse) -> tuple[Severity, str]:
    """The verdict of a CUSRES at a glance: ``(severity, words)``.

    From the outcome code: accepted (``ok``), accepted with errors and/or warnings
    (``warning``), rejected (``error``); a response without one says its status or
    function (``info``).
    """
    if response.outcome is not Outcome.UNKNOWN:
        return _OUTCOME_SEVERITY[response.outcome], response.outcome.value
    if response.status:
        return "info", f"status {response.status}"
    return "info", function_meaning(response.function)


def _parse_dtm(seg: Segment, notes: list[str]) -> datetime | None:
    value, fmt = seg.get(0, 1), seg.get(0, 2) or "204"
    pattern = _DTM_FORMATS.get(fmt)
    if pattern is not None and ascii_number(value, 14) is not None:
        try:
            return datetime.strptime(value, pattern)
        except ValueError:
            pass
    notes.append(f"DTM+310 value {value[:20]!r} (format {fmt[:5]!r}) is not a readable date-time")
    return None


def _outcome(
    document_name: str, errors: Sequence[ResponseError], notes: list[str]
) -> tuple[Outcome, str | None]:
    found = [(OUTCOME_CODES[e.code], e.code) for e in errors if e.code in OUTCOME_CODES]
    if not found:
        # an ERM always reports a message that never reached the application
        return (Outcome.REJECTED if document_name == "ERM" else Outcome.UNKNOWN), None
    if len({o for o, _ in found}) > 1:
        notes.append(f"several outcome codes: {', '.join(c for _, c in found)}")
    return min(found, key=lambda f: _SEVERITY.index(f[0]))


_KNOWN = frozenset(
    {
        ("DTM", "310"),
        ("NAD", "MR"),
        ("CNT", "55"),
        ("FTX", "AHN"),
        ("FTX", "ACX"),
        ("FTX", "ADN"),
        ("FTX", "AAH"),
    }
)


def _parse_body(segments: Sequence[Segment], reference: str) -> CusresResponse:
    bgm = next((s for s in segments if s.tag == "BGM"), None)
    if bgm is None:
        raise ReceivedError(f"CUSRES message {reference!r} has no BGM segment")
    notes: list[str] = []
    unknown: list[Segment] = []
    groups: list[list[Segment]] = []
    refs: dict[str, list[str]] = {}
    first: dict[tuple[str, str], Segment] = {}
    in_group = False
    for seg in segments:
        key = (seg.tag, seg.get(0, 0))
        if key[0] == "ERP":
            groups.append([seg])
            in_group = True
        elif in_group and key[0] in _GROUP_TAGS and (key[0] != "FTX" or key[1] == "AAO"):
            groups[-1].append(seg)
        else:
            in_group = False
            if seg is bgm:
                continue
            if key[0] == "RFF" and key[1]:
                refs.setdefault(key[1], []).append(seg.get(0, 1))
                first.setdefault(key, seg)
            elif key in _KNOWN and key not in first:
                first[key] = seg
            else:
                unknown.append(seg)

    def value(tag: str, qualifier: str, element: int, component: int) -> str | None:
        seg = first.get((tag, qualifier))
        return (seg.get(element, component) or None) if seg is not None else None

    sender = first.get(("RFF", "ABO")) or first.get(("RFF", "AAY"))
    dtm = first.get(("DTM", "310"))
    count = value("CNT", "55", 0, 1)
    if count is not None and ascii_number(count, 9) is None:
        notes.append(f"CNT+55 count {count[:20]!r} is not a number")
        count = None
    status = first.get(("FTX", "AHN"))
    status_parts: tuple[str, ...] = (
        status.elements[3][1:] if status is not None and len(status.elements) > 3 else ()
    )
    status_text = " ".join(c for c in status_parts if c)
    ftx = {
        q: _text(first[("FTX", q)]) or None for q in ("ACX", "ADN", "AAH") if ("FTX", q) in first
    }
    errors = tuple(_read_group(g) for g in groups)
    name = bgm.get(0, 3)
    outcome, outcome_code = _outcome(name, errors, notes)
    return CusresResponse(
        document_name=name,
        document_code=bgm.get(0, 0),
        transaction_id=bgm.get(1, 0),
        version=bgm.get(1, 1),
        function=bgm.get(2, 0),
        outcome=outcome,
        outcome_code=outcome_code,
        original_document=value("RFF", "ACW", 0, 1),
        original_function=value("RFF", "AFM", 0, 1),
        sender_reference=(sender.get(0, 1) or None) if sender else None,
        sender_version=(sender.get(0, 3) or None) if sender else None,
        received=_parse_dtm(dtm, notes) if dtm is not None else None,
        recipient_site=value("NAD", "MR", 1, 0),
        errors=errors,
        count=None if count is None else int(count),
        status=value("FTX", "AHN", 3, 0),
        status_text=status_text or None,
        failed_message_type=ftx.get("ACX"),
        failed_function=ftx.get("ADN"),
        raised_by=ftx.get("AAH"),
        references=MappingProxyType({k: tuple(v) for k, v in refs.items()}),
        unknown_segments=tuple(unknown),
        notes=tuple(notes),
        message_reference=reference,
        segments=tuple(segments),
    )


def parse_cusres_all(
    source: Interchange | bytes | bytearray | memoryview,
) -> tuple[CusresResponse, ...]:
    """Every CUSRES message of an interchange (the CCF may batch several), read in order."""
    return tuple(_parse_body(m.segments, m.reference) for m in messages_of_type(source, "CUSRES"))


def parse_cusres(source: Message | Interchange | bytes | bytearray | memoryview) -> CusresResponse:
    """Read a CUSRES message into a :class:`CusresResponse`.

    ``source`` is a CUSRES :class:`~icsclient.edifact.envelope.Message`, or an
    interchange (or its bytes) holding exactly one CUSRES; use :func:`parse_cusres_all`
    for several.  Raises :class:`~icsclient.errors.ReceivedError` for a message that is
    not a CUSRES or has no BGM; anything else odd is kept in ``unknown_segments`` and
    ``notes``.
    """
    messages = messages_of_type(source, "CUSRES")
    if len(messages) > 1:
        raise ReceivedError(
            f"the interchange holds {len(messages)} CUSRES messages; use parse_cusres_all()"
        )
    return _parse_body(messages[0].segments, messages[0].reference)
