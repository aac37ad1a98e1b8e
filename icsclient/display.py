"""Rich HTML displays for Jupyter, and the short plain-text summaries beside them.

The ``_repr_html_`` methods of :class:`~icsclient.edifact.Segment`,
:class:`~icsclient.edifact.Message`, :class:`~icsclient.edifact.Interchange`,
:class:`~icsclient.ics.ContrlReport`, :class:`~icsclient.ics.CusresResponse`,
:class:`~icsclient.mail.ReceivedEmail` and :class:`~icsclient.lodgement.LodgementSummary`
reach the ``render_*`` functions here without importing this module (layers point down):
they ask the small registry in ``icsclient._html``, which this module fills when it is
imported.  ``import icsclient`` imports it under IPython (a notebook); elsewhere import it,
or ``%load_ext icsclient.display``.  Until then ``_repr_html_`` returns ``None`` and the
plain ``repr`` shows.  A value left as the last expression of a notebook cell shows:

- the envelope as a header block (sender, recipient, ICR, test or production ...);
- the segments as a table: position, tag, the segment's name and its elements and
  components, values as the model holds them (release characters already removed) and
  HTML-escaped;
- errors highlighted on the segment, element and component they point at: an
  interchange's own envelope findings, a CONTRL's UCI/UCM/UCS/UCD errors laid over the
  interchange it reports on (:func:`render_contrl`), a CUSRES's error groups;
- the outcome at a glance: accepted (green), with warnings (amber), rejected (red).

Every ``render_*`` function returns an :class:`HtmlDisplay`: a ``str`` of HTML that
Jupyter also displays as HTML when it is the value of a cell.  Large interchanges are
cut to ``max_segments`` rows, but a segment that carries an error is always shown.
Styles are inline, so the displays survive notebook viewers that strip ``<style>``.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from ._html import Severity, register
from .edifact.envelope import Finding, Interchange, Message, parse_interchange
from .edifact.segment import Segment
from .errors import IcsError
from .ics.catalogue import CATALOGUE, function_meaning
from .ics.contrl import ContrlReport, contrl_outcome, located, parse_contrl
from .ics.cusres import CusresResponse, ResponseError, cusres_outcome, parse_cusres

if TYPE_CHECKING:  # mail imports the S/MIME layer; only their types are needed here
    from .lodgement import LodgementSummary
    from .mail import ReceivedEmail

__all__ = [
    "DEFAULT_MAX_SEGMENTS",
    "SEGMENT_NAMES",
    "HtmlDisplay",
    "Mark",
    "contrl_outcome",
    "cusres_outcome",
    "render_contrl",
    "render_cusres",
    "render_interchange",
    "render_message",
    "render_received_email",
    "render_segment",
    "render_summary",
    "segment_name",
    "short_repr",
]

DEFAULT_MAX_SEGMENTS = 200
"""How many segment rows a display shows before it cuts (marked segments always show)."""

SEGMENT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        # service segments (ISO 9735)
        "UNA": "service string advice",
        "UNB": "interchange header",
        "UNZ": "interchange trailer",
        "UNG": "functional group header",
        "UNE": "functional group trailer",
        "UNH": "message header",
        "UNT": "message trailer",
        "UNS": "section control",
        # CONTRL
        "UCI": "interchange response",
        "UCM": "message/package response",
        "UCF": "functional group response",
        "UCS": "segment error indication",
        "UCD": "data element error indication",
        # D.99B segments used by the ICS messages
        "BGM": "beginning of message",
        "DTM": "date/time/period",
        "RFF": "reference",
        "NAD": "name and address",
        "FTX": "free text",
        "ERP": "error point",
        "ERC": "application error information",
        "CNT": "control total",
        "LOC": "place/location identification",
        "TDT": "details of transport",
        "TOD": "terms of delivery or transport",
        "TPL": "transport placement",
        "EQD": "equipment details",
        "EQA": "attached equipment",
        "SEL": "seal number",
        "GID": "goods item details",
        "GIN": "goods identity number",
        "GIS": "general indicator",
        "GDS": "nature of cargo",
        "PAC": "package",
        "PCI": "package identification",
        "MEA": "measurements",
        "DIM": "dimensions",
        "QTY": "quantity",
        "MOA": "monetary amount",
        "CUX": "currencies",
        "TAX": "duty/tax/fee details",
        "DOC": "document/message details",
        "CTA": "contact information",
        "COM": "communication contact",
        "CNI": "consignment information",
        "CPI": "charge payment instructions",
        "CST": "customs status of goods",
        "HAN": "handling instructions",
        "LIN": "line item",
        "PIA": "additional product id",
        "IMD": "item description",
        "ALI": "additional information",
        "ATT": "attribute",
        "AUT": "authentication result",
        "PCD": "percentage details",
        "TSR": "transport service requirements",
        "SGP": "split goods placement",
        "DGS": "dangerous goods",
        "FII": "financial institution information",
        "PAT": "payment terms basis",
        "RCS": "requirements and conditions",
        "TCC": "transport charge/rate calculations",
        "ICD": "insurance cover description",
        "CPS": "consignment packing sequence",
    }
)
"""The names of common segment tags: service, CONTRL and the D.99B segments the ICS uses."""


def segment_name(tag: str) -> str:
    """The name of a segment tag (``"BGM"`` → ``"beginning of message"``), ``""`` if unknown."""
    return SEGMENT_NAMES.get(tag, "")


class HtmlDisplay(str):
    """HTML text that Jupyter renders: the value every ``render_*`` function returns.

    It is a plain ``str`` (write it to a file, embed it in a page); its ``repr`` stays
    short, and ``_repr_html_`` hands the text to Jupyter.
    """

    __slots__ = ()

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<HtmlDisplay: {len(self):,} characters of HTML>"



# (background, foreground) per severity; text colour is set wherever a background is,
# so the display stays readable under a dark notebook theme
_COLOURS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "error": ("#fde2e1", "#9f1c12"),
        "warning": ("#fef0c7", "#7a2e0e"),
        "ok": ("#dcfae6", "#05603a"),
        "info": ("#e0f2fe", "#0b4a6f"),
        "neutral": ("#eaecf0", "#344054"),
    }
)
_ICONS: Mapping[str, str] = MappingProxyType({"error": "✖", "warning": "⚠", "ok": "✔", "info": "ℹ"})
_SEVERITY_ORDER = ("error", "warning", "info", "ok")

_BOX = "font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;margin:4px 0"
_TABLE = "border-collapse:collapse;margin-top:6px;font-size:12.5px"
_CELL = (  # JupyterLab right-aligns td and nbconvert centres some: every cell says left
    "padding:2px 8px;border-bottom:1px solid rgba(128,128,128,.25);vertical-align:top;"
    "text-align:left"
)
_HEAD = _CELL + ";font-weight:600"
_MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace"
_FAINT = "opacity:.45"


@attrs.frozen
class Mark:
    """A note pinned on a displayed segment, optionally on one element or component.

    ``element`` counts as CONTRL does (the segment tag is 1, the first data element 2)
    and ``component`` from 1; both ``None`` pins the note on the whole segment.
    """

    severity: Severity
    text: str
    element: int | None = None
    component: int | None = None


@attrs.frozen
class _Row:
    """One segment row: ``key`` is what marks are keyed by."""

    key: int
    number: int | None  # in the interchange, UNB = 1
    position: int | None  # in the message, UNH = 1
    segment: Segment
    message: Message | None = None  # set on a UNH row, to head the message


_Marks = Mapping[int, Sequence[Mark]]


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(value: _dt.datetime | None, naive: str = "local time; no zone given") -> str | None:
    """A time that says its zone: an aware one its UTC offset, a naive one what is known."""
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        return _esc(f"{value:%Y-%m-%d %H:%M:%S} ({naive})")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    zone = "UTC" if minutes == 0 else f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return _esc(f"{value:%Y-%m-%d %H:%M:%S} {zone}")


def _plural(n: int, word: str) -> str:
    """``"1 message"``, ``"2 messages"``; thousands separated."""
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _badge(text: str, severity: str) -> str:
    bg, fg = _COLOURS.get(severity, _COLOURS["neutral"])
    return (
        f'<span style="background:{bg};color:{fg};border-radius:9px;padding:1px 8px;'
        f'font-weight:600;font-size:12px;white-space:nowrap">{_esc(text)}</span>'
    )


def _worst(marks: Iterable[Mark]) -> str | None:
    found = {m.severity for m in marks}
    return next((s for s in _SEVERITY_ORDER if s in found), None)


def _fields(pairs: Iterable[tuple[str, str | None]]) -> str:
    """A two-column table of label → HTML value; pairs whose value is None are left out."""
    rows = "".join(
        f'<tr><th style="{_HEAD};font-weight:500;opacity:.75;border:0">{_esc(k)}</th>'
        f'<td style="{_CELL};border:0">{v}</td></tr>'
        for k, v in pairs
        if v is not None
    )
    return f'<table style="{_TABLE};margin-top:2px">{rows}</table>'


def _header(title: str, badges: Iterable[str], pairs: Iterable[tuple[str, str | None]]) -> str:
    badge_html = " ".join(badges)
    return f'<div style="font-size:14px;font-weight:600">{title} {badge_html}</div>' + _fields(
        pairs
    )


def _notes(marks: Iterable[Mark]) -> str:
    """Marks as a list of coloured lines (for what cannot be pinned on a segment)."""
    items = []
    for m in marks:
        bg, fg = _COLOURS[m.severity]
        items.append(
            f'<div style="background:{bg};color:{fg};padding:2px 8px;margin:2px 0;'
            f'border-radius:4px">{_ICONS[m.severity]} {_esc(m.text)}</div>'
        )
    return "".join(items)


def _mono(text: str) -> str:
    return f'<span style="{_MONO}">{_esc(text)}</span>'


# --------------------------------------------------------------------------- segments


def _highlight(inner: str, severity: str, title: str) -> str:
    bg, fg = _COLOURS[severity]
    return (
        f'<span style="background:{bg};color:{fg};outline:1.5px solid {fg};border-radius:2px;'
        f'padding:0 1px" title="{_esc(title)}">{inner}</span>'
    )


def _elements_html(segment: Segment, marks: Sequence[Mark]) -> str:
    """The data elements, ``+`` and ``:`` between them shown faint; marked ones highlighted."""
    on_element: dict[int, list[Mark]] = {}
    on_component: dict[tuple[int, int], list[Mark]] = {}
    for m in marks:
        if m.element is None:
            continue
        if m.component is None:
            on_element.setdefault(m.element, []).append(m)
        else:
            on_component.setdefault((m.element, m.component), []).append(m)
    # a line may break after a separator (<wbr>), never inside a value that fits a line
    plus = f'<span style="{_FAINT}">+</span><wbr>'
    colon = f'<span style="{_FAINT}">:</span><wbr>'
    last = max([len(segment.elements) + 1, *on_element, *(e for e, _ in on_component)])
    parts: list[str] = []
    for i in range(2, last + 1):
        element = segment.elements[i - 2] if i - 2 < len(segment.elements) else ()
        width = max([len(element), *(c for e, c in on_component if e == i)])
        comps: list[str] = []
        for j in range(1, width + 1):
            text = _esc(element[j - 1]) if j <= len(element) else ""
            found = on_component.get((i, j))
            if found:
                where = f"{segment.tag} element {i}, component {j}"
                text = _highlight(text or "&#8709;", _worst(found) or "error", where)
            comps.append(text)
        inner = colon.join(comps)
        title = f"{segment.tag} element {i}"
        if i in on_element:
            inner = _highlight(inner or "&#8709;", _worst(on_element[i]) or "error", title)
        parts.append(f'<span title="{title}">{inner}</span>')
    return plus.join(parts)


def _row_html(row: _Row, marks: Sequence[Mark], columns: tuple[bool, bool]) -> str:
    severity = _worst(marks)
    style = edge = ""
    if severity is not None:
        bg, fg = _COLOURS[severity]
        edge = f";box-shadow:inset 3px 0 0 {fg}"  # a coloured left edge on the first cell
        if severity in ("error", "warning"):
            style = f' style="background:{bg};color:{fg}"'
    numbered, positioned = columns
    cells = []
    if numbered:
        cells.append(f'<td style="{_CELL};{_FAINT}">{row.number or ""}</td>')
    if positioned:
        cells.append(f'<td style="{_CELL}">{row.position or ""}</td>')
    if cells:
        cells[0] = cells[0].replace('">', f'{edge}">', 1)
    tag = row.segment.tag
    cells.append(f'<td style="{_CELL};{_MONO};font-weight:700">{_esc(tag)}</td>')
    cells.append(f'<td style="{_CELL};opacity:.8">{_esc(segment_name(tag))}</td>')
    cells.append(
        f'<td style="{_CELL};{_MONO};overflow-wrap:break-word">'
        f"{_elements_html(row.segment, marks)}</td>"
    )
    notes = "<br>".join(f"{_ICONS[m.severity]} {_esc(m.text)}" for m in marks if m.text)
    cells.append(f'<td style="{_CELL}">{notes}</td>')
    return f"<tr{style}>{''.join(cells)}</tr>"


def _message_heading(message: Message, span: int) -> str:
    ident = ":".join(p for p in (message.type, message.version, message.release, message.agency))
    badge = _response_badge(message)
    return (
        f'<tr><td colspan="{span}" style="{_CELL};padding-top:8px;font-weight:600">'
        f"Message {_esc(message.reference or '?')} · {_mono(ident)} {badge}</td></tr>"
    )


def _table(
    rows: Iterable[_Row],
    marks: _Marks,
    *,
    max_segments: int,
    numbered: bool = True,
    positioned: bool = True,
    total: int | None = None,
) -> str:
    """The segment table; after ``max_segments`` rows only marked rows are shown.

    Row keys rise with the rows; with ``total`` (the number of rows) the walk stops after
    the last marked row and counts the rest, so a huge interchange renders quickly.
    """
    columns = (numbered, positioned)
    heads = [*(["#"] if numbered else []), *(["pos"] if positioned else [])]
    heads += ["tag", "segment", "elements", "notes"]
    span = len(heads)
    out = ["<tr>" + "".join(f'<th style="{_HEAD}">{h}</th>' for h in heads) + "</tr>"]
    shown = skipped = seen = 0
    last_mark = max(marks, default=0)

    def gap() -> str:
        return (
            f'<tr><td colspan="{span}" style="{_CELL};text-align:center;{_FAINT}">'
            f"… {_plural(skipped, 'segment')} not shown …</td></tr>"
        )

    for row in rows:
        seen += 1
        row_marks = marks.get(row.key, ())
        if shown >= max_segments and not row_marks:
            if total is not None and row.key > last_mark:
                skipped += total - seen + 1  # nothing marked from here on
                break
            skipped += 1
            continue
        if skipped:
            out.append(gap())
            skipped = 0
        if row.message is not None:
            out.append(_message_heading(row.message, span))
        out.append(_row_html(row, row_marks, columns))
        shown += 1
    if skipped:
        out.append(gap())
    return f'<table style="{_TABLE}">{"".join(out)}</table>'


def _size(message: Message) -> int:
    """The segments of a message, UNH and UNT (when present) included."""
    return len(message.segments) + (2 if message.trailer is not None else 1)


def _interchange_rows(interchange: Interchange) -> Iterator[_Row]:
    number = 1
    yield _Row(1, 1, None, interchange.header)
    for message in interchange.messages:
        for position, seg in enumerate(message.all_segments(), start=1):
            number += 1
            yield _Row(number, number, position, seg, message if position == 1 else None)
    if interchange.trailer is not None:
        number += 1
        yield _Row(number, number, None, interchange.trailer)


def _message_rows(message: Message, first: int = 1) -> Iterator[_Row]:
    for position, seg in enumerate(message.all_segments(), start=first):
        yield _Row(position, None, position, seg)


def _wrap(*parts: str) -> HtmlDisplay:
    return HtmlDisplay(f'<div style="{_BOX}">{"".join(parts)}</div>')


def render_segment(segment: Segment) -> HtmlDisplay:
    """One segment: its tag, name and elements, each element titled with its position."""
    row = _Row(0, None, None, segment)
    return _wrap(_table([row], {}, max_segments=1, numbered=False, positioned=False))


# --------------------------------------------------------------------------- locating


class _Locator:
    """Finds the row key (segment number in the interchange) of what a report points at."""

    def __init__(self, interchange: Interchange) -> None:
        self.interchange = interchange
        self.starts: dict[str, tuple[int, Message]] = {}
        number = 1
        for message in interchange.messages:
            self.starts.setdefault(message.reference, (number + 1, message))
            number += _size(message)
        self.last = number + (1 if interchange.trailer is not None else 0)

    def envelope(self, tag: str | None) -> int | None:
        """UNB or UNZ (a UCI error's segment)."""
        if tag in (None, "", "UNB"):
            return 1
        if tag == "UNZ" and self.interchange.trailer is not None:
            return self.last
        return None

    def in_message(self, reference: str, position: int) -> int | None:
        found = self.starts.get(reference)
        if found is None:
            return None
        start, message = found
        size = _size(message)
        return start + position - 1 if 1 <= position <= size else None

    def message_segment(self, reference: str, tag: str | None) -> int | None:
        """The UNH, the UNT or the first segment with ``tag`` of message ``reference``."""
        found = self.starts.get(reference)
        if found is None:
            return None
        start, message = found
        for position, seg in enumerate(message.all_segments(), start=1):
            if tag in (None, "") or seg.tag == tag:
                return start + position - 1
        return None


def _add(marks: dict[int, list[Mark]], unplaced: list[Mark], key: int | None, mark: Mark) -> None:
    if key is None:
        unplaced.append(mark)
    else:
        marks.setdefault(key, []).append(mark)


def _finding_marks(interchange: Interchange) -> tuple[dict[int, list[Mark]], list[Mark]]:
    """An interchange's own envelope findings, pinned where they point."""
    locate = _Locator(interchange)
    marks: dict[int, list[Mark]] = {}
    unplaced: list[Mark] = []
    for f in interchange.issues:
        mark = Mark("error", _finding_text(f), f.element, f.component)
        key = f.segment_number
        if key is None and f.message_reference is not None and f.message_position is not None:
            key = locate.in_message(f.message_reference, f.message_position)
        _add(marks, unplaced, key, mark)
    return marks, unplaced


def _finding_text(f: Finding) -> str:
    text = f"{f.code} {f.meaning}"
    return f"{text}: {f.detail}" if f.detail else text


# --------------------------------------------------------------------------- interchange


def _response_badge(message: Message) -> str:
    """The outcome badge of a CONTRL or CUSRES message; ``""`` for other messages."""
    try:
        if message.type == "CONTRL":
            severity, words = contrl_outcome(parse_contrl(message))
        elif message.type == "CUSRES":
            severity, words = cusres_outcome(parse_cusres(message))
        else:
            return ""
    except IcsError:
        return _badge("unreadable", "warning")
    return _badge(words, severity)


def _envelope_pairs(interchange: Interchange) -> list[tuple[str, str | None]]:
    ic = interchange
    sender = _mono(ic.sender) + (
        f" (owner {_mono(ic.owner)})" if ic.owner and ic.owner != ic.sender else ""
    )
    types: dict[str, int] = {}
    for m in ic.messages:
        types[m.type] = types.get(m.type, 0) + 1
    kinds = ", ".join(f"{n} {_esc(t or '?')}" for t, n in types.items()) or "none"
    chars = ic.service_chars
    return [
        ("sender", sender),
        ("recipient", _mono(ic.recipient)),
        ("control reference (ICR)", _mono(ic.control_reference)),
        ("prepared", _when(ic.prepared, "the sender's local time; the UNB gives no zone") or "?"),
        ("syntax", _mono(f"{ic.syntax_id}:{ic.syntax_version}")),
        ("acknowledgement requested", "yes" if ic.ack_requested else "no"),
        ("messages", kinds),
        ("service characters", _mono(chars.una) if chars.una != "UNA:+.? '" else None),
    ]


def _environment_badge(test: bool) -> str:
    return _badge("Industry Test", "info") if test else _badge("Production", "neutral")


def render_interchange(
    interchange: Interchange,
    *,
    marks: _Marks | None = None,
    notes: Sequence[Mark] = (),
    title: str | None = None,
    envelope: bool = True,
    max_segments: int = DEFAULT_MAX_SEGMENTS,
) -> HtmlDisplay:
    """An interchange: the envelope as a header block, then every segment in a table.

    Without ``marks`` the interchange's own envelope findings (``interchange.issues``)
    are highlighted where they point; ``marks`` (keyed by segment number, UNB = 1) and
    ``notes`` replace them, as :func:`render_contrl` does.  CONTRL and CUSRES messages
    carry their outcome badge in the message heading.  ``envelope=False`` leaves out the
    envelope fields (the UNB row still shows them).  After ``max_segments`` rows only
    marked segments are shown.
    """
    if marks is None:
        marks, unplaced = _finding_marks(interchange)
        notes = [*notes, *unplaced]
        count = len(interchange.issues)
        state = (
            _badge(_plural(count, "envelope finding"), "error")
            if count
            else _badge("envelope OK", "ok")
        )
    else:
        state = ""
    head = _header(
        title or f"Interchange {_esc(interchange.control_reference or '?')}",
        [_environment_badge(interchange.test), state],
        _envelope_pairs(interchange) if envelope else (),
    )
    total = 1 + sum(_size(m) for m in interchange.messages) + (interchange.trailer is not None)
    rows = _interchange_rows(interchange)
    table = _table(rows, marks, max_segments=max_segments, total=total)
    return _wrap(head, _notes(notes), table)


def render_message(message: Message, *, max_segments: int = DEFAULT_MAX_SEGMENTS) -> HtmlDisplay:
    """One message: its identifier and segment count, then its segments (UNH = position 1).

    A UNT whose count or reference disagrees with the message is highlighted.
    """
    marks: dict[int, list[Mark]] = {}
    size = len(message.segments) + 2
    if message.trailer is None:
        marks.setdefault(1, []).append(Mark("error", "13 missing: the message has no UNT"))
    else:
        if message.trailer.get(0) != str(size):
            text = f"29 control count does not match: the message has {size} segments"
            marks.setdefault(size, []).append(Mark("error", text, 2))
        if message.trailer.get(1) != message.reference:
            text = "28 references do not match: UNH says " + repr(message.reference)
            marks.setdefault(size, []).append(Mark("error", text, 3))
    ident = ":".join((message.type, message.version, message.release, message.agency))
    head = _header(
        f"Message {_esc(message.reference or '?')}",
        [_response_badge(message)],
        [
            ("identifier", _mono(ident)),
            ("segments", f"{size if message.trailer is not None else size - 1} (UNH to UNT)"),
        ],
    )
    rows = _message_rows(message)
    table = _table(rows, marks, max_segments=max_segments, numbered=False, total=_size(message))
    return _wrap(head, table)


# --------------------------------------------------------------------------- CONTRL


def _contrl_marks(
    report: ContrlReport, locate: _Locator
) -> tuple[dict[int, list[Mark]], list[Mark]]:
    """A CONTRL's errors pinned on the interchange it reports on (keyed by segment number)."""
    marks: dict[int, list[Mark]] = {}
    unplaced: list[Mark] = []

    def put(key: int | None, mark: Mark) -> None:
        _add(marks, unplaced, key, mark)

    if report.error is not None:
        text = f"interchange {report.action.word}: {report.error.describe()}"
        key = locate.envelope(report.segment_tag)
        put(key, Mark("error", text, report.element, report.component))
    elif report.rejected:
        put(1, Mark("error", f"interchange rejected ({report.action.describe()})"))
    for m in report.messages:
        ref = m.reference
        word = m.action.word
        if m.error is not None:
            key = locate.message_segment(ref, m.segment_tag)
            text = f"message {ref} {word}: {m.error.describe()}"
            put(key, Mark("error", text, m.element, m.component))
        else:
            severity: Severity = "error" if m.rejected else "warning" if m.has_errors else "ok"
            put(locate.message_segment(ref, "UNH"), Mark(severity, f"message {ref} {word}"))
        for s in m.segment_errors:
            key = locate.in_message(ref, s.position)
            where = f"message {ref}, segment {s.position}"
            if s.error is not None:
                put(key, Mark("error", f"{where}: {s.error.describe()}"))
            for e in s.element_errors:
                put(key, Mark("error", f"{where}, {e}", e.element, e.component))
            if s.error is None and not s.element_errors:
                put(key, Mark("error", f"{where}: in error"))
    return marks, unplaced


def _contrl_table(report: ContrlReport) -> str:
    heads = ["level", "message", "action", "errors"]
    rows = ["<tr>" + "".join(f'<th style="{_HEAD}">{h}</th>' for h in heads) + "</tr>"]

    def row(level: str, message: str, severity: str, action: str, errors: list[str]) -> None:
        rows.append(
            f'<tr><td style="{_CELL}">{level}</td><td style="{_CELL}">{message}</td>'
            f'<td style="{_CELL}">{_badge(action, severity)}</td>'
            f'<td style="{_CELL}">{"<br>".join(_esc(e) for e in errors)}</td></tr>'
        )

    top = report.error
    row(
        "interchange (UCI)",
        _mono(report.control_reference),
        "error" if report.rejected else "ok",
        report.action.word,
        []
        if top is None
        else [located(top, report.segment_tag, report.element, report.component)],
    )
    for m in report.messages:
        details = (
            [] if m.error is None else [located(m.error, m.segment_tag, m.element, m.component)]
        )
        details.extend(d for s in m.segment_errors for d in s.describe())
        severity = "error" if m.rejected else "warning" if m.has_errors else "ok"
        label = f"{_mono(m.reference or '?')} {_esc(m.type)}"
        row("message (UCM)", label, severity, m.action.word, details)
    return f'<table style="{_TABLE}">{"".join(rows)}</table>'


def render_contrl(
    report: ContrlReport,
    interchange: Interchange | None = None,
    *,
    max_segments: int = DEFAULT_MAX_SEGMENTS,
) -> HtmlDisplay:
    """A CONTRL report: the verdict, a table per level, and the errors on the interchange.

    Pass the ``interchange`` the CONTRL reports on (the one you sent) to see its segments
    with every UCI/UCM/UCS/UCD error highlighted on the segment, element and component it
    points at.  A CONTRL about a different ICR is still laid over it, with a warning.
    """
    severity, words = contrl_outcome(report, interchange)
    head = _header(
        f"CONTRL on interchange {_esc(report.control_reference)}",
        [_badge(words, severity)],
        [
            ("interchange sender", _mono(report.sender)),
            ("interchange recipient", _mono(report.recipient)),
            ("interchange action", _esc(report.action.describe())),
            ("CONTRL message", _mono(report.reference) if report.reference else None),
        ],
    )
    parts = [head, _contrl_table(report)]
    if interchange is not None:
        locate = _Locator(interchange)
        marks, unplaced = _contrl_marks(report, locate)
        if interchange.control_reference.lstrip("0") != report.control_reference.lstrip("0"):
            unplaced.insert(
                0,
                Mark(
                    "warning",
                    f"this CONTRL reports on ICR {report.control_reference}, the interchange "
                    f"shown is ICR {interchange.control_reference}",
                ),
            )
        parts.append(
            render_interchange(
                interchange,
                marks=marks,
                notes=unplaced,
                title=f"Your interchange {_esc(interchange.control_reference)}",
                envelope=False,
                max_segments=max_segments,
            )
        )
    return _wrap(*parts)


# --------------------------------------------------------------------------- CUSRES

_CLASS_SEVERITY: Mapping[str, Severity] = MappingProxyType(
    {"ERROR": "error", "CCFERROR": "error", "WARNING": "warning", "ADVICE": "info"}
)


def _error_severity(error: ResponseError, response: CusresResponse) -> Severity:
    if error.code and error.code == response.outcome_code:
        return cusres_outcome(response)[0]
    return _CLASS_SEVERITY.get(error.error_class.upper(), "error")


def _cusres_marks(response: CusresResponse) -> dict[int, list[Mark]]:
    """Each ERP group's segments marked, keyed by position in the message (UNH = 1)."""
    group_of = {id(seg): error for error in response.errors for seg in error.segments}
    marks: dict[int, list[Mark]] = {}
    for position, seg in enumerate(response.segments, start=2):
        error = group_of.get(id(seg))
        if error is None:
            continue
        severity = _error_severity(error, response)
        if seg.tag == "ERP":
            marks[position] = [Mark(severity, str(error))]
        elif seg.tag == "ERC":
            marks[position] = [Mark(severity, "", 2, 1)]
        elif seg.tag == "FTX":
            marks[position] = [Mark(severity, "", 5)]
        else:
            marks[position] = [Mark(severity, "")]
    return marks


def _errors_table(response: CusresResponse) -> str:
    if not response.errors:
        return ""
    heads = ["#", "class", "code", "text", "references"]
    rows = ["<tr>" + "".join(f'<th style="{_HEAD}">{h}</th>' for h in heads) + "</tr>"]
    for n, e in enumerate(response.errors, start=1):
        severity = _error_severity(e, response)
        refs = ", ".join(f"{q}: {v}" for q, v in e.references)
        rows.append(
            f'<tr><td style="{_CELL}">{n}</td>'
            f'<td style="{_CELL}">{_badge(e.error_class or "?", severity)}</td>'
            f'<td style="{_CELL};{_MONO}">{_esc(e.code)}</td>'
            f'<td style="{_CELL}">{_esc(e.text)}</td>'
            f'<td style="{_CELL}">{_esc(refs)}</td></tr>'
        )
    return f'<table style="{_TABLE}">{"".join(rows)}</table>'


def render_cusres(
    response: CusresResponse, *, max_segments: int = DEFAULT_MAX_SEGMENTS
) -> HtmlDisplay:
    """A CUSRES response: outcome, what it answers, its errors and advices, its segments.

    The error groups (ERP/ERC/FTX) are highlighted in the segment table in the colour
    of their class: errors red, warnings amber, advices blue, the outcome advice in the
    outcome's colour.
    """
    r = response
    severity, words = cusres_outcome(r)
    doc = CATALOGUE.get(r.document_name)
    answers = r.original_document or r.failed_message_type
    if answers and r.original_function:
        answers = f"{answers} ({function_meaning(r.original_function)})"
    sender_ref = r.sender_reference
    if sender_ref and r.sender_version:
        sender_ref = f"{sender_ref} version {r.sender_version}"
    refs = ", ".join(
        f"{q}: {' / '.join(v)}"
        for q, v in r.references.items()
        if q not in ("ACW", "AFM", "ABO", "AAY")
    )
    count = None
    if r.count is not None:
        count = _esc(r.count) + (
            " " + _badge(f"{len(r.errors)} groups found", "warning") if r.count_mismatch else ""
        )
    status = None
    if r.status:
        status = _mono(r.status) + (f" {_esc(r.status_text)}" if r.status_text else "")
    head = _header(
        f"{_esc(r.document_name or 'CUSRES')}"
        + (
            f' <span style="font-weight:400;opacity:.75">{_esc(doc.description)}</span>'
            if doc is not None
            else ""
        ),
        [_badge(words, severity)] + ([_badge(r.outcome_code, severity)] if r.outcome_code else []),
        [
            (
                "transaction",
                _mono(f"{r.transaction_id}:{r.version}" if r.version else r.transaction_id),
            ),
            ("function", _esc(f"{r.function} ({function_meaning(r.function)})")),
            ("answers", _esc(answers) if answers else None),
            ("sender reference", _mono(sender_ref) if sender_ref else None),
            ("received by the ICS", _when(r.received, "the ICS's local time; no zone given")),
            ("to site", _mono(r.recipient_site) if r.recipient_site else None),
            ("status", status),
            ("raised by", _esc(r.raised_by) if r.raised_by else None),
            ("failed function", _esc(r.failed_function) if r.failed_function else None),
            ("other references", _esc(refs) if refs else None),
            ("error count (CNT+55)", count),
        ],
    )
    notes = [Mark("warning", n) for n in r.notes]
    rows = (_Row(position, None, position, seg) for position, seg in enumerate(r.segments, start=2))
    marks = _cusres_marks(r)
    table = _table(rows, marks, max_segments=max_segments, numbered=False, total=len(r.segments))
    return _wrap(head, _notes(notes), _errors_table(r), table)


# --------------------------------------------------------------------------- e-mail


def render_summary(summary: LodgementSummary) -> HtmlDisplay:
    """A :class:`~icsclient.lodgement.LodgementSummary` as a table, settled or pending."""
    badge = (
        _badge("every interchange settled", "ok")
        if summary.settled
        else _badge(f"{summary.pending:,} pending", "warning")
    )
    rows = "".join(
        f'<tr><td style="{_CELL}">{_esc(label)}</td><td style="{_CELL};{_MONO}">{value:,}</td></tr>'
        for label, value in summary.rows()
    )
    title = f"Lodgements of site {_mono(summary.site)} {badge}"
    heading = f'<div style="font-size:14px;font-weight:600">{title}</div>'
    return _wrap(heading, f'<table style="{_TABLE}">{rows}</table>')


def _certificate(cert: object) -> str | None:
    from cryptography import x509

    if not isinstance(cert, x509.Certificate):
        return None
    subject = cert.subject.rfc4514_string()
    issuer = cert.issuer.rfc4514_string()
    valid = f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"
    return (
        f'{_esc(subject)}<br><span style="opacity:.7">issued by {_esc(issuer)}, '
        f"serial {cert.serial_number:x}, valid {valid}</span>"
    )


def render_received_email(
    received: ReceivedEmail, *, max_segments: int = DEFAULT_MAX_SEGMENTS
) -> HtmlDisplay:
    """A received CCF e-mail: who signed it and how, then the interchange it carried.

    The badge says at a glance what :func:`~icsclient.mail.open_email` verified
    (decrypted and signature verified, or which layer was absent).
    """
    r = received
    if r.encrypted and r.signer is not None:
        check = _badge("decrypted, signature verified", "ok")
    else:
        missing = [
            w
            for w, ok in (("not encrypted", r.encrypted), ("not signed", r.signer is not None))
            if not ok
        ]
        check = _badge(", ".join(missing), "warning")
    algorithms = ", ".join(
        f"{k} {v}" for k, v in attrs.asdict(r.algorithms).items() if v is not None
    )
    head = _header(
        f"E-mail {_mono(r.subject.text)}",
        [check] + ([_badge("plain text", "info")] if r.plain_text else []),
        [
            ("from", _esc(r.mail_from) if r.mail_from else None),
            ("date", _when(r.date)),
            ("message id", _mono(r.message_id) if r.message_id else None),
            ("attachment", _mono(r.filename) if r.filename else None),
            ("signed by", _certificate(r.signer)),
            ("signed at", _when(r.signing_time)),
            ("algorithms", _esc(algorithms) if algorithms else None),
            ("encrypted to", _certificate(r.recipient)),
        ],
    )
    if r.interchange is None:
        body = f'<pre style="{_MONO};white-space:pre-wrap">{_esc(r.text or "")}</pre>'
    else:
        try:
            body = render_interchange(
                parse_interchange(r.interchange, strict=False), max_segments=max_segments
            )
        except IcsError as exc:
            body = _notes([Mark("error", f"the attachment cannot be read: {exc}")])
    return _wrap(head, body)


# --------------------------------------------------------------------------- text


def short_repr(value: Interchange | Message | ContrlReport | CusresResponse) -> str:
    """A one-line ``repr`` for the values whose full field list would be long (their own)."""
    return repr(value)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext icsclient.display``: the displays are registered by importing this module.

    ``import icsclient`` does it already when IPython is running; this is for a session
    that imported a subpackage before IPython was loaded.
    """


# the values' ``_repr_html_`` ask icsclient._html, which these fill (layers point down)
register(Segment, render_segment)
register(Message, render_message)
register(Interchange, render_interchange)
register(ContrlReport, render_contrl)
register(CusresResponse, render_cusres)
register("icsclient.mail.ReceivedEmail", render_received_email)
register("icsclient.lodgement.LodgementSummary", render_summary)
