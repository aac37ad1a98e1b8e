"""CMS encryption (EnvelopedData / AuthEnvelopedData) to one or more RSA recipients.

AES-128/256-CBC with PKCS#1 v1.5 key transport and issuer-and-serial recipient names --
the default and by far the common case -- goes through ``cryptography``'s
``PKCS7EnvelopeBuilder``.  Everything else (3DES-CBC for legacy peers, AES-192-CBC,
AES-GCM AuthEnvelopedData, RSA-OAEP, recipients named by subject key identifier) is built
here with asn1crypto around ``cryptography``'s primitives.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

from asn1crypto import algos, cms, core  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped, unused-ignore]
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs7

from ..errors import BuildError
from ._algorithms import CipherName, KeyTransportName
from ._load import describe_certificate

RecipientId = Literal["issuer_serial", "key_id"]
"""How recipients are named: issuer and serial number (default) or subject key identifier."""

CIPHERS: dict[str, tuple[int, int]] = {
    # name: (key length, IV / nonce length)
    "aes128_cbc": (16, 16),
    "aes192_cbc": (24, 16),
    "aes256_cbc": (32, 16),
    "tripledes_3key": (24, 8),
    "aes128_gcm": (16, 12),
    "aes192_gcm": (24, 12),
    "aes256_gcm": (32, 12),
}
"""Content-encryption algorithms this module knows, with their key and IV lengths."""


class GCMParameters(core.Sequence):  # type: ignore[misc]
    """``GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }``."""

    _fields = [("nonce", core.OctetString), ("icvlen", core.Integer, {"default": 12})]


def _rsa_key(cert: x509.Certificate) -> rsa.RSAPublicKey:
    """The recipient's RSA public key; BuildError for any other key type."""
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BuildError(
            f"cannot encrypt to {describe_certificate(cert)}: only RSA recipients are supported"
        )
    return key


def encrypt_envelope(
    content: bytes | bytearray | memoryview,
    recipients: Sequence[x509.Certificate],
    *,
    cipher: CipherName = "aes256_cbc",
    key_transport: KeyTransportName = "rsaes_pkcs1v15",
    recipient_id: RecipientId = "issuer_serial",
) -> bytes:
    """Encrypt ``content`` (as is, binary) to every certificate in ``recipients``; return DER.

    The result is a ContentInfo holding EnvelopedData, or AuthEnvelopedData for the GCM
    ciphers.  Raises :class:`~icsclient.errors.BuildError` for an unknown algorithm, no
    recipients or a non-RSA recipient.
    """
    if cipher not in CIPHERS:
        raise BuildError(f"unknown content-encryption algorithm {cipher!r}")
    if key_transport not in ("rsaes_pkcs1v15", "rsaes_oaep"):
        raise BuildError(f"unknown key transport {key_transport!r}")
    if recipient_id not in ("issuer_serial", "key_id"):
        raise BuildError(f"recipient_id must be 'issuer_serial' or 'key_id', not {recipient_id!r}")
    if not recipients:
        raise BuildError("encryption needs at least one recipient certificate")
    for cert in recipients:
        _rsa_key(cert)
    if (
        cipher in ("aes128_cbc", "aes256_cbc")
        and key_transport == "rsaes_pkcs1v15"
        and recipient_id == "issuer_serial"
    ):
        # set_data is annotated bytes but takes any buffer (it checks bytes-likeness)
        builder = pkcs7.PKCS7EnvelopeBuilder().set_data(content)  # type: ignore[arg-type]
        builder = builder.set_content_encryption_algorithm(
            algorithms.AES256 if cipher == "aes256_cbc" else algorithms.AES128
        )
        for cert in recipients:
            builder = builder.add_recipient(cert)
        return builder.encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    return _build_envelope(content, recipients, cipher, key_transport, recipient_id)


def _recipient_info(
    cert: x509.Certificate, cek: bytes, key_transport: str, recipient_id: str
) -> cms.RecipientInfo:
    """A KeyTransRecipientInfo: ``cek`` encrypted to ``cert`` (PKCS#1 v1.5 or OAEP-SHA256)."""
    public_key = _rsa_key(cert)
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if recipient_id == "key_id":
        ski = parsed.key_identifier
        if ski is None:
            raise BuildError(
                f"{describe_certificate(cert)} has no subject key identifier to name it by"
            )
        rid = cms.RecipientIdentifier({"subject_key_identifier": ski})
        version = "v2"
    else:
        rid = cms.RecipientIdentifier(
            {
                "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                    {"issuer": parsed.issuer, "serial_number": parsed.serial_number}
                )
            }
        )
        version = "v0"
    if key_transport == "rsaes_oaep":
        encrypted_key = public_key.encrypt(
            cek,
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )
        algorithm = cms.KeyEncryptionAlgorithm(
            {
                "algorithm": "rsaes_oaep",
                "parameters": algos.RSAESOAEPParams(
                    {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "mask_gen_algorithm": {
                            "algorithm": "mgf1",
                            "parameters": {"algorithm": "sha256"},
                        },
                    }
                ),
            }
        )
    else:
        encrypted_key = public_key.encrypt(cek, padding.PKCS1v15())
        algorithm = cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15", "parameters": None})
    return cms.RecipientInfo(
        {
            "ktri": cms.KeyTransRecipientInfo(
                {
                    "version": version,
                    "rid": rid,
                    "key_encryption_algorithm": algorithm,
                    "encrypted_key": encrypted_key,
                }
            )
        }
    )


def _build_envelope(
    content: bytes | bytearray | memoryview,
    recipients: Sequence[x509.Certificate],
    cipher: str,
    key_transport: str,
    recipient_id: str,
) -> bytes:
    """EnvelopedData (CBC) or AuthEnvelopedData (GCM) built with asn1crypto."""
    key_len, iv_len = CIPHERS[cipher]
    cek = os.urandom(key_len)
    iv = os.urandom(iv_len)
    infos = [_recipient_info(cert, cek, key_transport, recipient_id) for cert in recipients]
    if cipher.endswith("_gcm"):
        sealed = AESGCM(cek).encrypt(iv, content, None)
        ciphertext, tag = sealed[:-16], sealed[-16:]
        params = GCMParameters({"nonce": iv, "icvlen": 16})
        info = cms.EncryptedContentInfo(
            {
                "content_type": "data",
                "content_encryption_algorithm": {"algorithm": cipher, "parameters": params},
                "encrypted_content": ciphertext,
            }
        )
        auth = cms.AuthEnvelopedData(
            {
                "version": "v0",
                "recipient_infos": infos,
                "auth_encrypted_content_info": info,
                "mac": tag,
            }
        )
        out: bytes = cms.ContentInfo(
            {"content_type": "authenticated_enveloped_data", "content": auth}
        ).dump()
        return out
    block = algorithms.AES if cipher.startswith("aes") else TripleDES
    padder = sym_padding.PKCS7(block.block_size).padder()
    encryptor = Cipher(block(cek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(content) + padder.finalize()) + encryptor.finalize()
    info = cms.EncryptedContentInfo(
        {
            "content_type": "data",
            "content_encryption_algorithm": {"algorithm": cipher, "parameters": iv},
            "encrypted_content": ciphertext,
        }
    )
    version = "v2" if recipient_id == "key_id" else "v0"
    enveloped = cms.EnvelopedData(
        {"version": version, "recipient_infos": infos, "encrypted_content_info": info}
    )
    der: bytes = cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump()
    return der
