"""Credentials and certificate validity: bundles, PEM text, no key material in any message,
the chain warning, expiry checks and the missing-issuer explanation (issues 12 and 16)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import stat
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from icsclient import BuildError, ConfigurationError, Credentials, Trust
from icsclient.smime import (
    CertificateExpiredError,
    CertificateExpiringWarning,
    CertificateNotYetValidError,
    CredentialsError,
    MissingChainWarning,
    UntrustedCertificateError,
    check_validity,
)
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


def _key_pem(pki: ThrowawayPKI, password: bytes | None = None) -> bytes:
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return pki.client.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
    )


def test_a_full_chain_file_and_pem_text_load(pki: ThrowawayPKI, tmp_path: Path) -> None:
    paths = pki.write(tmp_path)
    from_files = Credentials.from_pem(paths["client-fullchain.pem"], paths["client.key"])
    assert from_files.chain == pki.client.chain
    text = Credentials.from_pem(
        paths["client-fullchain.pem"].read_text(),
        _key_pem(pki).decode(),  # from a secret store
    )
    as_bytes = Credentials.from_pem(paths["client-fullchain.pem"].read_bytes(), _key_pem(pki))
    assert text == from_files == as_bytes == pki.client


def test_write_keys_are_private_and_nothing_is_overwritten(
    pki: ThrowawayPKI, tmp_path: Path
) -> None:
    paths = pki.write(tmp_path)
    for name, path in paths.items():
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert (mode & 0o077 == 0) == name.endswith(".key"), (name, oct(mode))
        assert path.stat().st_size > 0, f"{name} is empty"
    assert "untrusted-client-chain.pem" not in paths  # its chain is empty: no empty file
    before = paths["client.key"].read_bytes()
    with pytest.raises(FileExistsError, match="client.key"):
        make_test_pki(client_site="BBB123X").write(tmp_path, overwrite=False)
    assert paths["client.key"].read_bytes() == before


def _secret_fragments(pki: ThrowawayPKI) -> list[str]:
    pem = _key_pem(pki).decode()
    body = "".join(pem.splitlines()[1:-1])
    der = base64.b64decode(body)
    return ["-----BEGIN", "PRIVATE KEY", body[40:80], der[20:40].hex(), repr(der[20:40])[2:-1]]


def test_no_error_path_quotes_key_material(
    pki: ThrowawayPKI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pem = _key_pem(pki)
    cert = pki.client.certificate.public_bytes(serialization.Encoding.PEM)
    broken = pem.replace(pem[100:110], b"!!!!!!!!!!")
    other = make_test_pki(client_key_type="ec").client
    other_pem = other.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    encrypted = _key_pem(pki, b"s3cret-pass")
    cases = [
        lambda: Credentials.from_pem(cert, broken.decode()),  # broken PEM text
        lambda: Credentials.from_pem(cert, broken),  # broken PEM bytes
        lambda: Credentials.from_pem(cert, pem.decode().replace("-----BEGIN ", "")),  # no marker
        lambda: Credentials.from_pem(cert, base64.b64encode(pem).decode()),  # base64 of it
        lambda: Credentials.from_pem(cert, encrypted),  # needs a password
        lambda: Credentials.from_pem(cert, encrypted, password="wr0ng-pw"),
        lambda: Credentials.from_pem(cert, pem, password="s3cret-pass"),  # not encrypted
        lambda: Credentials.from_pem(cert, other_pem),  # not the certificate's key
        lambda: Credentials.from_pem(pem, pem),  # the key where the certificate goes
        lambda: Credentials.from_pem(pem.decode(), pem),
        lambda: Credentials.from_pem(cert, tmp_path / "missing.key"),
        lambda: Credentials.from_pkcs12(pem, b"s3cret-pass"),
    ]
    for n, case in enumerate(cases):
        with pytest.raises(CredentialsError) as info:
            case()
        shown = f"{info.value} {info.value!r} {caplog.text}"
        for fragment in [*_secret_fragments(pki), "s3cret-pass", "wr0ng-pw"]:
            assert fragment not in shown, f"case {n} shows {fragment!r}: {shown}"
    assert "s3cret" not in repr(pki.client) and "PRIVATE" not in repr(pki.client)


def test_credentials_error_is_configuration_with_a_public_module() -> None:
    assert issubclass(CredentialsError, ConfigurationError)
    assert not issubclass(CredentialsError, BuildError)
    for cls in (CredentialsError, CertificateExpiredError, UntrustedCertificateError):
        assert cls.__module__ == "icsclient.smime"
        assert f"icsclient.smime.{cls.__name__}" in str(cls)


def test_a_leaf_without_its_chain_warns(
    pki: ThrowawayPKI, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.warns(MissingChainWarning, match="Test Device CA.*chain="):
        Credentials(pki.client.certificate, pki.client.private_key)
    assert "carry no chain" in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Credentials(pki.client.certificate, pki.client.private_key, pki.client.chain)
        Credentials(pki.ca_cert, pki.root_ca.private_key)  # self-issued: nothing to carry


def test_a_missing_intermediate_is_named(pki: ThrowawayPKI) -> None:
    trust = Trust([pki.ca_cert], [pki.client.certificate], at=pki.now)
    with pytest.raises(UntrustedCertificateError) as info:
        trust.validate_chain(pki.client.certificate, ())
    message = str(info.value)
    assert "the issuer CN=icsclient Test Device CA" in message and "was not found" in message
    assert "full-chain PEM" in message and "intermediates=" in message
    assert trust.validate_chain(pki.client.certificate, pki.client.chain)[0] == (
        pki.client.certificate
    )


def test_validity_refuses_expired_and_not_yet_valid_naming_subject_and_dates(
    pki: ThrowawayPKI,
) -> None:
    cert = pki.client.certificate
    after, before = cert.not_valid_after_utc, cert.not_valid_before_utc
    with pytest.raises(CertificateExpiredError) as info:
        check_validity(cert, after + DAY, what="own certificate")
    assert "own certificate CN=AAA676Y" in str(info.value)
    assert f"{after:%Y-%m-%d}" in str(info.value) and info.value.not_after == after
    with pytest.raises(CertificateNotYetValidError) as early:
        pki.client.check_validity(before - DAY)
    assert isinstance(early.value, CertificateExpiredError)
    assert f"{before:%Y-%m-%d}" in str(early.value) and early.value.subject == pki.client.subject
    with pytest.raises(CertificateExpiredError, match="expired on"):
        pki.expired_client.check_validity(pki.now)


def test_validity_warns_within_the_horizon(
    pki: ThrowawayPKI, caplog: pytest.LogCaptureFixture
) -> None:
    after = pki.client.not_valid_after
    with pytest.warns(CertificateExpiringWarning, match="expires in 9 day"):
        v = pki.client.check_validity(after - 9 * DAY - dt.timedelta(hours=1))
    assert v.days_left == 9 and "renew" in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pki.client.check_validity(after - 9 * DAY, warn_days=5)
        pki.client.check_validity(after - DAY, warn_days=None)
        assert pki.client.check_validity(pki.now).days_left == pki.client.days_left(pki.now)
    assert pki.client.not_valid_before == pki.client.certificate.not_valid_before_utc
    (gateway,) = pki.trust_for_client().validity(pki.now)
    assert gateway.subject.startswith("CN=CCF E-mail Gateway") and gateway.days_left > 300


def test_lodgement_events_show_their_public_module() -> None:
    import icsclient.lodgement as lodgement

    assert lodgement.OpenFailed.__module__ == "icsclient.lodgement"
    assert "icsclient.lodgement.ContrlAccepted" in str(lodgement.ContrlAccepted)
    assert lodgement.LodgementClient.__module__ == "icsclient.lodgement"
