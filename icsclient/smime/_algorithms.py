"""Algorithm names shared by the options we accept and the reports we give.

Names follow asn1crypto's vocabulary, so what :class:`Algorithms` reports for a received
message is what the composing functions accept for an outgoing one.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs
from cryptography.hazmat.primitives import hashes

DigestName: TypeAlias = Literal["sha256", "sha384", "sha512", "sha1"]
"""Digest algorithms we sign with; SHA-256 is the default.

SHA-1 is there for legacy peers only (ICS rules: the caller may choose 3DES/SHA-1 for
them); SHA-224 is accepted on input only.
"""

RsaPadding: TypeAlias = Literal["pkcs1v15", "pss"]
"""RSA signature padding: PKCS#1 v1.5 (the default) or PSS (salt length = digest length)."""

CipherName: TypeAlias = Literal[
    "aes256_cbc", "aes128_cbc", "aes192_cbc", "tripledes_3key", "aes128_gcm", "aes256_gcm"
]
"""Content-encryption algorithms we can encrypt with; AES-256-CBC is the default.

3DES is there for legacy peers; the GCM ciphers make AuthEnvelopedData.  All are written
by this library's own envelope writer around ``cryptography``'s ciphers.
"""

KeyTransportName: TypeAlias = Literal["rsaes_pkcs1v15", "rsaes_oaep"]
"""RSA key transport for the content-encryption key: PKCS#1 v1.5 (default) or OAEP."""

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
"""Digest names accepted on input (verification), to their ``cryptography`` classes."""

MICALG: dict[str, str] = {
    "sha1": "sha-1",
    "sha224": "sha-224",
    "sha256": "sha-256",
    "sha384": "sha-384",
    "sha512": "sha-512",
}
"""The ``micalg`` parameter of ``multipart/signed`` for each digest (RFC 8551)."""


def hash_for(name: str) -> hashes.HashAlgorithm:
    """A ``cryptography`` hash instance for a digest name; KeyError if unsupported."""
    return HASHES[name]()


@attrs.frozen
class Algorithms:
    """The algorithms an S/MIME message used; ``None`` for a layer that was absent.

    ``digest`` (``sha256``...), ``signature`` (``rsassa_pkcs1v15``, ``rsassa_pss``,
    ``ecdsa``), ``content_encryption`` (``aes256_cbc``, ``tripledes_3key``,
    ``aes256_gcm``...), ``key_transport`` (``rsaes_pkcs1v15``, ``rsaes_oaep``).
    """

    digest: str | None = None
    signature: str | None = None
    content_encryption: str | None = None
    key_transport: str | None = None
