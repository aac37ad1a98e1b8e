"""Hostile e-mails: what anyone holding the client's public certificate can send raises only
library errors (issue 16, items 6-8): a non-ASCII boundary, a signer certificate whose
subject cannot be parsed, a UNB control reference of non-ASCII or too many digits."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from icsclient.errors import IcsError, MailError
from icsclient.mail import open_email
from icsclient.smime import Credentials, encrypt_envelope, enveloped_entity, signed_entity
from icsclient.smime._load import describe_certificate
from icsclient.smime._mime import b64_lines
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

CCF, CLIENT = "AAA336C", "AAA676Y"
SUBJECT = "AAA336C_00000000000042_AAA676Y"


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


def _interchange(icr: str) -> bytes:
    return (
        f"UNB+UNOC:3+{CCF}+{CLIENT}+240101:1200+{icr}'UNH+1+CUSRES:D:95B:UN'"
        f"BGM+962::::AIRCRR+X1+11'UNT+3+1'UNZ+1+{icr}'"
    ).encode("latin-1")


def _inner(interchange: bytes) -> bytes:
    name = b"AAA676Y_00000000000042.edi"
    return (
        b'Content-Type: application/EDIFACT; name="' + name + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="'
        + name
        + b'"\r\n\r\n'
        + b64_lines(interchange)
    )


def _mail(pki: ThrowawayPKI, signed: bytes) -> bytes:
    body = enveloped_entity(encrypt_envelope(signed, [pki.client.certificate]))
    head = f"From: {pki.gateway_email}\r\nTo: {pki.client_email}\r\nSubject: {SUBJECT}\r\n"
    return head.encode() + b"MIME-Version: 1.0\r\n" + body


def _open(pki: ThrowawayPKI, raw: bytes) -> object:
    return open_email(raw, recipient=pki.client, trust=pki.trust_for_client())


@pytest.mark.parametrize("extra", [b"\xe9", b"\xc3\xa9", b"\x00", b"\xff\xfe"])
def test_a_boundary_with_a_byte_outside_ascii_is_a_mail_error(
    pki: ThrowawayPKI, extra: bytes
) -> None:
    signed = signed_entity(_inner(_interchange("00000000000042")), pki.gateway)
    start = signed.index(b'boundary="') + len(b'boundary="')
    boundary = signed[start : signed.index(b'"', start)]
    raw = _mail(pki, signed.replace(boundary, boundary + extra))
    with pytest.raises(MailError, match="boundary"):
        _open(pki, raw)


@pytest.mark.parametrize("icr", ["¹²³", "4" * 5000])
def test_a_unb_icr_of_digits_int_refuses_is_a_mail_error(pki: ThrowawayPKI, icr: str) -> None:
    raw = _mail(pki, signed_entity(_inner(_interchange(icr)), pki.gateway))
    with pytest.raises(MailError, match="ICR"):
        _open(pki, raw)


def _unparseable_subject(pki: ThrowawayPKI) -> Credentials:
    """The gateway's key in a certificate whose subject O is a UTF8String of bytes that are
    not UTF-8: it loads, and cryptography raises ValueError when the subject is read."""
    cert = pki.gateway.certificate
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CCF),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "QQQ"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(cert.issuer)
        .public_key(pki.gateway.private_key.public_key())
        .serial_number(cert.serial_number + 1)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    made = builder.sign(pki.issuing_ca.private_key, hashes.SHA256())
    der = made.public_bytes(serialization.Encoding.DER).replace(
        b"\x0c\x03QQQ", b"\x0c\x03\xff\xfe\xfd"
    )
    bad = x509.load_der_x509_certificate(der)
    with pytest.raises(ValueError):
        _ = bad.subject
    return Credentials(bad, pki.gateway.private_key, pki.gateway.chain)


def test_a_signer_certificate_whose_subject_cannot_be_parsed_is_a_library_error(
    pki: ThrowawayPKI,
) -> None:
    signer = _unparseable_subject(pki)
    assert "cannot be parsed" in describe_certificate(signer.certificate)
    assert "cannot be parsed" in repr(signer)
    raw = _mail(pki, signed_entity(_inner(_interchange("00000000000042")), signer))
    with pytest.raises(IcsError):
        _open(pki, raw)


def test_a_date_header_with_a_year_past_any_int_is_no_date(pki: ThrowawayPKI) -> None:
    raw = _mail(pki, signed_entity(_inner(_interchange("00000000000042")), pki.gateway))
    raw = b"Date: 1 Jan 99999999999999999999 00:00:00 +0000\r\n" + raw  # found by the fuzzer
    opened = open_email(raw, recipient=pki.client, trust=pki.trust_for_client())
    assert opened.date is None
