"""A received CCF e-mail and a lodgement summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ..edifact.envelope import parse_interchange
from ..errors import IcsError

if TYPE_CHECKING:  # mail imports the S/MIME layer; only their types are needed here
    from ..lodgement import LodgementSummary
    from ..mail import ReceivedEmail
from ._primitives import (
    _CELL,
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
    _when,
    _wrap,
)
from ._segments import render_interchange

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
