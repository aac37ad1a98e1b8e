"""How CMS names certificates: issuer and serial number, or subject key identifier.

Matching is on the hot path of every message opened, and asn1crypto's semantic name
comparison (LDAP string preparation) and extension parsing are slow, so identifiers are
read from ``cryptography`` certificates (cached) and names are compared as DER bytes
first, semantically only when the bytes differ.
"""

from __future__ import annotations

import functools

import attrs
from asn1crypto import cms  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped, unused-ignore]
from cryptography import x509
from cryptography.hazmat.primitives import serialization


@attrs.frozen
class CertIds:
    """A certificate's CMS identifiers (issuer name as DER, serial number, key id) and
    its own DER, as written into a SignedData."""

    issuer_der: bytes = attrs.field(repr=False)
    serial: int
    key_id: bytes | None
    der: bytes = attrs.field(repr=False)


_BY_OBJECT: dict[int, tuple[x509.Certificate, CertIds]] = {}
"""``cert_ids`` by certificate object: hashing or comparing a ``cryptography`` certificate
costs about 10 µs (it goes over the DER), a lookup by ``id()`` a fraction of that.  Each
entry keeps its certificate alive, so an ``id()`` here is never reused by another object."""
_MAX_OBJECTS = 256


def cert_ids(cert: x509.Certificate) -> CertIds:
    """The identifiers of a certificate (cached per certificate object, then per value)."""
    entry = _BY_OBJECT.get(id(cert))
    if entry is not None and entry[0] is cert:
        return entry[1]
    ids = _cert_ids(cert)
    if len(_BY_OBJECT) >= _MAX_OBJECTS:
        _BY_OBJECT.clear()
    _BY_OBJECT[id(cert)] = (cert, ids)
    return ids


@functools.lru_cache(maxsize=256)
def _cert_ids(cert: x509.Certificate) -> CertIds:
    """The identifiers of a certificate (cached per certificate value)."""
    try:
        ski: bytes | None = cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
    except (x509.ExtensionNotFound, ValueError):  # ValueError: malformed extensions
        ski = None
    der = cert.public_bytes(serialization.Encoding.DER)
    try:
        issuer = cert.issuer.public_bytes()
    except ValueError:  # a name that cannot be parsed (a received certificate): names nothing
        issuer = b""
    return CertIds(issuer, cert.serial_number, ski, der)


def names(
    identifier: cms.SignerIdentifier | cms.RecipientIdentifier, cert: x509.Certificate
) -> bool:
    """Whether a SignerIdentifier / RecipientIdentifier names ``cert``."""
    ids = cert_ids(cert)
    if identifier.name == "issuer_and_serial_number":
        ias = identifier.chosen
        if ias["serial_number"].native != ids.serial:
            return False
        issuer = ias["issuer"]
        return bool(
            issuer.dump() == ids.issuer_der or issuer == asn1_x509.Name.load(ids.issuer_der)
        )
    if identifier.name == "subject_key_identifier":
        return ids.key_id is not None and identifier.chosen.native == ids.key_id
    return False
