"""Segments, messages and interchanges as tables, with their findings marked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from ..edifact.codes import segment_name
from ..edifact.envelope import Finding, Interchange, Message
from ..edifact.segment import Segment
from ..errors import IcsError
from ..ics.contrl import contrl_outcome, parse_contrl
from ..ics.cusres import cusres_outcome, parse_cusres

if TYPE_CHECKING:  # mail imports the S/MIME layer; only their types are needed here
    pass
from ._primitives import (
    _CELL,
    _COLOURS,
    _FAINT,
    _HEAD,
    _ICONS,
    _MONO,
    _TABLE,
    DEFAULT_MAX_SEGMENTS,
    HtmlDisplay,
    Mark,
    _badge,
    _esc,
    _header,
    _Marks,
    _mono,
    _notes,
    _plural,
    _Row,
    _when,
    _worst,
    _wrap,
)

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
