"""The round trip's fast paths give exactly what the general code gives.

Each fast path (per-signer DER pieces made once, caches by certificate object, hand-made
Date headers, ...) is checked here against the slow way or an independent reader, and
with the inputs that must fall back.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gc

import pytest
from asn1crypto import cms, core
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from icsclient.mail import _format_date
from icsclient.smime import Credentials, verify_signed_data
from icsclient.smime._ids import cert_ids
from icsclient.smime._sign import DetachedSigner, _time
from icsclient.smime._trust import _fingerprint
from icsclient.testing.pki import ThrowawayPKI, make_test_pki


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


def _copy(cert: x509.Certificate) -> x509.Certificate:
    """An equal certificate that is another object."""
    return x509.load_der_x509_certificate(cert.public_bytes(serialization.Encoding.DER))


# ------------------------------------------------------------------ signer pieces


def _signed(creds: Credentials, content: bytes, **options: str) -> bytes:
    signer = DetachedSigner(creds, **options)  # type: ignore[arg-type]
    signer.update(content)
    return signer.finish(dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc))


def _check_signed_data(der: bytes, creds: Credentials, digest: str) -> None:
    """The SignedData names ``creds``, carries its certificates and is canonical DER."""
    info = cms.ContentInfo.load(der, strict=True)
    assert info.dump(force=True) == der
    signed = info["content"]
    (si,) = signed["signer_infos"]
    sid = si["sid"].chosen
    ids = cert_ids(creds.certificate)
    assert sid["serial_number"].native == ids.serial
    assert sid["issuer"].dump() == ids.issuer_der
    assert si["digest_algorithm"]["algorithm"].native == digest
    assert [a["algorithm"].native for a in signed["digest_algorithms"]] == [digest]
    carried = [c.chosen.dump() for c in signed["certificates"]]
    expected = sorted(cert_ids(c).der for c in (creds.certificate, *creds.chain))
    assert carried == expected


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_signer_pieces_made_once_per_signer_match_each_signer(
    pki: ThrowawayPKI, digest: str
) -> None:
    for creds in (pki.client, pki.gateway, pki.client, pki.untrusted_client, pki.gateway):
        der = _signed(creds, b"content", digest=digest)
        _check_signed_data(der, creds, digest)
        assert verify_signed_data(der, b"content").signer == creds.certificate


def test_pkcs1_signature_is_the_same_bytes_as_asn1crypto_would_write(pki: ThrowawayPKI) -> None:
    """RSA PKCS#1 v1.5 is deterministic: rebuild the whole SignedData with asn1crypto."""
    der = _signed(pki.client, b"abc")
    info = cms.ContentInfo.load(der)
    signed = info["content"]
    si = signed["signer_infos"][0]
    rebuilt = cms.ContentInfo(
        {
            "content_type": "signed_data",
            "content": cms.SignedData(
                {
                    "version": "v1",
                    "digest_algorithms": [{"algorithm": "sha256", "parameters": core.Null()}],
                    "encap_content_info": {"content_type": "data"},
                    "certificates": [
                        cms.CertificateChoices.load(der)
                        for der in sorted(
                            cert_ids(c).der for c in (pki.client.certificate, *pki.client.chain)
                        )
                    ],
                    "signer_infos": [
                        {
                            "version": "v1",
                            "sid": cms.SignerIdentifier(
                                name="issuer_and_serial_number",
                                value={
                                    "issuer": si["sid"].chosen["issuer"],
                                    "serial_number": pki.client.certificate.serial_number,
                                },
                            ),
                            "digest_algorithm": {"algorithm": "sha256", "parameters": core.Null()},
                            "signed_attrs": si["signed_attrs"],
                            "signature_algorithm": {
                                "algorithm": "rsassa_pkcs1v15",
                                "parameters": core.Null(),
                            },
                            "signature": si["signature"].native,
                        }
                    ],
                }
            ),
        }
    )
    assert rebuilt.dump(force=True) == der
    again = _signed(pki.client, b"abc")
    assert again == der  # same key, content and time: the same bytes


def test_signer_pieces_follow_a_new_credentials_object(pki: ThrowawayPKI) -> None:
    """A cached entry keeps its Credentials alive: a new object never gets old pieces."""
    for creds in (pki.client, pki.gateway):
        fresh = Credentials(_copy(creds.certificate), creds.private_key, creds.chain)
        _check_signed_data(_signed(fresh, b"x"), fresh, "sha256")
        del fresh
        gc.collect()
    other = Credentials(pki.gateway.certificate, pki.gateway.private_key, ())
    _check_signed_data(_signed(other, b"x"), other, "sha256")


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [
                dt.timezone.utc,
                dt.timezone(dt.timedelta(hours=10)),
                dt.timezone(-dt.timedelta(hours=9, minutes=30)),
            ]
        ),
    )
)
def test_signing_time_is_what_strftime_writes(when: dt.datetime) -> None:
    utc = when.astimezone(dt.timezone.utc)
    if 1950 <= utc.year < 2050:
        expected = b"\x17\x0d" + utc.strftime("%y%m%d%H%M%SZ").encode()
    else:
        expected = b"\x18\x0f" + f"{utc.year:04d}".encode() + utc.strftime("%m%d%H%M%SZ").encode()
    assert _time(when) == expected


# ------------------------------------------------------------------ caches by object


def test_certificate_ids_and_fingerprints_by_object_equal_those_by_value(
    pki: ThrowawayPKI,
) -> None:
    certs = [pki.client.certificate, pki.gateway.certificate, *pki.client.chain]
    for cert in certs:
        twin = _copy(cert)
        assert twin is not cert
        assert cert_ids(twin) == cert_ids(cert)
        assert cert_ids(cert).der == cert.public_bytes(serialization.Encoding.DER)
        assert _fingerprint(twin) == _fingerprint(cert)
    assert len({cert_ids(c).der for c in certs}) == len(certs)
    assert len({_fingerprint(c) for c in certs}) == len(certs)


def test_certificate_caches_stay_right_when_they_overflow(pki: ThrowawayPKI) -> None:
    der = pki.client.certificate.public_bytes(serialization.Encoding.DER)
    for _ in range(600):  # more than either cache holds: cleared on the way
        cert = x509.load_der_x509_certificate(der)
        assert cert_ids(cert).serial == pki.client.certificate.serial_number
        assert _fingerprint(cert) == _fingerprint(pki.client.certificate)
    assert cert_ids(pki.gateway.certificate).serial == pki.gateway.certificate.serial_number


# ------------------------------------------------------------------ e-mail headers


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.builds(
            dt.timezone,
            st.timedeltas(min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23)),
        ),
    )
)
def test_date_header_is_what_email_utils_writes(when: dt.datetime) -> None:
    assert _format_date(when) == email.utils.format_datetime(when)
