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

from icsclient.mail import _header_date
from icsclient.mail import format_date as _format_date
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


_OFFSETS = st.timedeltas(min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23))


def _aware(
    min_year: int, offsets: st.SearchStrategy[dt.timedelta]
) -> st.SearchStrategy[dt.datetime]:
    """Aware datetimes from ``min_year`` on, their offsets drawn from ``offsets``."""
    return st.datetimes(
        min_value=dt.datetime(min_year, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.builds(dt.timezone, offsets),
    )


@settings(max_examples=300, deadline=None)
@given(_aware(1, _OFFSETS))
def test_date_header_is_what_email_utils_writes(when: dt.datetime) -> None:
    assert _format_date(when) == email.utils.format_datetime(when)


def _email_utils_date(value: str) -> dt.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


@settings(max_examples=300, deadline=None)
@given(_aware(1000, _OFFSETS.map(lambda d: dt.timedelta(minutes=d // dt.timedelta(minutes=1)))))
def test_date_header_is_read_as_email_utils_reads_it(when: dt.datetime) -> None:
    header = _format_date(when.replace(microsecond=0))
    got = _header_date(header)
    assert got == _email_utils_date(header) == when.replace(microsecond=0)
    assert got is not None and got.utcoffset() == when.utcoffset()


@pytest.mark.parametrize(
    "header",
    [
        "Sat, 27 Jan 2024 03:00:00 -0000",  # "no zone": a naive datetime, from email.utils
        "Sat, 27 Jan 2024 03:00:00 +0000",
        "Sat, 27 Jan 2024 03:00:00 -0530",
        "Sat, 31 Feb 2024 03:00:00 +0000",  # no such day: unreadable either way
        "27 Jan 2024 03:00:00 +1100",  # no weekday
        "Sat, 27 Jan 24 03:00:00 +1100",  # two-digit year
        "Sat, 27 Jan 2024 03:00 GMT",
        "Sat, 27 Jan 2024 03:00:00 +0000 (UTC)",
        "not a date",
    ],
)
def test_other_date_headers_are_read_as_email_utils_reads_them(header: str) -> None:
    got, expected = _header_date(header), _email_utils_date(header)
    assert got == expected
    assert (got is None) == (expected is None)
    if got is not None and expected is not None:
        assert got.utcoffset() == expected.utcoffset()


# ------------------------------------------------------------------ SMTP DATA in blocks


def _converse(port: int, chunks: list[bytes]) -> list[bytes]:
    """Send each of ``chunks`` after the reply to the one before (in 700-byte writes);
    return the replies (the last line of each)."""
    import socket
    import time

    replies: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        stream = sock.makefile("rb")
        replies.append(stream.readline())
        for chunk in chunks:
            for i in range(0, len(chunk), 700):  # in several writes, as TCP may deliver it
                sock.sendall(chunk[i : i + 700])
                time.sleep(0.001)
            line = stream.readline()
            while line[3:4] == b"-":  # a multi-line reply: keep its last line
                line = stream.readline()
            replies.append(line)
            if chunk.endswith(b"QUIT\r\n") and b"\r\n.\r\n" in chunk:
                replies.append(stream.readline())  # QUIT pipelined after the data
    return replies


_DATA_CASES = {
    "plain": b"Subject: x\r\n\r\nhello\r\n",
    "empty": b"",
    "dots": b".\r\n..\r\n.x\r\nmid.\r\nend..\r\n...\r\n",
    "dot first line": b".hidden\r\nnext\r\n",
    "bare lf dot": b"a\n.\r\nb\n.x\r\n",
    "line of 999": b"x" * 999 + b"\r\n",
    "line of 1000": b"x" * 1000 + b"\r\n",
    "long lines": (b"y" * 76 + b"\r\n") * 200 + b"z" * 5000 + b"\r\n",
    "big": (b"A" * 76 + b"\r\n") * 3000,
    "too big": (b"B" * 76 + b"\r\n") * 30000,
}


def _stuffed(data: bytes) -> bytes:
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)


@pytest.mark.parametrize("case", sorted(_DATA_CASES))
def test_data_read_in_blocks_is_what_aiosmtpd_reads_line_by_line(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.smtp import SMTP

    from icsclient.testing import ccf

    payload = _DATA_CASES[case]
    conversation = [
        b"EHLO test\r\n",
        b"MAIL FROM:<a@b.test>\r\n",
        b"RCPT TO:<c@d.test>\r\n",
        b"DATA\r\n",
        _stuffed(payload) + b".\r\n",
        b"MAIL FROM:<a@b.test>\r\n",
        b"RCPT TO:<c@d.test>\r\n",
        b"DATA\r\n",
        b"second\r\n.\r\nQUIT\r\n",
    ]
    results = []
    for server in ("ours", "aiosmtpd"):
        if server == "aiosmtpd":
            monkeypatch.setattr(ccf, "_fast_data_smtp", lambda: SMTP)
        with ccf.SmtpInbox(data_size_limit=1_000_000) as inbox:
            replies = _converse(inbox.port, conversation)
            results.append(([r[:3] for r in replies], inbox.messages))
    ours, theirs = results
    assert ours == theirs
    codes, messages = ours
    if case in ("too big", "line of 1000", "long lines"):
        assert codes[5] in (b"552", b"500") and len(messages) == 1
    else:
        assert codes[5] == b"250"
        assert messages[0][2] == payload
    assert messages[-1][2] == b"second\r\n"
    assert codes[-1] == b"221"
