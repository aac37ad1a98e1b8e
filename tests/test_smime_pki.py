"""The throw-away test PKI: the certificates are what the CCF world uses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from icsclient.smime import Credentials
from icsclient.testing.pki import make_test_pki


def test_certificates_are_e_mail_device_certificates() -> None:
    pki = make_test_pki()
    for creds, email in ((pki.client, pki.client_email), (pki.gateway, pki.gateway_email)):
        cert = creds.certificate
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.RFC822Name) == [email]
        assert creds.chain == (pki.issuing_ca.certificate,)
        assert cert.issuer == pki.issuing_ca.certificate.subject
    assert pki.client.certificate.subject.rfc4514_string().startswith("CN=AAA676Y")
    assert (pki.client_site, pki.gateway_site) == ("AAA676Y", "AAA336C")
    assert pki.expired_client.certificate.not_valid_after_utc < pki.now
    assert pki.untrusted_client.certificate.issuer == pki.untrusted_ca.certificate.subject


def test_fixed_time_and_site_ids() -> None:
    when = dt.datetime(2030, 5, 1, tzinfo=dt.timezone.utc)
    pki = make_test_pki(now=when, client_site="BBB123X", valid_days=10)
    assert pki.client.certificate.not_valid_before_utc == when - dt.timedelta(days=1)
    assert pki.client.certificate.not_valid_after_utc == when + dt.timedelta(days=10)
    assert pki.trust_for_client().at == when
    assert pki.trust_for_gateway().gateway_site == "BBB123X"
    pki.trust_for_gateway().validate_chain(pki.client.certificate, pki.client.chain)


def test_write_dumps_loadable_pem_files(tmp_path: Path) -> None:
    pki = make_test_pki()
    paths = pki.write(tmp_path / "pki")
    loaded = Credentials.from_pem(
        paths["gateway.pem"], paths["gateway.key"], chain=paths["gateway-chain.pem"]
    )
    assert loaded == pki.gateway
    assert x509.load_pem_x509_certificate(paths["ca.pem"].read_bytes()) == pki.ca_cert
    assert {"client.key", "expired-client.pem", "untrusted-client.pem", "untrusted-ca.pem"} <= set(
        paths
    )


def test_issue_more_credentials() -> None:
    pki = make_test_pki()
    successor = pki.issue("CCF E-mail Gateway 2", email=pki.gateway_email)
    assert successor.private_key.public_key() != pki.gateway.private_key.public_key()
    pki.trust_for_client().validate_chain(successor.certificate, successor.chain)
    ec = pki.issue("EC", email="ec@broker.test", key_type="ec")
    assert "EC-secp256r1" in repr(ec)
