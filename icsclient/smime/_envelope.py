"""CMS encryption (EnvelopedData / AuthEnvelopedData) to one or more RSA recipients.

The DER is written here, by hand, around ``cryptography``'s primitives: the lengths are
known before any content is encrypted, so CBC content goes through the cipher in steps
into one reused buffer and comes out as a stream of pieces (:func:`envelope_pieces`)
that the caller can base64 on the fly; a 10 MB interchange is never copied whole.
AES-128/192/256-CBC, 3DES-CBC (legacy peers) and AES-GCM (AuthEnvelopedData); RSA key
transport with PKCS#1 v1.5 or OAEP; recipients named by issuer and serial number or by
subject key identifier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Literal

from asn1crypto import algos, cms, core  # type: ignore[import-untyped, unused-ignore]
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import BuildError
from ._algorithms import CipherName, KeyTransportName
from ._der import header as _header
from ._der import integer as _integer
from ._der import tlv as _tlv
from ._ids import cert_ids
from ._load import describe_certificate

Buffer = bytes | bytearray | memoryview

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

_STEP = 1 << 16
"""Content bytes per cipher step (the reused output buffer is this plus one block)."""


class GCMParameters(core.Sequence):  # type: ignore[misc]
    """``GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }``."""

    _fields = [("nonce", core.OctetString), ("icvlen", core.Integer, {"default": 12})]


_OID_DATA: bytes = cms.ContentType("data").dump()
_OID_ENVELOPED: bytes = cms.ContentType("enveloped_data").dump()
_OID_AUTH_ENVELOPED: bytes = cms.ContentType("authenticated_enveloped_data").dump()
_CIPHER_OIDS: dict[str, bytes] = {
    name: algos.EncryptionAlgorithmId(name).dump() for name in CIPHERS
}
_RSA_PKCS1: bytes = cms.KeyEncryptionAlgorithm(
    {"algorithm": "rsaes_pkcs1v15", "parameters": None}
).dump()
_RSA_OAEP: bytes = cms.KeyEncryptionAlgorithm(
    {
        "algorithm": "rsaes_oaep",
        "parameters": algos.RSAESOAEPParams(
            {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
            }
        ),
    }
).dump()
_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _rsa_key(cert: x509.Certificate) -> rsa.RSAPublicKey:
    """The recipient's RSA public key; BuildError for any other key type."""
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BuildError(
            f"cannot encrypt to {describe_certificate(cert)}: only RSA recipients are supported"
        )
    return key


def _recipient_info(
    cert: x509.Certificate, cek: bytes, key_transport: str, recipient_id: str
) -> bytes:
    """A KeyTransRecipientInfo (DER): ``cek`` encrypted to ``cert`` (PKCS#1 v1.5 or OAEP)."""
    public_key = _rsa_key(cert)
    ids = cert_ids(cert)
    if recipient_id == "key_id":
        if ids.key_id is None:
            raise BuildError(
                f"{describe_certificate(cert)} has no subject key identifier to name it by"
            )
        version, rid = 2, _tlv(0x80, ids.key_id)  # [0] IMPLICIT SubjectKeyIdentifier
    else:
        version, rid = 0, _tlv(0x30, ids.issuer_der + _integer(ids.serial))
    if key_transport == "rsaes_oaep":
        algorithm, encrypted_key = _RSA_OAEP, public_key.encrypt(cek, _OAEP)
    else:
        algorithm, encrypted_key = _RSA_PKCS1, public_key.encrypt(cek, padding.PKCS1v15())
    return _tlv(0x30, _integer(version) + rid + algorithm + _tlv(0x04, encrypted_key))


def _content_info(content_type: bytes, body_head: bytes, body_rest: int) -> bytes:
    """The DER before a ContentInfo's content ends: ``body_rest`` bytes must follow."""
    explicit = _header(0xA0, len(body_head) + body_rest)
    total = len(content_type) + len(explicit) + len(body_head) + body_rest
    return _header(0x30, total) + content_type + explicit + body_head


def envelope_pieces(
    content: Sequence[Buffer],
    recipients: Sequence[x509.Certificate],
    *,
    cipher: CipherName = "aes256_cbc",
    key_transport: KeyTransportName = "rsaes_pkcs1v15",
    recipient_id: RecipientId = "issuer_serial",
) -> Iterator[Buffer]:
    """Encrypt the concatenation of ``content`` to ``recipients``; yield the DER in pieces.

    The arguments are checked at once (BuildError for an unknown algorithm, no recipients
    or a non-RSA recipient); the pieces come as the iterator is consumed.  A piece may be
    a view of a buffer that the next step overwrites: use it before asking for the next.
    """
    if cipher not in CIPHERS:
        raise BuildError(f"unknown content-encryption algorithm {cipher!r}")
    if key_transport not in ("rsaes_pkcs1v15", "rsaes_oaep"):
        raise BuildError(f"unknown key transport {key_transport!r}")
    if recipient_id not in ("issuer_serial", "key_id"):
        raise BuildError(f"recipient_id must be 'issuer_serial' or 'key_id', not {recipient_id!r}")
    if not recipients:
        raise BuildError("encryption needs at least one recipient certificate")
    key_len, iv_len = CIPHERS[cipher]
    cek, iv = os.urandom(key_len), os.urandom(iv_len)
    # DER orders a SET OF by the encodings
    infos = sorted(_recipient_info(cert, cek, key_transport, recipient_id) for cert in recipients)
    recipient_infos = _tlv(0x31, b"".join(infos))
    if cipher.endswith("_gcm"):
        return iter((_auth_enveloped(content, cek, iv, cipher, recipient_infos),))
    return _cbc_enveloped(content, cek, iv, cipher, recipient_infos, recipient_id == "key_id")


def encrypt_envelope(
    content: Buffer,
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
    out = bytearray()
    for piece in envelope_pieces(
        [content],
        recipients,
        cipher=cipher,
        key_transport=key_transport,
        recipient_id=recipient_id,
    ):
        out += piece
    return bytes(out)


def _cbc_enveloped(
    content: Sequence[Buffer],
    cek: bytes,
    iv: bytes,
    cipher: str,
    recipient_infos: bytes,
    v2: bool,
) -> Iterator[Buffer]:
    """EnvelopedData: the DER up to the ciphertext, then the ciphertext in steps."""
    size = sum(len(memoryview(piece)) for piece in content)
    block = len(iv)
    pad = block - size % block
    algorithm = _tlv(0x30, _CIPHER_OIDS[cipher] + _tlv(0x04, iv))
    octets = _header(0x80, size + pad)  # [0] IMPLICIT encryptedContent, primitive
    info_head = _header(0x30, len(_OID_DATA) + len(algorithm) + len(octets) + size + pad)
    version = _integer(2 if v2 else 0)
    before = version + recipient_infos + info_head + _OID_DATA + algorithm + octets
    body_head = _header(0x30, len(before) + size + pad) + before
    yield _content_info(_OID_ENVELOPED, body_head, size + pad)

    primitive = algorithms.AES(cek) if cipher.startswith("aes") else TripleDES(cek)
    encryptor = Cipher(primitive, modes.CBC(iv)).encryptor()
    buffer = bytearray(_STEP + block)
    with memoryview(buffer) as out:
        for piece in content:
            with memoryview(piece) as view:
                for i in range(0, len(view), _STEP):
                    written = encryptor.update_into(view[i : i + _STEP], buffer)
                    yield out[:written]
    yield encryptor.update(bytes((pad,)) * pad) + encryptor.finalize()


def _auth_enveloped(
    content: Sequence[Buffer], cek: bytes, iv: bytes, cipher: str, recipient_infos: bytes
) -> bytes:
    """AuthEnvelopedData (AES-GCM, 16-byte tag, no authenticated attributes) as DER."""
    data = content[0] if len(content) == 1 else b"".join(content)
    sealed = AESGCM(cek).encrypt(iv, data, None)
    ciphertext, tag = sealed[:-16], sealed[-16:]
    params = _tlv(0x30, _tlv(0x04, iv) + _integer(16))
    algorithm = _tlv(0x30, _CIPHER_OIDS[cipher] + params)
    info = _tlv(0x30, _OID_DATA + algorithm + _tlv(0x80, ciphertext))
    body = _tlv(0x30, _integer(0) + recipient_infos + info + _tlv(0x04, tag))
    return _content_info(_OID_AUTH_ENVELOPED, body, 0)
