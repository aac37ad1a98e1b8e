"""A CUSRES response, its error groups marked on its segments."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._html import Severity
from ..ics.catalogue import CATALOGUE, function_meaning
from ..ics.cusres import CusresResponse, ResponseError, cusres_outcome

if TYPE_CHECKING:  # mail imports the S/MIME layer; only their types are needed here
    pass
from ._primitives import (
    _CELL,
    _HEAD,
    _MONO,
    _TABLE,
    DEFAULT_MAX_SEGMENTS,
    HtmlDisplay,
    Mark,
    _badge,
    _esc,
    _header,
    _mono,
    _notes,
    _Row,
    _when,
    _wrap,
)
from ._segments import _table

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
