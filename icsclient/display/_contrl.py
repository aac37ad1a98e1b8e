"""A CONTRL report, laid over the interchange it reports on when one is given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._html import Severity
from ..edifact.envelope import Interchange
from ..ics.contrl import ContrlReport, contrl_outcome, located

if TYPE_CHECKING:  # mail imports the S/MIME layer; only their types are needed here
    pass
from ._primitives import (
    _CELL,
    _HEAD,
    _TABLE,
    DEFAULT_MAX_SEGMENTS,
    HtmlDisplay,
    Mark,
    _badge,
    _esc,
    _header,
    _mono,
    _wrap,
)
from ._segments import _add, _Locator, render_interchange

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
        [] if top is None else [located(top, report.segment_tag, report.element, report.component)],
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
