"""ICS2 displays: an ENS filing with its checks marked, and a customs reply.

The ICS2 values need the ``ics2`` extra (lxml); they are registered here by name, so that
importing :mod:`icsclient.display` never needs lxml, and :mod:`icsclient.ics2` is imported
only when a filing or reply is shown (it is then already loaded).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._primitives import (
    _CELL,
    _HEAD,
    _MONO,
    _TABLE,
    HtmlDisplay,
    _badge,
    _esc,
    _header,
    _mono,
    _plural,
    _when,
    _wrap,
)

if TYPE_CHECKING:
    from ..ics2.model import Filing
    from ..ics2.replies import Reply


def _rows(heads: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    out = ["<tr>" + "".join(f'<th style="{_HEAD}">{h}</th>' for h in heads) + "</tr>"]
    out.extend("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in r) + "</tr>" for r in rows)
    return f'<table style="{_TABLE}">{"".join(out)}</table>'


def _meaning(message_id: str) -> str:
    from ..ics2.catalogue import CATALOGUE

    entry = CATALOGUE.get(message_id)
    return entry.meaning if entry is not None else "not in the catalogue"


def render_filing(filing: Filing) -> HtmlDisplay:
    """An ENS filing: what it is, its references, and every check finding with its pointer."""
    from ..ics2.check import check_filing
    from ..ics2.findings import Severity

    findings = check_filing(filing)
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    if errors:
        badge = _badge(_plural(errors, "error"), "error")
    elif warnings:
        badge = _badge(_plural(warnings, "warning"), "warning")
    else:
        badge = _badge("checks pass", "ok")
    houses = len(filing.master.houses) if filing.master else 0
    head = _header(
        f"{_mono(filing.message_id)} {_esc(_meaning(filing.message_id))}",
        [badge],
        [
            ("LRN", _mono(filing.lrn) if filing.lrn else None),
            ("MRN", _mono(filing.mrn) if filing.mrn else None),
            ("issued", _when(filing.issued)),
            ("addressed to", _esc(filing.addressed_member_state or "") or None),
            ("house consignments", str(houses)),
        ],
    )
    table = _rows(
        ("severity", "where", "rule", "finding"),
        (
            (
                _badge(f.severity.value, f.severity.value),
                f'<span style="{_MONO};overflow-wrap:break-word">{_esc(f.pointer)}</span>',
                _esc(f.rule),
                _esc(f.message),
            )
            for f in findings
        ),
    )
    return _wrap(head, table if findings else "")


def render_reply(reply: Reply) -> HtmlDisplay:
    """A customs reply: what it says, what it answers, its errors and requests."""
    if reply.errors:
        badge = _badge(_plural(len(reply.errors), "error"), "error")
    elif reply.requests:
        badge = _badge(_plural(len(reply.requests), "request"), "warning")
    else:
        badge = _badge(reply.message_id, "info")
    head = _header(
        f"{_mono(reply.message_id)} {_esc(_meaning(reply.message_id))}",
        [badge],
        [
            ("LRN", _mono(reply.lrn) if reply.lrn else None),
            ("MRN", _mono(reply.mrn) if reply.mrn else None),
            ("functional reference", _mono(reply.functional_reference or "") or None),
            ("registered", _when(reply.registration_date)),
            ("notified", _when(reply.notification_date)),
            ("issued", _when(reply.issue_date)),
            ("completed", _when(reply.completion_date)),
        ],
    )
    parts = [head]
    if reply.errors:
        parts.append(
            _rows(
                ("code", "description", "pointer"),
                (
                    (
                        _mono(e.code or "?"),
                        _esc(e.description or e.technical or ""),
                        f'<span style="{_MONO}">{_esc(e.pointer or "")}</span>',
                    )
                    for e in reply.errors
                ),
            )
        )
    if reply.requests:
        parts.append(
            _rows(
                ("request", "type", "pointer"),
                (
                    (_mono(r.reference or "?"), _esc(r.request_type or ""), _esc(r.pointer or ""))
                    for r in reply.requests
                ),
            )
        )
    return _wrap(*parts)
