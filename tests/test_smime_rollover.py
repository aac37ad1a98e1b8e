"""Certificate rollover with real files, as ``docs/howto/certificate-rollover.md`` shows it.

Two gateway certificates pinned together; our own old and new credentials both decrypting.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from icsclient import Credentials, Trust
from icsclient.errors import DecryptionError
from icsclient.mail import compose_email, open_email
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

REPLY = (
    b"UNA:+.? 'UNB+UNOC:3+AAA336C+AAA676Y+260301:0930+42++++1'"
    b"UNH+1+CONTRL:D:3:UN'UCI+7+AAA676Y+AAA336C+7'UNT+3+1'UNZ+1+42'"
)


_PEM = serialization.Encoding.PEM


def _key_pem(creds: Credentials) -> bytes:
    return creds.private_key.private_bytes(
        _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


def test_old_and_new_own_certificates_both_decrypt(pki: ThrowawayPKI, tmp_path: Path) -> None:
    files = pki.write(tmp_path)
    new = pki.issue(pki.client_site, email=pki.client_email)
    new_files = tmp_path / "client-2026.pem", tmp_path / "client-2026.key"
    new_files[0].write_bytes(b"".join(c.public_bytes(_PEM) for c in (new.certificate, *new.chain)))
    new_files[1].write_bytes(_key_pem(new))
    old = Credentials.from_pem(
        files["client.pem"], files["client.key"], chain=files["client-chain.pem"]
    )
    new_loaded = Credentials.from_pem(*new_files)
    assert new_loaded.chain == new.chain and old.chain == pki.client.chain
    trust = Trust(
        [files["ca.pem"]], [files["gateway.pem"]], gateway_site=pki.gateway_site, at=pki.now
    )
    for recipient in (old, new):  # a reply encrypted to either certificate is read
        raw = compose_email(
            REPLY,
            signer=pki.gateway,
            gateway=recipient.certificate,
            mail_from=pki.gateway_email,
            mail_to=pki.client_email,
        )
        received = open_email(raw, recipient=[new_loaded, old], trust=trust)
        assert received.interchange == REPLY
        with pytest.raises(DecryptionError):
            open_email(raw, recipient=[pki.untrusted_client], trust=trust)


def test_two_gateway_certificates_pinned_together(pki: ThrowawayPKI) -> None:
    next_gateway = pki.issue(pki.gateway_site, email=pki.gateway_email)
    trust = Trust(
        [pki.ca_cert],
        [pki.gateway.certificate, next_gateway.certificate],
        gateway_site=pki.gateway_site,
        at=pki.now,
    )
    for signer in (pki.gateway, next_gateway):
        raw = compose_email(
            REPLY,
            signer=signer,
            gateway=pki.client.certificate,
            mail_from=pki.gateway_email,
            mail_to=pki.client_email,
        )
        assert open_email(raw, recipient=pki.client, trust=trust).interchange == REPLY
