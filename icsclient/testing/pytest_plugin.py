"""pytest fixtures for testing software that talks to the CCF through ``icsclient``.

Registered through the ``pytest11`` entry point ``icsclient``, so installing ``icsclient``
makes the fixtures available in every test suite (or load it explicitly with
``-p icsclient.testing.pytest_plugin``):

``ics_pki``
    a throw-away PKI (root CA, issuing CA, client and gateway credentials), one per session.
``ccf``
    an in-process :class:`~icsclient.testing.SimulatedCCF` wired to ``ics_pki``, on a
    :class:`~icsclient.testing.ccf.ManualClock` you move with ``ccf.clock.advance(...)``.
``ccf_smtp``
    the same gateway served on loopback SMTP, replying by SMTP into a loopback inbox that
    delivers into a Maildir.

Both gateways take their options from a ``ccf`` marker on the test (or its class or
module): ``@pytest.mark.ccf(batch_size=3, plain_text={"AAA676Y"})`` passes
``batch_size=3, plain_text={"AAA676Y"}`` to :meth:`SimulatedCCF.for_pki
<icsclient.testing.SimulatedCCF.for_pki>`, to try a Client Register setting (batching,
plain-text responses), ``environment="production"``, ``max_interchange_bytes``, ...

The SMTP fixture needs ``aiosmtpd`` (the ``test`` extra); the others do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # pytest loads this plugin into every session: the library loads on use
    from .ccf import SimulatedCCF, SmtpCCF
    from .pki import ThrowawayPKI

__all__ = ["ccf", "ccf_smtp", "ics_pki"]


@pytest.fixture(scope="session")
def ics_pki() -> ThrowawayPKI:
    """A throw-away PKI for the whole test session (never use it for real traffic).

    A :class:`~icsclient.testing.pki.ThrowawayPKI`: ``client`` and ``gateway``
    :class:`~icsclient.smime.Credentials` issued by a test CA (``ca_cert`` is the trust
    anchor), ``client_site`` (``AAA676Y``), ``gateway_site`` (``AAA336C``), the e-mail
    addresses, ``trust_for_client()`` for opening what the gateway sends, and the
    ``expired_client`` / ``untrusted_client`` variants for the failure paths.  Made once
    per session: certificates are valid from a day before the session started.
    """
    from .pki import make_test_pki

    return make_test_pki()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ccf(**options): options for the simulated CCF of the ccf and ccf_smtp fixtures "
        "(SimulatedCCF.for_pki keyword arguments, e.g. batch_size=3)",
    )


def _gateway(pki: ThrowawayPKI, request: pytest.FixtureRequest) -> SimulatedCCF:
    """The gateway for one test, with the options of its closest ``ccf`` marker."""
    from .ccf import ManualClock, SimulatedCCF

    marker = request.node.get_closest_marker("ccf")
    if marker is None:
        return SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now))
    if marker.args:
        raise TypeError(f"@pytest.mark.ccf takes keyword options only, got {marker.args!r}")
    try:
        return SimulatedCCF.for_pki(pki, **{"clock": ManualClock(pki.now), **marker.kwargs})
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"@pytest.mark.ccf options {marker.kwargs!r}: {exc}") from None


@pytest.fixture
def ccf(ics_pki: ThrowawayPKI, request: pytest.FixtureRequest) -> SimulatedCCF:
    """A fresh in-process simulated CCF for one test, wired to ``ics_pki``.

    ``ccf.receive(raw_email)`` returns the e-mails it sends back (CONTRL, CUSRES);
    ``ccf.tick()`` returns the CUSRES re-sends that are due.  Its clock is a
    :class:`~icsclient.testing.ccf.ManualClock` starting at ``ics_pki.now``: move it with
    ``ccf.clock.advance(minutes=30)``.  ``ics_pki.client_site`` is registered with the
    client certificate.  Configure answers with ``ccf.verdicts[sender_reference] =
    Verdict.rejected(("ERROR", "AC1234", "text"))`` or a ``ccf.rule``; make replies
    vanish with ``ccf.lose_next("contrl")``.  Assert on ``ccf.log``, ``ccf.sent``,
    ``ccf.dropped``, ``ccf.processed`` and ``ccf.pending``.  Options for it (batching,
    plain-text sites, ``environment`` ...) come from a ``@pytest.mark.ccf(...)`` marker.
    """
    return _gateway(ics_pki, request)


@pytest.fixture
def ccf_smtp(
    ics_pki: ThrowawayPKI, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[SmtpCCF]:
    """A simulated CCF served on loopback SMTP (127.0.0.1, a free port) for one test.

    Send to ``ccf_smtp.host`` / ``ccf_smtp.port`` (``ccf_smtp.sender()`` gives a ready
    :class:`~icsclient.transport.SmtpSender`).  Replies go by SMTP to a loopback inbox,
    ``ccf_smtp.inbox``, which delivers them into a Maildir: read it with
    ``ccf_smtp.inbox.reader()`` (a :class:`~icsclient.transport.MaildirReader`).  Replies
    are in the Maildir by the time a send returns.  The gateway itself is
    ``ccf_smtp.gateway`` (as the ``ccf`` fixture: clock, verdicts, log); ``ccf_smtp.tick()``
    delivers the due re-sends.  Both servers stop when the test ends.  A
    ``@pytest.mark.ccf(...)`` marker sets the gateway's options, as for ``ccf``.
    """
    from .ccf import SmtpCCF, SmtpInbox

    inbox = SmtpInbox(tmp_path / "inbox")
    with SmtpCCF(_gateway(ics_pki, request), inbox=inbox) as server:
        yield server
