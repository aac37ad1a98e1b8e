"""The hand-written CMS writers and the streaming base64 encoder, checked against
independent readers: asn1crypto for the DER, the standard library for base64."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from asn1crypto import cms, core
from hypothesis import given, settings
from hypothesis import strategies as st

from icsclient.errors import SignatureError
from icsclient.smime import decrypt_envelope, encrypt_envelope, verify_signed_data
from icsclient.smime._der import header, integer
from icsclient.smime._envelope import envelope_pieces
from icsclient.smime._mime import Base64Lines, b64_lines
from icsclient.smime._sign import DetachedSigner
from icsclient.testing.pki import ThrowawayPKI, make_test_pki


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


def _rfc2045(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


@given(st.integers(min_value=-(2**130), max_value=2**130))
def test_der_integers_are_what_asn1crypto_writes(value: int) -> None:
    assert integer(value) == core.Integer(value).dump()


@pytest.mark.parametrize("length", [0, 1, 127, 128, 255, 256, 65535, 65536, 2**24 + 5])
def test_der_lengths_are_what_asn1crypto_writes(length: int) -> None:
    content = b"\0" * length
    assert header(0x04, length) + content == core.OctetString(content).dump()


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3 * 57 * 1024 + 500), st.lists(st.integers(0, 200_000), max_size=6))
def test_base64_lines_fed_in_any_pieces_equal_the_standard_encoding(
    data: bytes, cuts: list[int]
) -> None:
    encoder = Base64Lines()
    points = sorted({min(c, len(data)) for c in cuts})
    for a, b in zip([0, *points], [*points, len(data)], strict=True):
        encoder.feed(memoryview(data)[a:b])
    assert encoder.finish() == _rfc2045(data)
    assert b64_lines(data) == _rfc2045(data)


def test_base64_lines_reuses_its_line_buffer_without_mixing_steps() -> None:
    step = 57 * 1024
    data = b"".join(bytes([i]) * step for i in range(5)) + b"tail"
    encoder = Base64Lines(b"prefix\r\n")
    encoder.feed(data)  # five whole steps through the shared line buffer, then the tail
    assert encoder.finish() == b"prefix\r\n" + _rfc2045(data)
    assert encoder.finish() == b""  # finished: a fresh, empty stream


@pytest.mark.parametrize(
    "cipher", ["aes128_cbc", "aes192_cbc", "aes256_cbc", "tripledes_3key", "aes256_gcm"]
)
@pytest.mark.parametrize("size", [0, 15, 16, 70_000, 200_003])
def test_envelope_in_pieces_is_well_formed_der_and_decrypts(
    pki: ThrowawayPKI, cipher: str, size: int
) -> None:
    content = bytes(i % 251 for i in range(size))
    pieces = envelope_pieces(
        [content[: size // 3], content[size // 3 :]],
        [pki.gateway.certificate, pki.client.certificate],
        cipher=cipher,  # type: ignore[arg-type]
    )
    der = b"".join(bytes(piece) for piece in pieces)  # copy each: views are reused
    info = cms.ContentInfo.load(der, strict=True)  # strict: no trailing or missing bytes
    assert info.dump(force=True) == der  # re-encoded by asn1crypto: the same DER
    for who in (pki.client, pki.gateway):
        assert decrypt_envelope(der, [who]).content == content


def test_envelope_sets_are_in_der_order(pki: ThrowawayPKI) -> None:
    other = make_test_pki()
    der = encrypt_envelope(
        b"x", [other.client.certificate, pki.client.certificate, pki.gateway.certificate]
    )
    infos = [i.dump() for i in cms.ContentInfo.load(der)["content"]["recipient_infos"]]
    assert infos == sorted(infos)


@pytest.mark.parametrize("kind", ["rsa", "pss", "ec"])
def test_detached_signature_fed_in_pieces_verifies_and_is_der(kind: str) -> None:
    pki = make_test_pki(client_key_type="ec") if kind == "ec" else make_test_pki()
    content = b"Content-Type: text/plain\r\n\r\n" + b"line\r\n" * 5000
    signer = DetachedSigner(pki.client, rsa_padding="pss" if kind == "pss" else "pkcs1v15")
    for i in range(0, len(content), 1000):
        signer.update(memoryview(content)[i : i + 1000])
    when = dt.datetime(2026, 11, 22, 5, 6, 7, tzinfo=dt.timezone.utc)
    der = signer.finish(when)
    info = cms.ContentInfo.load(der, strict=True)
    assert info.dump(force=True) == der
    signer_info = info["content"]["signer_infos"][0]
    attrs = [a.dump() for a in signer_info["signed_attrs"]]
    assert attrs == sorted(attrs)
    verified = verify_signed_data(der, content)
    assert verified.signing_time == when
    assert verified.signer == pki.client.certificate
    with pytest.raises(SignatureError, match="messageDigest"):
        verify_signed_data(der, content + b"x")


def test_signing_time_outside_utctime_years_is_generalized_time(pki: ThrowawayPKI) -> None:
    signer = DetachedSigner(pki.client)
    signer.update(b"x")
    when = dt.datetime(2051, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    info = cms.ContentInfo.load(signer.finish(when))
    attrs = info["content"]["signer_infos"][0]["signed_attrs"]
    (when_attr,) = [a for a in attrs if a["type"].native == "signing_time"]
    assert when_attr["values"][0].name == "generalized_time"
    assert verify_signed_data(info.dump(), b"x").signing_time == when


def test_a_boundary_is_found_across_the_joints_of_the_parts() -> None:
    from icsclient.smime._smime import _occurs

    boundary = b"----=_icsclient_0123"
    assert _occurs(boundary, [b"ab", b"x" + boundary + b"y"])
    assert _occurs(boundary, [b"ab----=_ics", b"client_0123", b"z"])
    assert _occurs(boundary, [b"----", b"=_icsclient", b"_0123"])  # over three parts
    assert _occurs(boundary, [b"", b"--", b"--=", b"_icsclient_012", b"3"])
    assert not _occurs(boundary, [b"ab----=_ics", b"client_0124"])


def test_a_malformed_base64_body_is_a_mail_error_that_says_so() -> None:
    from icsclient.errors import MailError
    from icsclient.smime._mime import decode_body

    assert decode_body(b"SGVs\r\nbG8=\r\n", "base64") == b"Hello"  # line breaks skipped
    with pytest.raises(MailError, match="base64 body is malformed.*padding"):
        decode_body(b"SGVsbG8\r\n", "base64")
