"""Interoperability with OpenSSL, both directions.

Inbound: every message under ``tests/vectors/smime/messages`` was made by ``openssl cms``
or ``openssl smime`` (see ``make_vectors.py`` beside them); :func:`open_email` must open
each and return the interchange byte for byte.  These run without ``openssl``.

Live (skipped without the ``openssl`` command): what :func:`compose_email` makes,
``openssl cms -decrypt`` then ``-verify`` accept and return byte-identical content; and
messages the installed OpenSSL makes right now open too.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms

from icsclient.edifact import Segment
from icsclient.ics.envelope import build_interchange
from icsclient.mail import compose_email, open_email
from icsclient.smime import Credentials, Trust, decrypt_envelope, encrypt_envelope
from icsclient.smime._mime import parse_entity
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

VECTORS = Path(__file__).parent / "vectors" / "smime"
MANIFEST: dict[str, Any] = json.loads((VECTORS / "manifest.json").read_text())
AT = dt.datetime.fromisoformat(MANIFEST["at"])
PKI = VECTORS / "pki"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@pytest.fixture(scope="module")
def client() -> Credentials:
    return Credentials.from_pem(
        PKI / "client.pem", PKI / "client.key", chain=PKI / "client-chain.pem"
    )


def _trust(spec: dict[str, Any]) -> Trust:
    extra = {"intermediates": PKI / spec["intermediates"]} if "intermediates" in spec else {}
    return Trust(PKI / "ca.pem", PKI / spec.get("pin", "gateway.pem"), at=AT, **extra)


def _body_der(name: str) -> bytes:
    entity = parse_entity((VECTORS / "messages" / f"{name}.eml").read_bytes())
    return entity.decoded_body()


@pytest.mark.parametrize("name", sorted(MANIFEST["messages"]))
def test_opens_every_openssl_vector(name: str, client: Credentials) -> None:
    spec = MANIFEST["messages"][name]
    raw = (VECTORS / "messages" / f"{name}.eml").read_bytes()
    received = open_email(raw, recipient=client, trust=_trust(spec))
    assert received.subject.text == spec["subject"]
    if spec.get("plain_text"):
        assert received.plain_text
        assert received.interchange is None
        assert received.text is not None
        assert received.text.replace("\r\n", "\n") == (VECTORS / "response.txt").read_text()
    else:
        assert received.interchange == (VECTORS / "interchange.edi").read_bytes()
        assert received.filename == "AAA676Y_00000000000042.edi"
        assert received.sender == "AAA336C"
    for field, value in spec["expect"].items():
        assert getattr(received.algorithms, field) == value, field
    assert received.signer is not None
    assert received.encrypted


def test_the_quick_verification_path_agrees_with_the_full_one(
    client: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every OpenSSL vector opens alike with and without the DER quick path of verification,
    and the quick path takes the common forms (the others fall back to the full path)."""
    from icsclient.smime import _verify

    quick = _verify._quick_verify
    took: list[str] = []
    results: dict[str, list[object]] = {}
    for use_quick in (True, False):
        for name, spec in sorted(MANIFEST["messages"].items()):

            def counted(*args: Any, name: str = name, use_quick: bool = use_quick) -> Any:
                found = quick(*args) if use_quick else None
                if found is not None:
                    took.append(name)
                return found

            monkeypatch.setattr(_verify, "_quick_verify", counted)
            raw = (VECTORS / "messages" / f"{name}.eml").read_bytes()
            got = open_email(raw, recipient=client, trust=_trust(spec))
            results.setdefault(name, []).append(got)
    for name, (fast, full) in results.items():
        assert fast == full, name
        assert fast.signing_time == full.signing_time, name  # type: ignore[attr-defined]
    assert {"default", "aes128", "sha384", "sha512", "opaque", "bare_lf"} <= set(took)
    assert not {"ecdsa", "rsa_pss", "signer_keyid", "no_attributes", "opaque_ber"} & set(took)


def test_vectors_really_are_the_variants_they_claim(client: Credentials) -> None:
    """Guard against a vector silently degrading to the default (e.g. an OpenSSL change)."""
    ber = _body_der("ber_stream")
    assert ber[1] == 0x80  # indefinite length
    keyid = cms.ContentInfo.load(_body_der("recipient_keyid"))
    rid = keyid["content"]["recipient_infos"][0].chosen["rid"]
    assert rid.name == "subject_key_identifier"
    gcm = cms.ContentInfo.load(_body_der("aes256_gcm"))
    assert gcm["content_type"].native == "authenticated_enveloped_data"
    bare = decrypt_envelope(_body_der("bare_lf"), [client]).content
    assert b"\n" in bare and b"\r\n" not in bare
    opaque = parse_entity(decrypt_envelope(_body_der("opaque"), [client]).content)
    assert opaque.param("smime-type") == "signed-data"
    signer = parse_entity(decrypt_envelope(_body_der("signer_keyid"), [client]).content)
    assert signer.content_type == "multipart/signed"


def test_pkcs12_bundle_made_by_openssl_loads() -> None:
    creds = Credentials.from_pkcs12(PKI / "client.p12", "correct horse")
    assert (
        creds.certificate
        == Credentials.from_pem(PKI / "client.pem", PKI / "client.key").certificate
    )
    assert len(creds.chain) == 1


# ---------------------------------------------------------------- live OpenSSL


def _openssl(*args: str | Path, stdin: bytes | None = None) -> bytes:
    assert OPENSSL is not None
    done = subprocess.run([OPENSSL, *map(str, args)], input=stdin, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _openssl_decrypt(mail: bytes, paths: dict[str, Path], who: str, tmp_path: Path) -> bytes:
    (tmp_path / "mail.eml").write_bytes(mail)
    return _openssl(
        "cms", "-decrypt", "-in", tmp_path / "mail.eml",
        "-recip", paths[f"{who}.pem"], "-inkey", paths[f"{who}.key"],
    )  # fmt: skip


def _compose(pki: ThrowawayPKI, interchange: bytes, **options: Any) -> bytes:
    return compose_email(
        interchange,
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
        **options,
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> tuple[ThrowawayPKI, dict[str, Path]]:
    pki = make_test_pki()
    return pki, pki.write(tmp_path_factory.mktemp("pki"))


def _interchange(size: int = 0) -> bytes:
    text = "FREE TEXT WITH ?+ AND ?: AND ?' " * (size // 32 + 1) if size else "HELLO"
    return build_interchange(
        "AAA676Y",
        [
            (
                "CUSCAR",
                [
                    Segment("BGM", ("933", "", "", "AIRCR"), "X1", "9"),
                    Segment("FTX", "AAA", "", "", text[: max(size, 5)]),
                ],
            )
        ],
        7,
    )


OUTBOUND = {
    "default": {},
    "aes128": {"cipher": "aes128_cbc"},
    "sha512_pss": {"digest": "sha512", "rsa_padding": "pss"},
    "sha384": {"digest": "sha384"},
    "sha1_des3": {"digest": "sha1", "cipher": "tripledes_3key"},  # a legacy peer
    "sha1_pss": {"digest": "sha1", "rsa_padding": "pss"},
    "des3_oaep": {"cipher": "tripledes_3key", "key_transport": "rsaes_oaep"},
    "aes256_gcm": {"cipher": "aes256_gcm"},
    "aes192": {"cipher": "aes192_cbc"},
}


@needs_openssl
@pytest.mark.parametrize("variant", sorted(OUTBOUND))
def test_openssl_decrypts_and_verifies_what_we_compose(
    variant: str, live: tuple[ThrowawayPKI, dict[str, Path]], tmp_path: Path
) -> None:
    pki, paths = live
    interchange = _interchange(3000)
    mail = _compose(pki, interchange, **OUTBOUND[variant])
    signed = _openssl_decrypt(mail, paths, "gateway", tmp_path)
    content = _openssl(
        "cms", "-verify", "-CAfile", paths["ca.pem"], "-purpose", "smimesign", stdin=signed
    )
    entity = parse_entity(content)
    assert entity.content_type == "application/edifact"
    assert entity.filename == "AAA676Y_7.edi"
    assert base64.b64decode(entity.body) == interchange
    # byte-identical: the verified content is the entity we signed, CRLF and all
    assert content.startswith(b'Content-Type: application/EDIFACT; name="AAA676Y_7.edi"\r\n')
    assert content.endswith(b"\r\n") and b"\n" not in content.replace(b"\r\n", b"")


@needs_openssl
def test_openssl_verifies_ecdsa_and_reads_the_copy_to_self(tmp_path: Path) -> None:
    pki = make_test_pki(client_key_type="ec")
    paths = pki.write(tmp_path)
    mail = _compose(pki, _interchange())
    signed = _openssl_decrypt(mail, paths, "gateway", tmp_path)
    _openssl("cms", "-verify", "-CAfile", paths["ca.pem"], stdin=signed)

    rsa_pki = make_test_pki()
    rsa_paths = rsa_pki.write(tmp_path / "rsa")
    copy = _compose(rsa_pki, _interchange(), copy_to_self=True)
    for who in ("client", "gateway"):
        _openssl_decrypt(copy, rsa_paths, who, tmp_path)


LIVE_INBOUND = {
    "default": (["-binary"], ["-aes256"], []),
    "gcm_oaep": (
        ["-binary", "-keyopt", "rsa_padding_mode:pss"],
        ["-aes-256-gcm"],
        ["-keyopt", "rsa_padding_mode:oaep"],
    ),
    "ber_keyid": (
        ["-binary", "-nodetach", "-stream", "-outform", "SMIME"],
        ["-des3", "-stream", "-keyid"],
        [],
    ),
}


@needs_openssl
@pytest.mark.parametrize("variant", sorted(LIVE_INBOUND))
def test_we_open_what_the_installed_openssl_makes(
    variant: str, live: tuple[ThrowawayPKI, dict[str, Path]], tmp_path: Path
) -> None:
    pki, paths = live
    interchange = build_interchange(
        "AAA336C",
        [("CUSRES", [Segment("BGM", ("962", "", "", "AIRCRR"), "X1", "11")])],
        "00000000000009",
        recipient="AAA676Y",
    )
    entity = (
        b'Content-Type: application/EDIFACT; name="AAA676Y_00000000000009.edi"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(interchange).replace(b"\n", b"\r\n")
    )
    (tmp_path / "entity").write_bytes(entity)
    sign, encrypt, keyopt = LIVE_INBOUND[variant]
    signed = _openssl(
        "cms",
        "-sign",
        "-in",
        tmp_path / "entity",
        "-signer",
        paths["gateway.pem"],
        "-inkey",
        paths["gateway.key"],
        "-certfile",
        paths["gateway-chain.pem"],
        *sign,
    )
    recipient = ["-recip", paths["client.pem"], *keyopt] if keyopt else [paths["client.pem"]]
    mail = _openssl(
        "cms",
        "-encrypt",
        *encrypt,
        "-subject",
        "AAA336C_00000000000009_AAA676Y",
        *recipient,
        stdin=signed,
    )
    received = open_email(mail, recipient=pki.client, trust=pki.trust_for_client())
    assert received.interchange == interchange


@needs_openssl
@pytest.mark.parametrize("cipher", ["aes256_cbc", "tripledes_3key"])
def test_openssl_decrypts_our_envelope_to_recipients_named_by_key_id(
    cipher: str, live: tuple[ThrowawayPKI, dict[str, Path]], tmp_path: Path
) -> None:
    pki, paths = live
    content = bytes(range(256)) * 700  # 179,200 bytes: several cipher steps, 3-byte lengths
    der = encrypt_envelope(
        content,
        [pki.client.certificate, pki.gateway.certificate],
        cipher=cipher,  # type: ignore[arg-type]
        recipient_id="key_id",
    )
    (tmp_path / "env.der").write_bytes(der)
    for who in ("client", "gateway"):
        plain = _openssl(
            "cms", "-decrypt", "-inform", "DER", "-in", tmp_path / "env.der",
            "-recip", paths[f"{who}.pem"], "-inkey", paths[f"{who}.key"],
        )  # fmt: skip
        assert plain == content
