"""LodgementClient refuses a wrong set-up when it is made, with the reason (issue 12).

Every case here used to be silent until the gateway: an expired certificate lodged,
was re-sent twice and given up hours later; a list of credentials raised a bare
TypeError; a missing gateway certificate file failed at the first lodgement.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from icsclient.edifact import Segment
from icsclient.errors import BuildError, ConfigurationError
from icsclient.lodgement import (
    ContrlAccepted,
    LodgementClient,
    ResponseReceived,
    SiteNotInCertificateWarning,
)
from icsclient.smime import (
    CertificateExpiredError,
    CertificateExpiringWarning,
    CertificateNotYetValidError,
    CredentialsError,
)
from icsclient.store import MemoryStore
from icsclient.testing.ccf import ManualClock, SimulatedCCF
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

T0 = datetime(2024, 1, 2, 3, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki(now=T0)


def client(pki: ThrowawayPKI, at: datetime = T0, **options: object) -> LodgementClient:
    return LodgementClient.for_pki(pki, MemoryStore(), clock=ManualClock(at), **options)


def report(ref: str = "HAWB1") -> tuple[str, list[Segment]]:
    return (
        "CUSCAR",
        [
            Segment("BGM", ("933", "", "", "AIRCR"), ("X" + ref, "1"), "9"),
            Segment("RFF", ("ABO", ref, "", "1")),
            Segment("LOC", "9", "SYD"),
        ],
    )


def test_an_expired_own_certificate_is_refused_at_construction(pki: ThrowawayPKI) -> None:
    with pytest.raises(CertificateExpiredError) as caught:
        client(pki, credentials=pki.expired_client)
    err = caught.value
    assert "own signing certificate" in str(err)
    assert err.subject in str(err)
    assert f"{err.not_after:%Y-%m-%d}" in str(err)
    assert err.not_after < T0


def test_a_not_yet_valid_own_certificate_is_refused(pki: ThrowawayPKI) -> None:
    later = pki.issue(pki.client_site, email=pki.client_email, valid_from=T0 + timedelta(days=3))
    with pytest.raises(CertificateNotYetValidError, match="not valid before"):
        client(pki, credentials=later)


def test_an_expired_gateway_certificate_is_refused(pki: ThrowawayPKI) -> None:
    with pytest.raises(CertificateExpiredError, match="gateway certificate"):
        client(pki, gateway_cert=pki.expired_client.certificate)


def test_a_certificate_that_expires_while_running_stops_lodge_before_any_icr(
    pki: ThrowawayPKI,
) -> None:
    c = client(pki, warn_days=None)
    expiry = pki.client.certificate.not_valid_after_utc
    c.lodge([report()], now=expiry - timedelta(days=1))  # still valid: lodged
    with pytest.raises(CertificateExpiredError, match="own signing certificate"):
        c.lodge([report("HAWB2")], now=expiry + timedelta(seconds=1))
    assert [e.icr for e in c.store.outbox()] == ["1"]  # no number burnt


def test_within_the_warning_horizon_the_client_warns(pki: ThrowawayPKI) -> None:
    near = pki.client.certificate.not_valid_after_utc - timedelta(days=10)
    with pytest.warns(CertificateExpiringWarning, match=r"expires in \d+ day"):
        client(pki, at=near)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client(pki, at=near, warn_days=None)
        client(pki, at=near, warn_days=5)


def test_a_missing_gateway_certificate_file_is_refused_at_once(
    pki: ThrowawayPKI, tmp_path: Path
) -> None:
    missing = tmp_path / "ccf-gateway.pem"
    with pytest.raises(CredentialsError, match="ccf-gateway.pem"):
        client(pki, gateway_cert=missing)
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate")
    with pytest.raises(CredentialsError, match="not a PEM or DER"):
        client(pki, gateway_cert=broken)


def test_a_gateway_certificate_file_is_read_once(pki: ThrowawayPKI, tmp_path: Path) -> None:
    path = tmp_path / "gw.pem"
    path.write_bytes(pki.write(tmp_path / "pki")["gateway.pem"].read_bytes())
    c = client(pki, gateway_cert=path)
    path.unlink()  # lodging does not need the file any more
    assert c.gateway_cert == (pki.gateway.certificate,)
    c.lodge([report()])


@pytest.mark.parametrize(
    ("option", "value"),
    [("mail_from", "not an address"), ("mail_to", "ccf@"), ("mail_from", "a@b.c\r\nBcc: x@y.z")],
)
def test_addresses_are_checked(pki: ThrowawayPKI, option: str, value: str) -> None:
    with pytest.raises(BuildError, match=option):
        client(pki, **{option: value})


def test_the_gateway_site_id_is_not_ours(pki: ThrowawayPKI) -> None:
    with pytest.raises(ConfigurationError, match="gateway's own"):
        LodgementClient(
            MemoryStore(),
            "AAA336C",
            pki.client,
            pki.gateway.certificate,
            pki.trust_for_client(),
            mail_from=pki.client_email,
            mail_to=pki.gateway_email,
            clock=ManualClock(T0),
        )


def test_a_site_id_the_certificate_does_not_name_warns(pki: ThrowawayPKI) -> None:
    with pytest.warns(SiteNotInCertificateWarning, match="BBB123X"):
        LodgementClient(
            MemoryStore(),
            "BBB123X",
            pki.client,
            pki.gateway.certificate,
            pki.trust_for_client(),
            mail_from=pki.client_email,
            mail_to=pki.gateway_email,
            clock=ManualClock(T0),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client(pki)  # the test PKI's certificate names its site: no warning


@pytest.mark.parametrize("value", ["MIME-Version: 1.0\r\n", None, 42])
def test_receive_wants_bytes(pki: ThrowawayPKI, value: object) -> None:
    c = client(pki)
    with pytest.raises(TypeError, match="raw e-mail as bytes") as caught:
        c.receive(value)  # type: ignore[arg-type]
    assert ("binary mode" in str(caught.value)) == isinstance(value, str)


def test_credentials_must_be_credentials(pki: ThrowawayPKI) -> None:
    with pytest.raises(TypeError, match=r"credentials\[1\]"):
        client(pki, credentials=[pki.client, "client.pem"])
    with pytest.raises(ConfigurationError, match="empty"):
        client(pki, credentials=[])


def test_own_certificate_rollover_through_the_client(pki: ThrowawayPKI) -> None:
    """Lodged with the old certificate; the reply, encrypted to it, is read after the switch."""
    clock = ManualClock(T0)
    ccf = SimulatedCCF.for_pki(pki, clock=clock)
    store = MemoryStore()
    old = LodgementClient.for_pki(pki, store, clock=clock)
    out = old.lodge([report()])
    old.sent(out)
    replies = ccf.receive(out.email)
    assert replies  # a CONTRL and a CUSRES, encrypted to the old certificate

    new = pki.issue(pki.client_site, email=pki.client_email)
    ccf.register_client(pki.client_site, new.certificate)
    only_new = LodgementClient.for_pki(pki, store, clock=clock, credentials=new)
    assert only_new.credentials is new
    switched = LodgementClient.for_pki(pki, store, clock=clock, credentials=[new, pki.client])
    assert switched.credentials is new and switched.decrypting == (new, pki.client)

    events = [e for raw in replies for e in switched.receive(raw)]
    assert any(isinstance(e, ContrlAccepted) for e in events)
    assert any(isinstance(e, ResponseReceived) for e in events)
    assert not store.quarantined()

    later = switched.lodge([report("HAWB2")])  # signed with the new certificate
    switched.sent(later)
    [contrl, *_] = ccf.receive(later.email)
    assert any(isinstance(e, ContrlAccepted) for e in switched.receive(contrl))
    assert (ccf.processed[-1].site, ccf.processed[-1].sender_reference) == (
        pki.client_site,
        "HAWB2",
    )
