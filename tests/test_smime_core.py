"""The S/MIME layer below the e-mail: credentials, trust, sign/encrypt/decrypt/verify, MIME."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import given
from hypothesis import strategies as st

from icsclient.errors import BuildError, DecryptionError, MailError, SignatureError, TrustError
from icsclient.smime import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    Credentials,
    CredentialsError,
    NotEncryptedError,
    NotPinnedError,
    NotSignedError,
    Trust,
    UntrustedCertificateError,
    decrypt_envelope,
    encrypt_envelope,
    enveloped_entity,
    sign_and_encrypt,
    sign_detached,
    signed_entity,
    unwrap,
    verify_signed_data,
)
from icsclient.smime._decrypt import GENERIC_MESSAGE
from icsclient.smime._mime import b64_lines, canonicalise_crlf, parse_entity, split_multipart
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

ENTITY = (
    b'Content-Type: application/EDIFACT; name="AAA336C_1.edi"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n" + b64_lines(b"UNA:+.? 'UNB+UNOC:3+AAA336C'")
)


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(creds: Credentials, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return creds.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


# ---------------------------------------------------------------- Credentials


def test_credentials_from_pem_bytes_paths_and_bundles(pki: ThrowawayPKI, tmp_path: Path) -> None:
    paths = pki.write(tmp_path)
    from_paths = Credentials.from_pem(
        paths["client.pem"], paths["client.key"], chain=paths["client-chain.pem"]
    )
    assert from_paths == pki.client
    from_bytes = Credentials.from_pem(
        paths["client.pem"].read_bytes(), paths["client.key"].read_bytes()
    )
    assert from_bytes.certificate == pki.client.certificate
    assert from_bytes.chain == ()
    # one PEM file holding the leaf then its chain
    bundle = _pem(pki.client.certificate) + _pem(pki.issuing_ca.certificate)
    assert Credentials.from_pem(bundle, str(paths["client.key"])).chain == pki.client.chain
    # DER certificate
    der = pki.client.certificate.public_bytes(serialization.Encoding.DER)
    assert Credentials.from_pem(der, paths["client.key"]).certificate == pki.client.certificate


def test_credentials_encrypted_key_needs_the_right_password(pki: ThrowawayPKI) -> None:
    cert = _pem(pki.client.certificate)
    locked = _key_pem(pki.client, b"s3cret")
    assert (
        Credentials.from_pem(cert, locked, password="s3cret").certificate == pki.client.certificate
    )
    with pytest.raises(CredentialsError, match="password is needed"):
        Credentials.from_pem(cert, locked)
    with pytest.raises(CredentialsError, match="wrong password") as info:
        Credentials.from_pem(cert, locked, password="wrong")
    assert "s3cret" not in str(info.value) and "wrong" not in str(info.value).replace(
        "wrong password", ""
    )
    with pytest.raises(CredentialsError, match="not encrypted"):
        Credentials.from_pem(cert, _key_pem(pki.client), password="x")


def test_credentials_refuse_a_key_that_is_not_the_certificates(pki: ThrowawayPKI) -> None:
    with pytest.raises(CredentialsError, match="does not belong"):
        Credentials.from_pem(_pem(pki.client.certificate), _key_pem(pki.gateway))
    with pytest.raises(CredentialsError, match="not a PEM or DER"):
        Credentials.from_pem(b"garbage", _key_pem(pki.client))
    with pytest.raises(CredentialsError, match="cannot read"):
        Credentials.from_pem("/nonexistent/cert.pem", _key_pem(pki.client))


def test_credentials_never_show_key_material(pki: ThrowawayPKI) -> None:
    text = repr(pki.client) + str(pki.client)
    key_pem = _key_pem(pki.client).decode()
    body = "".join(key_pem.splitlines()[1:-1])
    assert body[:40] not in text
    assert "RSA-2048" in text and "AAA676Y" in text
    numbers = pki.client.private_key.private_numbers()  # type: ignore[union-attr]
    assert str(numbers.p)[:20] not in text  # type: ignore[union-attr]
    assert pki.client.email_addresses == (pki.client_email,)


def test_credentials_from_pkcs12(pki: ThrowawayPKI, tmp_path: Path) -> None:
    blob = pkcs12.serialize_key_and_certificates(
        b"client",
        pki.client.private_key,
        pki.client.certificate,
        list(pki.client.chain),
        serialization.BestAvailableEncryption(b"pw"),
    )
    (tmp_path / "c.p12").write_bytes(blob)
    assert Credentials.from_pkcs12(tmp_path / "c.p12", "pw") == pki.client
    assert Credentials.from_pkcs12(blob, b"pw") == pki.client
    with pytest.raises(CredentialsError, match="PKCS#12"):
        Credentials.from_pkcs12(blob, "nope")


# ---------------------------------------------------------------- Trust


def test_trust_accepts_a_valid_chain_and_names_the_failures(pki: ThrowawayPKI) -> None:
    trust = pki.trust_for_gateway()
    chain = trust.validate_chain(pki.client.certificate, pki.client.chain)
    assert chain[0] == pki.client.certificate and chain[-1] == pki.ca_cert
    with pytest.raises(CertificateExpiredError, match="expired on"):
        trust.validate_chain(pki.expired_client.certificate, pki.expired_client.chain)
    with pytest.raises(UntrustedCertificateError, match="not trusted"):
        trust.validate_chain(pki.untrusted_client.certificate)
    early = pki.trust_for_gateway(at=pki.now - dt.timedelta(days=30))
    with pytest.raises(CertificateNotYetValidError, match="not valid before"):
        early.validate_chain(pki.client.certificate, pki.client.chain)
    # without the issuing CA (not shipped, not configured) the chain cannot be built
    with pytest.raises(UntrustedCertificateError):
        trust.validate_chain(pki.client.certificate, [])
    helped = pki.trust_for_gateway(intermediates=[pki.issuing_ca.certificate])
    assert helped.validate_chain(pki.client.certificate, [])[-1] == pki.ca_cert


def test_trust_remembers_a_validation_only_while_it_holds(
    pki: ThrowawayPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icsclient.smime import _trust

    trust = pki.trust_for_gateway(at=None)
    validations: list[dt.datetime] = []
    real = Trust._validate

    def counted(self: Trust, *args: object) -> list[x509.Certificate]:
        validations.append(args[-1])  # type: ignore[arg-type]
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Trust, "_validate", counted)
    when = [pki.now]
    monkeypatch.setattr(Trust, "validation_time", lambda self: when[0])
    clock = [1000.0]
    monkeypatch.setattr(_trust.time, "monotonic", lambda: clock[0])
    cert, chain = pki.client.certificate, pki.client.chain

    first = trust.validate_chain(cert, chain)
    when[0] = pki.now + dt.timedelta(days=1)
    assert trust.validate_chain(cert, chain) == first
    assert len(validations) == 1  # remembered: same certificates, within their validity
    trust.validate_chain(cert, [*chain, pki.ca_cert])  # other certificates offered: anew
    assert len(validations) == 2
    clock[0] += 601  # ten minutes later: validated afresh
    trust.validate_chain(cert, chain)
    assert len(validations) == 3
    when[0] = cert.not_valid_after_utc + dt.timedelta(seconds=1)  # past the signer's notAfter
    with pytest.raises(CertificateExpiredError):
        trust.validate_chain(cert, chain)
    when[0] = cert.not_valid_before_utc - dt.timedelta(seconds=1)  # and before its notBefore
    with pytest.raises(CertificateNotYetValidError):
        trust.validate_chain(cert, chain)
    # failures are never remembered
    when[0] = pki.now
    for _ in range(2):
        with pytest.raises(UntrustedCertificateError):
            trust.validate_chain(pki.untrusted_client.certificate)
    count = len(validations)
    uncached = pki.trust_for_gateway(cache_validation=dt.timedelta(0))
    uncached.validate_chain(cert, chain)
    uncached.validate_chain(cert, chain)
    assert len(validations) == count + 2
    with pytest.raises(ValueError, match="cache_validation"):
        pki.trust_for_gateway(cache_validation=dt.timedelta(seconds=-1))


def test_trust_wants_the_email_protection_key_usage(pki: ThrowawayPKI) -> None:
    no_email = pki.issue("AAA676Y", email="x@broker.test", email_protection=False)
    with pytest.raises(UntrustedCertificateError, match="emailProtection"):
        pki.trust_for_gateway().validate_chain(no_email.certificate, no_email.chain)


def test_trust_pins_several_gateway_certificates_for_a_rollover(pki: ThrowawayPKI) -> None:
    successor = pki.issue("CCF E-mail Gateway 2", email=pki.gateway_email)
    trust = Trust(
        _pem(pki.ca_cert), [pki.gateway.certificate, _pem(successor.certificate)], at=pki.now
    )
    assert trust.is_pinned(pki.gateway.certificate) and trust.is_pinned(successor.certificate)
    trust.check_pinned(successor.certificate)
    with pytest.raises(NotPinnedError, match="2 pinned"):
        trust.check_pinned(pki.client.certificate)
    assert isinstance(NotPinnedError("x"), TrustError)


def test_trust_arguments(pki: ThrowawayPKI, tmp_path: Path) -> None:
    paths = pki.write(tmp_path)
    trust = Trust(paths["ca.pem"], str(paths["gateway.pem"]))
    assert trust.gateway_site == "AAA336C" and trust.at is None
    assert abs(trust.validation_time() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        Trust(paths["ca.pem"], paths["gateway.pem"], at=dt.datetime(2026, 1, 1))
    with pytest.raises(CredentialsError, match="at least one"):
        Trust([], paths["gateway.pem"])


# ---------------------------------------------------------------- sign, encrypt, decrypt


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cipher": "aes128_cbc"},
        {"cipher": "aes192_cbc"},
        {"cipher": "tripledes_3key"},
        {"cipher": "aes128_gcm"},
        {"cipher": "aes256_gcm", "key_transport": "rsaes_oaep"},
        {"key_transport": "rsaes_oaep"},
        {"recipient_id": "key_id"},
        {"digest": "sha384"},
        {"digest": "sha512", "rsa_padding": "pss"},
        {"digest": "sha1", "cipher": "tripledes_3key"},  # a legacy peer
        {"digest": "sha1", "rsa_padding": "pss"},
    ],
    ids=repr,
)
def test_sign_and_encrypt_round_trips(pki: ThrowawayPKI, options: dict[str, str]) -> None:
    mail = sign_and_encrypt(
        ENTITY,
        signer=pki.gateway,
        recipients=[pki.client.certificate],
        **options,  # type: ignore[arg-type]
    )
    assert b"\n" not in mail.replace(b"\r\n", b"")
    opened = unwrap(mail, recipients=[pki.client], trust=pki.trust_for_client())
    assert opened.content == ENTITY
    assert opened.signer == pki.gateway.certificate
    assert opened.algorithms.content_encryption == options.get("cipher", "aes256_cbc")
    assert opened.algorithms.key_transport == options.get("key_transport", "rsaes_pkcs1v15")
    assert opened.algorithms.digest == options.get("digest", "sha256")
    expected_sig = "rsassa_pss" if options.get("rsa_padding") == "pss" else "rsassa_pkcs1v15"
    assert opened.algorithms.signature == expected_sig
    assert opened.recipient == pki.client.certificate
    assert opened.chain[-1] == pki.ca_cert


@pytest.mark.parametrize(
    ("options", "fast"),
    [
        ({}, True),
        ({"cipher": "aes128_cbc"}, True),
        ({"cipher": "aes192_cbc"}, False),
        ({"key_transport": "rsaes_oaep"}, False),
        ({"recipient_id": "key_id"}, False),
    ],
    ids=repr,
)
def test_decryption_takes_the_fast_path_when_it_can(
    pki: ThrowawayPKI, monkeypatch: pytest.MonkeyPatch, options: dict[str, str], fast: bool
) -> None:
    from icsclient.smime import _decrypt

    der = encrypt_envelope(
        b"secret",
        [pki.gateway.certificate, pki.client.certificate],
        **options,  # type: ignore[arg-type]
    )
    calls: list[object] = []
    real = _decrypt.pkcs7.pkcs7_decrypt_der

    def counted(*args: object) -> bytes:
        calls.append(args[1])
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_decrypt.pkcs7, "pkcs7_decrypt_der", counted)
    for creds in (pki.client, pki.gateway):
        decrypted = decrypt_envelope(der, [creds])
        assert decrypted.content == b"secret" and decrypted.recipient == creds.certificate
        assert decrypted.key_transport == options.get("key_transport", "rsaes_pkcs1v15")
    # only the named recipient's key is tried
    assert calls == ([pki.client.certificate, pki.gateway.certificate] if fast else [])


def test_ecdsa_signer(pki: ThrowawayPKI) -> None:
    ec_pki = make_test_pki(client_key_type="ec")
    mail = sign_and_encrypt(ENTITY, signer=ec_pki.client, recipients=[ec_pki.gateway.certificate])
    opened = unwrap(mail, recipients=[ec_pki.gateway], trust=ec_pki.trust_for_gateway())
    assert opened.algorithms.signature == "ecdsa"
    with pytest.raises(BuildError, match="RSA signing key"):
        sign_detached(ENTITY, ec_pki.client, rsa_padding="pss")
    with pytest.raises(BuildError, match="only RSA recipients"):
        encrypt_envelope(ENTITY, [ec_pki.client.certificate])


def test_signature_carries_the_chain_and_signing_time(pki: ThrowawayPKI) -> None:
    verified = verify_signed_data(sign_detached(ENTITY, pki.client), ENTITY)
    assert set(verified.certificates) == {pki.client.certificate, pki.issuing_ca.certificate}
    assert verified.signing_time is not None
    assert abs(verified.signing_time - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)


def test_several_recipient_credentials_for_our_own_rollover(pki: ThrowawayPKI) -> None:
    old = pki.issue("AAA676Y", email=pki.client_email)
    der = encrypt_envelope(ENTITY, [pki.client.certificate])
    decrypted = decrypt_envelope(der, [old, pki.client])
    assert decrypted.content == ENTITY and decrypted.recipient == pki.client.certificate
    both = encrypt_envelope(ENTITY, [old.certificate, pki.client.certificate], cipher="aes192_cbc")
    assert decrypt_envelope(both, [pki.client]).content == ENTITY


def test_every_decryption_failure_is_the_same_error(pki: ThrowawayPKI) -> None:
    def flip(data: bytes, at: int) -> bytes:
        changed = bytearray(data)
        changed[at] ^= 1
        return bytes(changed)

    der = encrypt_envelope(ENTITY, [pki.client.certificate])
    gcm = encrypt_envelope(ENTITY, [pki.client.certificate], cipher="aes256_gcm")
    cbc_slow = encrypt_envelope(ENTITY, [pki.client.certificate], cipher="aes192_cbc")
    cases = [
        (der, [pki.gateway]),  # not encrypted to us
        (b"\x30\x03\x02\x01\x00", [pki.client]),  # garbage
        (der[:-20], [pki.client]),  # truncated
        # one bit of the padding flipped, through the block before it: a random change to
        # the last block could leave valid padding (about 1 run in 256)
        (flip(der, -17), [pki.client]),
        (gcm[:-40] + bytes([gcm[-40] ^ 1]) + gcm[-39:], [pki.client]),  # GCM tag fails
        (flip(cbc_slow, -17), [pki.client]),  # fallback path padding
        (der, []),
    ]
    messages = set()
    for data, recipients in cases:
        with pytest.raises(DecryptionError) as info:
            decrypt_envelope(data, recipients)
        messages.add(str(info.value))
        assert info.value.__cause__ is None and info.value.__context__ is None
    assert messages == {GENERIC_MESSAGE}


def test_unwrap_requires_both_layers_by_default(pki: ThrowawayPKI) -> None:
    signed_only = signed_entity(ENTITY, pki.gateway)
    with pytest.raises(NotEncryptedError, match="not encrypted"):
        unwrap(signed_only, recipients=[pki.client], trust=pki.trust_for_client())
    opened = unwrap(
        signed_only, recipients=[], trust=pki.trust_for_client(), require_encryption=False
    )
    assert opened.content == ENTITY and not opened.encrypted
    encrypted_only = enveloped_entity(encrypt_envelope(ENTITY, [pki.client.certificate]))
    with pytest.raises(NotSignedError, match="not signed"):
        unwrap(encrypted_only, recipients=[pki.client], trust=pki.trust_for_client())
    opened = unwrap(
        encrypted_only,
        recipients=[pki.client],
        trust=pki.trust_for_client(),
        require_signature=False,
    )
    assert opened.signer is None and opened.content == ENTITY


def test_verification_names_the_failed_check(pki: ThrowawayPKI) -> None:
    signature = sign_detached(ENTITY, pki.gateway)
    with pytest.raises(SignatureError, match="messageDigest"):
        verify_signed_data(signature, ENTITY.replace(b"AAA336C_1", b"AAA336C_2"))
    flipped = signature[:-1] + bytes([signature[-1] ^ 0x01])
    with pytest.raises(SignatureError, match="does not verify"):
        verify_signed_data(flipped, ENTITY)
    with pytest.raises(SignatureError, match="well-formed"):
        verify_signed_data(b"not a signature", ENTITY)
    with pytest.raises(SignatureError, match="no signed content"):
        verify_signed_data(signature, None)


def test_signature_over_crlf_survives_a_transport_that_dropped_the_crs(pki: ThrowawayPKI) -> None:
    signature = sign_detached(ENTITY, pki.gateway)
    lf_only = ENTITY.replace(b"\r\n", b"\n")
    verified = verify_signed_data(signature, lf_only)
    assert verified.content == ENTITY


# ---------------------------------------------------------------- MIME helpers


@given(st.binary(max_size=2000))
def test_b64_lines_matches_the_standard_encoder(data: bytes) -> None:
    assert b64_lines(data) == base64.encodebytes(data).replace(b"\n", b"\r\n")


@pytest.mark.parametrize("size", [57 * 64 - 1, 57 * 64, 57 * 4096, 57 * 4096 + 1, 1_000_003])
def test_b64_lines_across_its_internal_steps(size: int) -> None:
    data = os.urandom(size)
    assert b64_lines(data) == base64.encodebytes(data).replace(b"\n", b"\r\n")


@given(st.lists(st.sampled_from([b"a", b"b", b"\r", b"\n", b"\r\n", b" "]), max_size=40))
def test_canonicalise_crlf_is_what_openssl_does(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    out = canonicalise_crlf(data)
    # every line ending is CRLF, trailing CRs of each line vanish, nothing else changes
    lines = data.split(b"\n")
    expected = b"\r\n".join(line.rstrip(b"\r") for line in lines[:-1])
    expected += (b"\r\n" if len(lines) > 1 else b"") + lines[-1].rstrip(b"\r")
    assert out == expected
    assert canonicalise_crlf(out) == out


def test_split_multipart_keeps_parts_exactly() -> None:
    body = b"preamble\r\n--XY\r\nA: 1\r\n\r\nfirst\r\n--XY \r\nsecond\n\n--XY--\r\nepilogue"
    parts = split_multipart(body, "XY")
    assert parts.parts == (b"A: 1\r\n\r\nfirst", b"second\n")
    assert parts.preamble == b"preamble" and parts.epilogue == b"epilogue"
    with pytest.raises(MailError, match="closing boundary"):
        split_multipart(b"--XY\r\nno end\r\n", "XY")
    # a boundary-like string inside a line is not a delimiter
    assert split_multipart(b"--XY\r\nsee --XY here\r\n--XY--", "XY").parts == (b"see --XY here",)


def test_parse_entity_handles_lf_and_folded_headers() -> None:
    entity = parse_entity(b"Subject: a\n b\nContent-Type: text/plain\n\nbody")
    assert entity.header("subject") == "a b"
    assert entity.body == b"body" and entity.content_type == "text/plain"
    encoded = parse_entity(b"Subject: =?utf-8?q?caf=C3=A9_AAA?=\r\n\r\n")
    assert encoded.header("subject") == "café AAA"


_HEADER_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;",
                ' name="smime.p7m"',
                "\tboundary=x",
                "Subject: AAA336C_1_AAA676Y",
                "Subject:",
                "Subject: =?utf-8?q?caf=C3=A9?=",
                'Content-Disposition: attachment; filename="a b.edi"',
                "X-Odd:: value:",
                ": no name",
                "From nobody",
                "not a header",
                "Bad\rLine: x",
                "Caf\xe9: x",
                "   ",
            ]
        ),
        st.text(alphabet=' \t:;="abAB-\r\n\xe9', max_size=12),
    ),
    max_size=6,
)


@given(_HEADER_LINES, st.sampled_from(["\r\n", "\n"]))
def test_header_blocks_parse_as_the_email_package_parses_them(lines: list[str], eol: str) -> None:
    import email.parser
    import email.policy

    from icsclient.smime._mime import _parse_headers

    head = eol.join(lines).encode("latin-1")
    if b"\n\n" in head or b"\n\r\n" in head or head.endswith((b"\n", b"\r")):
        return  # parse_entity never passes a block with a blank line in it
    ours = _parse_headers(head)
    theirs = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
        head + b"\r\n\r\n"
    )
    assert ours.items() == theirs.items()
    assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]
    assert ours.get_unixfrom() == theirs.get_unixfrom()
    assert ours.get_content_type() == theirs.get_content_type()
    assert ours.get_params() == theirs.get_params()


@given(st.text(alphabet="ab \t\r\n=?é", max_size=30))
def test_decoding_a_header_without_encoded_words_only_unfolds_it(value: str) -> None:
    from email.header import decode_header, make_header

    from icsclient.smime._mime import decode_words

    if "=?" in value:
        return
    try:
        expected = str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        expected = value
    assert decode_words(value) == re.sub(r"\r?\n[ \t]", " ", expected)


def test_random_envelope_bytes_never_crash_the_decryptor(pki: ThrowawayPKI) -> None:
    for size in (0, 1, 16, 300):
        with pytest.raises(DecryptionError):
            decrypt_envelope(os.urandom(size), [pki.client])


def test_hash_choice_in_signature_digest(pki: ThrowawayPKI) -> None:
    der = sign_detached(ENTITY, pki.client, digest="sha384")
    assert verify_signed_data(der, ENTITY).digest == "sha384"
    with pytest.raises(BuildError, match="sha256, sha384, sha512 or sha1, not 'md5'"):
        sign_detached(ENTITY, pki.client, digest="md5")  # type: ignore[arg-type]
    assert hashes.SHA384().name == "sha384"
