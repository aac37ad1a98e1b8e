"""Make the OpenSSL-produced S/MIME test vectors under ``tests/vectors/smime/``.

Run from the repository root (needs the ``openssl`` 3.x command and the package)::

    python tests/vectors/smime/make_vectors.py

It makes a fixed throw-away PKI (written to ``pki/``), an inbound CCF interchange and a
plain-text response, then has ``openssl cms`` / ``openssl smime`` sign them as the
gateway and encrypt them to the client in every variant :func:`icsclient.open_email` must
accept (``messages/<name>.eml``).  ``manifest.json`` lists each message with the
algorithms it uses and any trust setting it needs.  The tests read only the files, so they
run where no ``openssl`` is installed; rerunning replaces every file (new keys, new
ciphertexts).  Signing times are the real time of the run; certificates are valid from
2026-01-01 for ten years, and the tests validate at :data:`AT`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from icsclient.testing.pki import make_test_pki  # noqa: E402

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
AT = "2026-06-01T00:00:00+00:00"
"""The validation time the tests use for these vectors."""

INTERCHANGE = (
    b"UNA:+.? 'UNB+UNOC:3+AAA336C::AAA336C+AAA676Y+260101:1200+00000000000042'"
    b"UNH+1+CONTRL:D:3:UN'UCI+42+AAA676Y::AAA676Y+AAA336C+7'UNT+3+1'"
    b"UNZ+1+00000000000042'"
)
SUBJECT = "AAA336C_00000000000042_AAA676Y"
FILENAME = "AAA676Y_00000000000042.edi"
PLAIN_SUBJECT = "Interchange AAA676Y 42 received"
P12_PASSWORD = "correct horse"
"""The password of ``pki/client.p12``."""
PLAIN_TEXT = b"Your interchange 42 from AAA676Y was received by the CCF.\nNo errors.\n"


def entity(eol: bytes = b"\r\n") -> bytes:
    """The application/EDIFACT attachment entity as the CCF would send it."""
    lines = [
        b'Content-Type: application/EDIFACT; name="' + FILENAME.encode() + b'"',
        b"Content-Transfer-Encoding: base64",
        b'Content-Disposition: attachment; filename="' + FILENAME.encode() + b'"',
        b"",
        *base64.encodebytes(INTERCHANGE).splitlines(),
        b"",
    ]
    return eol.join(lines)


def run(*args: str | Path, stdin: bytes | None = None) -> bytes:
    """Run one openssl command; fail loudly."""
    cmd = ["openssl", *map(str, args)]
    done = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr.decode(errors='replace')}")
    return done.stdout


def main() -> None:
    if shutil.which("openssl") is None:
        raise SystemExit("the openssl command is needed to make the vectors")
    pki_dir, msg_dir = HERE / "pki", HERE / "messages"
    for d in (pki_dir, msg_dir):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    pki = make_test_pki(now=NOW, valid_days=3650)
    paths = pki.write(pki_dir)
    gw_ec = pki.issue(
        "CCF E-mail Gateway EC",
        email=pki.gateway_email,
        key_type="ec",
        valid_until=NOW + dt.timedelta(days=3650),
    )
    (pki_dir / "gateway-ec.pem").write_bytes(_pem(gw_ec.certificate))
    (pki_dir / "gateway-ec.key").write_bytes(_key(gw_ec.private_key))
    (HERE / "interchange.edi").write_bytes(INTERCHANGE)
    (HERE / "response.txt").write_bytes(PLAIN_TEXT)

    gw_cert, gw_key = paths["gateway.pem"], paths["gateway.key"]
    chain = paths["gateway-chain.pem"]
    client_cert = paths["client.pem"]
    headers = ["-from", pki.gateway_email, "-to", pki.client_email]
    manifest: dict[str, dict[str, object]] = {}

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        crlf, lf, text = tmp / "entity-crlf", tmp / "entity-lf", tmp / "response.txt"
        crlf.write_bytes(entity(b"\r\n"))
        lf.write_bytes(entity(b"\n"))
        text.write_bytes(PLAIN_TEXT)

        def make(
            name: str,
            *,
            sign: list[str],
            encrypt: list[str],
            source: Path = crlf,
            subject: str = SUBJECT,
            signer: tuple[Path, Path] = (gw_cert, gw_key),
            tool: str = "cms",
            recipients: tuple[str | Path, ...] = (client_cert,),
            strip_cr: bool = False,
            expect: dict[str, str],
            note: str,
            **extra: object,
        ) -> None:
            signed = run(
                tool, "-sign", "-in", source, "-signer", signer[0], "-inkey", signer[1], *sign
            )
            if strip_cr:  # as a Unix mailbox or a careless relay would
                signed = signed.replace(b"\r\n", b"\n")
            mail = run(
                tool,
                "-encrypt",
                *encrypt,
                *headers,
                "-subject",
                subject,
                *recipients,
                stdin=signed,
            )
            (msg_dir / f"{name}.eml").write_bytes(mail)
            manifest[name] = {"note": note, "subject": subject, "expect": expect, **extra}

        std = {"digest": "sha256", "signature": "rsassa_pkcs1v15"}
        detached = ["-binary", "-certfile", chain]
        make(
            "default",
            sign=detached,
            encrypt=["-aes256"],
            note="AES-256-CBC, SHA-256, RSA",
            expect={**std, "content_encryption": "aes256_cbc", "key_transport": "rsaes_pkcs1v15"},
        )
        make(
            "aes128",
            sign=detached,
            encrypt=["-aes128"],
            note="AES-128-CBC",
            expect={**std, "content_encryption": "aes128_cbc"},
        )
        make(
            "aes192",
            sign=detached,
            encrypt=["-aes192"],
            note="AES-192-CBC (fallback)",
            expect={**std, "content_encryption": "aes192_cbc"},
        )
        make(
            "des3",
            sign=detached,
            encrypt=["-des3"],
            note="3DES-CBC (fallback)",
            expect={**std, "content_encryption": "tripledes_3key"},
        )
        make(
            "aes256_gcm",
            sign=detached,
            encrypt=["-aes-256-gcm"],
            note="AES-256-GCM AuthEnvelopedData (fallback)",
            expect={**std, "content_encryption": "aes256_gcm"},
        )
        make(
            "oaep_sha1",
            sign=detached,
            encrypt=["-aes256", "-recip", client_cert, "-keyopt", "rsa_padding_mode:oaep"],
            recipients=(),
            note="RSA-OAEP key transport, default SHA-1 parameters (fallback)",
            expect={**std, "key_transport": "rsaes_oaep"},
        )
        make(
            "oaep_sha256",
            sign=detached,
            encrypt=[
                "-aes256",
                "-recip",
                client_cert,
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
                "-keyopt",
                "rsa_mgf1_md:sha256",
            ],
            recipients=(),
            note="RSA-OAEP key transport with SHA-256 (fallback)",
            expect={**std, "key_transport": "rsaes_oaep"},
        )
        make(
            "recipient_keyid",
            sign=detached,
            encrypt=["-aes256", "-keyid"],
            note="recipient named by subject key identifier (fallback)",
            expect={**std, "content_encryption": "aes256_cbc"},
        )
        make(
            "ber_stream",
            sign=detached,
            encrypt=["-aes256", "-stream"],
            note="indefinite-length BER envelope (fallback)",
            expect={**std, "content_encryption": "aes256_cbc"},
        )
        make(
            "sha384",
            sign=[*detached, "-md", "sha384"],
            encrypt=["-aes256"],
            note="SHA-384 signature",
            expect={"digest": "sha384"},
        )
        make(
            "sha512",
            sign=[*detached, "-md", "sha512"],
            encrypt=["-aes256"],
            note="SHA-512 signature",
            expect={"digest": "sha512"},
        )
        make(
            "rsa_pss",
            sign=[*detached, "-keyopt", "rsa_padding_mode:pss"],
            encrypt=["-aes256"],
            note="RSA-PSS signature",
            expect={"signature": "rsassa_pss"},
        )
        make(
            "ecdsa",
            sign=detached,
            encrypt=["-aes256"],
            signer=(pki_dir / "gateway-ec.pem", pki_dir / "gateway-ec.key"),
            note="ECDSA P-256 signature by a second (EC) gateway certificate",
            expect={"signature": "ecdsa"},
            pin="gateway-ec.pem",
        )
        make(
            "opaque",
            sign=[*detached, "-nodetach"],
            encrypt=["-aes256"],
            note="opaque signature (application/pkcs7-mime; smime-type=signed-data)",
            expect=std,
        )
        make(
            "opaque_ber",
            sign=[*detached, "-nodetach", "-stream", "-outform", "SMIME"],
            encrypt=["-aes256", "-stream"],
            note="opaque signature, both layers BER streamed",
            expect=std,
        )
        make(
            "signer_keyid",
            sign=[*detached, "-keyid"],
            encrypt=["-aes256"],
            note="signer named by subject key identifier",
            expect=std,
        )
        make(
            "no_certs",
            sign=["-binary", "-nocerts"],
            encrypt=["-aes256"],
            note="no certificates in the signature: the pinned certificate and a configured "
            "intermediate complete the chain",
            expect=std,
            intermediates="issuing-ca.pem",
        )
        make(
            "no_attributes",
            sign=[*detached, "-noattr"],
            encrypt=["-aes256"],
            note="no signed attributes: the signature covers the content itself",
            expect=std,
        )
        make(
            "bare_lf",
            sign=["-certfile", chain],
            encrypt=["-aes256", "-binary"],
            source=lf,
            strip_cr=True,
            note="text-mode signature (OpenSSL signs the CRLF form), then every CR dropped "
            "before encryption: the verifier must canonicalise bare LF to CRLF as OpenSSL does",
            expect=std,
        )
        make(
            "text_mode",
            sign=["-text", "-certfile", chain],
            encrypt=["-aes256"],
            source=text,
            subject=PLAIN_SUBJECT,
            note="plain-text response, signed in text mode",
            expect=std,
            plain_text=True,
        )
        make(
            "legacy_smime",
            sign=["-md", "sha1", "-certfile", chain],
            encrypt=["-des3"],
            tool="smime",
            note="legacy openssl smime: SHA-1 signature, 3DES envelope",
            expect={"digest": "sha1", "content_encryption": "tripledes_3key"},
        )
        make(
            "rc2",
            sign=[*detached, "-md", "sha1"],
            encrypt=["-provider", "legacy", "-provider", "default", "-rc2"],
            note="an old client's algorithms: RC2-CBC (128-bit) envelope, SHA-1 signature "
            "(fallback; OpenSSL 3 makes RC2 only with its legacy provider)",
            expect={"digest": "sha1", "content_encryption": "rc2"},
        )

    # a PKCS#12 bundle as OpenSSL makes it (AES-256 PBES2 by default in 3.x)
    run(
        "pkcs12",
        "-export",
        "-in",
        client_cert,
        "-inkey",
        paths["client.key"],
        "-certfile",
        paths["client-chain.pem"],
        "-passout",
        f"pass:{P12_PASSWORD}",
        "-out",
        pki_dir / "client.p12",
    )
    (HERE / "manifest.json").write_text(
        json.dumps({"at": AT, "messages": manifest}, indent=2, sort_keys=True) + "\n"
    )
    version = run("version").decode().strip()
    (HERE / "OPENSSL_VERSION").write_text(version + "\n")
    print(f"{len(manifest)} messages made with {version}")


def _pem(cert: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined, no-any-return]


def _key(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


if __name__ == "__main__":
    main()
