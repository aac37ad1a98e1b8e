"""compose_email / open_email: the CCF e-mail form, the tamper catalogue, round trips."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import given, settings
from hypothesis import strategies as st

from icsclient.edifact import Segment
from icsclient.errors import BuildError, DecryptionError, MailError, SignatureError
from icsclient.ics.envelope import MAX_INTERCHANGE_BYTES, build_interchange
from icsclient.mail import ReceivedEmail, compose_email, open_email
from icsclient.smime import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    Credentials,
    NotEncryptedError,
    NotPinnedError,
    NotSignedError,
    SenderMismatchError,
    UntrustedCertificateError,
    decrypt_envelope,
    encrypt_envelope,
    enveloped_entity,
    signed_entity,
)
from icsclient.smime._mime import CRLF, b64_lines, parse_entity
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

CCF = "AAA336C"
CLIENT = "AAA676Y"


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


def _response(icr: str = "00000000000042", sender: str = CCF, text: str = "OK") -> bytes:
    """An interchange as the CCF sends it to the client."""
    return build_interchange(
        sender,
        [
            (
                "CUSRES",
                [
                    Segment("BGM", ("962", "", "", "AIRCRR"), "X1", "11"),
                    Segment("FTX", "AAO", "", "", text),
                ],
            )
        ],
        icr,
        recipient=CLIENT,
    )


def _request(icr: int = 42) -> bytes:
    return build_interchange(
        CLIENT, [("CUSCAR", [Segment("BGM", ("933", "", "", "AIRCR"), "X1", "9")])], icr
    )


def _from_gateway(pki: ThrowawayPKI, interchange: bytes, **kw: object) -> bytes:
    options: dict[str, object] = {
        "signer": pki.gateway,
        "gateway": pki.client.certificate,
        "mail_from": pki.gateway_email,
        "mail_to": pki.client_email,
    }
    options.update(kw)
    return compose_email(interchange, **options)  # type: ignore[arg-type]


def _open(pki: ThrowawayPKI, raw: bytes, **kw: object) -> ReceivedEmail:
    return open_email(raw, recipient=pki.client, trust=pki.trust_for_client(**kw))


def _attachment(interchange: bytes, name: str = "AAA676Y_00000000000042.edi") -> bytes:
    n = name.encode()
    return (
        b'Content-Type: application/EDIFACT; name="' + n + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="' + n + b'"\r\n\r\n' + b64_lines(interchange)
    )


def _mail(
    pki: ThrowawayPKI,
    inner: bytes,
    *,
    subject: str = "AAA336C_00000000000042_AAA676Y",
    signer: Credentials | None = None,
    sign: bool = True,
    encrypt: bool = True,
) -> bytes:
    """Hand-build a message around any inner entity (for the tamper catalogue)."""
    body = signed_entity(inner, signer or pki.gateway) if sign else inner
    if encrypt:
        body = enveloped_entity(encrypt_envelope(body, [pki.client.certificate]))
    head = f"From: {pki.gateway_email}\r\nTo: {pki.client_email}\r\nSubject: {subject}\r\n"
    return head.encode() + b"MIME-Version: 1.0\r\n" + body


def _reencrypt(pki: ThrowawayPKI, raw: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """Decrypt a composed message (as its recipient), alter the signed entity, re-encrypt."""
    top = parse_entity(raw)
    inner = decrypt_envelope(top.decoded_body(), [pki.client]).content
    body = enveloped_entity(encrypt_envelope(change(inner), [pki.client.certificate]))
    return top.raw_headers + CRLF + body


# ---------------------------------------------------------------- compose


def test_composed_message_has_the_ccf_form(pki: ThrowawayPKI) -> None:
    when = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone.utc)
    raw = compose_email(
        _request(42),
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to="CCF Gateway <cargo@ccf.test>",
        date=when,
        message_id="<abc.1@broker.test>",
    )
    assert b"\n" not in raw.replace(b"\r\n", b"") and raw.endswith(b"\r\n")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
    assert msg["Subject"] == "AAA676Y_42_AAA336C"
    assert msg["From"] == pki.client_email
    assert msg["To"] == "CCF Gateway <cargo@ccf.test>"
    assert msg["Message-ID"] == "<abc.1@broker.test>"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"] == "Sun, 01 Mar 2026 09:30:00 +0000"
    assert msg.get_content_type() == "application/pkcs7-mime"
    assert msg.get_param("smime-type") == "enveloped-data"
    # inside: multipart/signed around the one application/EDIFACT part
    inner = parse_entity(decrypt_envelope(parse_entity(raw).decoded_body(), [pki.gateway]).content)
    assert inner.content_type == "multipart/signed"
    assert inner.param("protocol") == "application/pkcs7-signature"
    assert inner.param("micalg") == "sha-256"
    received = open_email(raw, recipient=pki.gateway, trust=pki.trust_for_gateway())
    assert received.filename == "AAA676Y_42.edi"
    assert received.interchange == _request(42)
    assert received.subject.creator == CLIENT and received.subject.icr == "42"
    assert received.message_id == "<abc.1@broker.test>"
    assert received.date == when


def test_from_the_ccf_the_file_is_named_after_the_recipient(pki: ThrowawayPKI) -> None:
    received = _open(pki, _from_gateway(pki, _response()))
    assert received.filename == "AAA676Y_00000000000042.edi"
    assert received.subject.text == "AAA336C_00000000000042_AAA676Y"
    assert received.sender == CCF and received.control_reference == "00000000000042"
    assert received.signer == pki.gateway.certificate
    assert received.recipient == pki.client.certificate
    assert received.signing_time is not None and not received.plain_text


def test_compose_refuses_what_the_ccf_would_not_take(pki: ThrowawayPKI) -> None:
    with pytest.raises(BuildError, match="at most"):
        _from_gateway(pki, b"U" * (MAX_INTERCHANGE_BYTES + 1))
    with pytest.raises(BuildError, match="not a valid interchange"):
        _from_gateway(pki, b"this is not EDIFACT")
    with pytest.raises(BuildError, match="not a valid interchange"):
        _from_gateway(pki, _response()[:-10])  # UNZ cut off
    with pytest.raises(BuildError, match="not a valid interchange"):
        _from_gateway(pki, b"hello", validate=False)
    with pytest.raises(BuildError, match="bytes"):
        _from_gateway(pki, "UNB+...")  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="timezone-aware"):
        _from_gateway(pki, _response(), date=dt.datetime(2026, 1, 1))
    with pytest.raises(BuildError, match="message_id"):
        _from_gateway(pki, _response(), message_id="<a@b>\r\nBcc: x@y.z")


@pytest.mark.parametrize(
    "field, value",
    [
        ("mail_from", "edi@broker.test\r\nBcc: spy@evil.test"),
        ("mail_from", "edi@broker.test\nX-Injected: 1"),
        ("mail_to", "a@b.test, c@d.test"),
        ("mail_to", "not an address"),
        ("mail_to", "cargo@ccf.test>\r\n\r\nbody text"),
        ("mail_to", "cärgo@ccf.test"),
        ("mail_from", ""),
    ],
)
def test_no_header_injection_through_addresses(pki: ThrowawayPKI, field: str, value: str) -> None:
    with pytest.raises(BuildError, match=field):
        _from_gateway(pki, _response(), **{field: value})


def test_copy_to_self_can_be_read_back_by_the_sender(pki: ThrowawayPKI) -> None:
    raw = compose_email(
        _request(),
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
        copy_to_self=True,
    )
    der = parse_entity(raw).decoded_body()
    assert (
        decrypt_envelope(der, [pki.client]).content == decrypt_envelope(der, [pki.gateway]).content
    )
    plain = compose_email(
        _request(),
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
    )
    with pytest.raises(DecryptionError):
        decrypt_envelope(parse_entity(plain).decoded_body(), [pki.client])


def test_compose_options_reach_the_wire(pki: ThrowawayPKI) -> None:
    raw = _from_gateway(pki, _response(), digest="sha512", rsa_padding="pss", cipher="aes128_cbc")
    algorithms = _open(pki, raw).algorithms
    assert (algorithms.digest, algorithms.signature, algorithms.content_encryption) == (
        "sha512",
        "rsassa_pss",
        "aes128_cbc",
    )


# ---------------------------------------------------------------- the tamper catalogue


def test_tamper_content_byte_flipped(pki: ThrowawayPKI) -> None:
    raw = _from_gateway(pki, _response())

    def flip(inner: bytes) -> bytes:
        at = inner.index(b"VU5B")  # the base64 of "UNA" inside the signed part
        return inner[:at] + b"WU5B" + inner[at + 4 :]

    with pytest.raises(SignatureError, match="messageDigest"):
        _open(pki, _reencrypt(pki, raw, flip))


def test_tamper_signature_byte_flipped(pki: ThrowawayPKI) -> None:
    raw = _from_gateway(pki, _response())

    def flip(inner: bytes) -> bytes:
        entity = parse_entity(inner)
        boundary = entity.param("boundary")
        assert boundary
        head, sep, tail = inner.partition(b'filename="smime.p7s"\r\n\r\n')
        tail = tail[: tail.index(b"--" + boundary.encode())]
        sig = parse_entity(b"Content-Transfer-Encoding: base64\r\n\r\n" + tail).decoded_body()
        sig = sig[:-5] + bytes([sig[-5] ^ 0x40]) + sig[-4:]
        return head + sep + b64_lines(sig) + b"--" + boundary.encode() + b"--\r\n"

    with pytest.raises(SignatureError, match="does not verify"):
        _open(pki, _reencrypt(pki, raw, flip))


def test_tamper_signed_with_a_key_that_is_not_the_certificates(pki: ThrowawayPKI) -> None:
    inner = _attachment(_response())
    # cryptography's builder does not check that key and certificate belong together
    forged = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(inner)
        .add_signer(pki.gateway.certificate, pki.client.private_key, hashes.SHA256())  # type: ignore[arg-type]
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
    genuine = signed_entity(inner, pki.gateway)
    sig_start = genuine.index(b'filename="smime.p7s"\r\n\r\n') + len(
        b'filename="smime.p7s"\r\n\r\n'
    )
    sig_end = genuine.rindex(b"------=_icsclient_")
    body = genuine[:sig_start] + b64_lines(forged) + genuine[sig_end:]
    raw = _mail(pki, body, sign=False)
    with pytest.raises(SignatureError, match="does not verify"):
        _open(pki, raw)


def test_tamper_wrong_recipient(pki: ThrowawayPKI) -> None:
    raw = _from_gateway(pki, _response(), gateway=pki.gateway.certificate)
    with pytest.raises(DecryptionError):
        _open(pki, raw)


def test_tamper_unsigned(pki: ThrowawayPKI) -> None:
    with pytest.raises(NotSignedError):
        _open(pki, _mail(pki, _attachment(_response()), sign=False))


def test_tamper_unencrypted(pki: ThrowawayPKI) -> None:
    with pytest.raises(NotEncryptedError):
        _open(pki, _mail(pki, _attachment(_response()), encrypt=False))
    # allowed explicitly, the same message opens
    received = open_email(
        _mail(pki, _attachment(_response()), encrypt=False),
        recipient=pki.client,
        trust=pki.trust_for_client(),
        require_encryption=False,
    )
    assert received.interchange == _response() and not received.encrypted


def test_tamper_untrusted_signer(pki: ThrowawayPKI) -> None:
    with pytest.raises(UntrustedCertificateError):
        _open(pki, _from_gateway(pki, _response(), signer=pki.untrusted_client))


def test_tamper_expired_signer(pki: ThrowawayPKI) -> None:
    with pytest.raises(CertificateExpiredError):
        _open(pki, _from_gateway(pki, _response(), signer=pki.expired_client))


def test_signer_not_yet_valid(pki: ThrowawayPKI) -> None:
    raw = _from_gateway(pki, _response())
    with pytest.raises(CertificateNotYetValidError):
        _open(pki, raw, at=pki.now - dt.timedelta(days=3))


def test_tamper_valid_signer_that_is_not_the_pinned_gateway(pki: ThrowawayPKI) -> None:
    impostor = pki.issue("CCF E-mail Gateway", email=pki.gateway_email)
    with pytest.raises(NotPinnedError):
        _open(pki, _from_gateway(pki, _response(), signer=impostor))
    with pytest.raises(NotPinnedError):  # the client's own valid certificate
        _open(pki, _from_gateway(pki, _response(), signer=pki.client))


def test_tamper_unb_sender_not_the_gateway(pki: ThrowawayPKI) -> None:
    raw = _from_gateway(pki, _response(sender="AAA999Z"))
    with pytest.raises(SenderMismatchError, match="AAA999Z"):
        _open(pki, raw)


def test_tamper_subject_disagrees_with_the_unb(pki: ThrowawayPKI) -> None:
    raw = _from_gateway(pki, _response())
    for wrong in (
        b"AAA336C_00000000000043_AAA676Y",
        b"AAA336C_00000000000042_AAA111A",
        b"AAA337C_00000000000042_AAA676Y",
    ):
        with pytest.raises(MailError, match="disagrees with the UNB"):
            _open(pki, raw.replace(b"AAA336C_00000000000042_AAA676Y", wrong, 1))
    with pytest.raises(MailError, match="subject"):
        _open(pki, raw.replace(b"AAA336C_00000000000042_AAA676Y", b"AAA336C-42-AAA676Y", 1))
    with pytest.raises(MailError, match="Subject headers"):
        _open(pki, raw.replace(b"Subject:", b"X-Subject:", 1))


def _mixed(*parts: bytes) -> bytes:
    head = b'Content-Type: multipart/mixed; boundary="MIX"\r\n\r\n'
    return head + b"".join(b"--MIX\r\n" + p + b"\r\n" for p in parts) + b"--MIX--\r\n"


def test_tamper_two_attachments(pki: ThrowawayPKI) -> None:
    inner = _mixed(_attachment(_response()), _attachment(_response(), "AAA676Y_43.edi"))
    with pytest.raises(MailError, match="2 attachments"):
        _open(pki, _mail(pki, inner))


def test_tamper_text_in_the_body(pki: ThrowawayPKI) -> None:
    text = b"Content-Type: text/plain\r\n\r\nPlease find attached.\r\n"
    with pytest.raises(MailError, match="body text"):
        _open(pki, _mail(pki, _mixed(text, _attachment(_response()))))
    with pytest.raises(MailError, match="body text"):
        _open(pki, _mail(pki, text))


def test_a_single_part_multipart_mixed_is_accepted(pki: ThrowawayPKI) -> None:
    received = _open(pki, _mail(pki, _mixed(_attachment(_response()))))
    assert received.interchange == _response()


def test_plain_text_response_is_recognised(pki: ThrowawayPKI) -> None:
    text = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nInterchange 42 received \xe9.\r\n"
    received = _open(pki, _mail(pki, text, subject="Interchange 42 from AAA676Y received"))
    assert received.plain_text and received.interchange is None
    assert received.text == "Interchange 42 received é.\r\n"
    assert received.subject.plain_text
    # a plain-text subject over an interchange attachment is not the CCF form
    with pytest.raises(MailError, match="plain-text response subject"):
        _open(pki, _mail(pki, _attachment(_response()), subject="Interchange 42 received"))


def test_malformed_interchange_inside_a_good_envelope(pki: ThrowawayPKI) -> None:
    with pytest.raises(MailError, match="not an interchange"):
        _open(pki, _mail(pki, _attachment(b"UNH+1+CUSRES:D:99B:UN'")))


# ---------------------------------------------------------------- round trips


_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_categories=("Cc",)),
    min_size=1,
    max_size=300,
)


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(_TEXT, min_size=1, max_size=5),
    icr=st.integers(min_value=1, max_value=99_999_999_999_999),
    test=st.booleans(),
)
def test_compose_open_round_trip(pki: ThrowawayPKI, texts: list[str], icr: int, test: bool) -> None:
    interchange = build_interchange(
        CLIENT,
        [
            (
                "CUSCAR",
                [
                    Segment("BGM", ("933", "", "", "AIRCR"), "X1", "9"),
                    *(Segment("FTX", "AAA", "", "", t) for t in texts),
                ],
            )
        ],
        icr,
        test=test,
    )
    raw = compose_email(
        interchange,
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
    )
    received = open_email(raw, recipient=pki.gateway, trust=pki.trust_for_gateway())
    assert received.interchange == interchange
    assert received.subject.icr == str(icr)
    # and a transport that turns every CRLF into LF does not break it
    lf = open_email(
        raw.replace(b"\r\n", b"\n"), recipient=pki.gateway, trust=pki.trust_for_gateway()
    )
    assert lf.interchange == interchange


def test_received_email_repr_is_helpful_and_short(pki: ThrowawayPKI) -> None:
    text = repr(_open(pki, _from_gateway(pki, _response())))
    assert "AAA336C_00000000000042_AAA676Y" in text and "UNB" not in text


# ---------------------------------------------------------------- reading the UNB


def _unb_by_tokenizer(data: bytes) -> tuple[str, str, str, str] | str:
    from icsclient.edifact import iter_segments
    from icsclient.errors import ReceivedError

    try:
        first = next(iter_segments(data, chunk_size=4096), None)
    except ReceivedError:
        return "error"
    if first is None or first.tag != "UNB":
        return "error"
    return first.get(1, 0), first.get(1, 2), first.get(2, 0), first.get(4)


@pytest.mark.parametrize(
    "data",
    [
        b"UNB+UNOC:3+AAA676Y::AAA676Y+AAA336C+240127:0730+123++++1'UNZ+0+123'",
        b"UNA:+.? 'UNB+UNOC:3+AAA676Y+AAA336C+240127:0730+00000000000042'",
        b"UNA#*.! ~UNB*UNOC#3*AAA676Y#X#OWNER*AAA336C*240127#0730*7~",
        b"UNB+UNOC:3+A?+B+AAA336C+240127:0730+9'",  # a release: the tokenizer's job
        b"\xef\xbb\xbfUNB+UNOC:3+AAA676Y+AAA336C+240127:0730+5'",  # a BOM first
        b"UNA:+.? '\r\nUNB+UNOC:3+AAA676Y+AAA336C+240127:0730+5'",
        b"UNB+UNOC:3+AAA\xe96Y+AAA336C+240127:0730+5'",
        b"UNB'",
        b"UNH+1+CUSCAR'",
    ],
)
def test_the_unb_is_read_as_the_tokenizer_reads_it(data: bytes) -> None:
    from icsclient.mail import _quick_unb, _unb_fields

    quick = _quick_unb(data)
    assert quick is None or quick == _unb_by_tokenizer(data)
    try:
        fields: object = _unb_fields(data)
    except MailError:
        fields = "error"
    except Exception:  # the tokenizer's own errors
        fields = "error"
    assert fields == _unb_by_tokenizer(data)


@given(
    st.text(alphabet="UNBA:+.?' \r\n#*~!0123456789XYZ\xe9", max_size=60),
    st.booleans(),
)
def test_the_quick_unb_reader_agrees_with_the_tokenizer(text: str, unb_first: bool) -> None:
    from icsclient.mail import _quick_unb

    data = (("UNB+" if unb_first else "") + text).encode("latin-1")
    quick = _quick_unb(data)
    # the quick reader reads the UNB alone: what follows it is the interchange parser's
    unb = data[: data.find(b"'") + 1]
    assert quick is None or quick == _unb_by_tokenizer(unb)
