"""Test helpers for vendors and for icsclient's own tests.

- :mod:`icsclient.testing.pki`: a throw-away PKI (CA, client and gateway credentials, an
  expired and an untrusted variant) in well under a second;
- :mod:`icsclient.testing.ccf`: :class:`SimulatedCCF`, a gateway that behaves as the CCF
  does, in-process or as a real SMTP server on loopback (:class:`SmtpCCF`);
- :mod:`icsclient.testing.pytest_plugin`: the ``ics_pki``, ``ccf`` and ``ccf_smtp``
  fixtures, registered through the ``pytest11`` entry point.

The names are re-exported lazily (PEP 562): the plugin, loaded into every pytest session,
loads nothing of the library until a fixture is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Advice": ".ccf",
    "DropReason": ".ccf",
    "Dropped": ".ccf",
    "LogEntry": ".ccf",
    "ManualClock": ".ccf",
    "Request": ".ccf",
    "Sent": ".ccf",
    "SimulatedCCF": ".ccf",
    "SmtpCCF": ".ccf",
    "SmtpInbox": ".ccf",
    "ThrowawayPKI": ".pki",
    "Verdict": ".ccf",
    "make_test_pki": ".pki",
    "serve_smtp": ".ccf",
}

__all__ = [
    "Advice",
    "DropReason",
    "Dropped",
    "LogEntry",
    "ManualClock",
    "Request",
    "Sent",
    "SimulatedCCF",
    "SmtpCCF",
    "SmtpInbox",
    "ThrowawayPKI",
    "Verdict",
    "make_test_pki",
    "serve_smtp",
]

if TYPE_CHECKING:
    from .ccf import (
        Advice,
        Dropped,
        DropReason,
        LogEntry,
        ManualClock,
        Request,
        Sent,
        SimulatedCCF,
        SmtpCCF,
        SmtpInbox,
        Verdict,
        serve_smtp,
    )
    from .pki import (
        ThrowawayPKI,
        make_test_pki,
    )


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
