"""Throw-away RSA PKIs for the ICS2 AS4 tests: never use them for real traffic.

:func:`make_ics2_pki` returns a 2-level (root → signer) or 3-level (root → issuing CA →
signer) chain, all RSA-2048 with SHA-256 signatures, as the ICS2 sealing certificates are.
Keys come from :func:`icsclient.testing.pki.pooled_key`, so only certificates are fresh.
"""

from __future__ import annotations

import datetime as _dt

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .pki import pooled_key

__all__ = ["Ics2Pki", "make_ics2_pki"]

_KEY_BASE = 40  # pooled RSA key indexes of our own, apart from make_test_pki's


@attrs.frozen
class Ics2Pki:
    """``chain`` runs root first, signer last; ``key`` is the signer's private key."""

    chain: tuple[x509.Certificate, ...]
    key: rsa.RSAPrivateKey = attrs.field(repr=False)

    @property
    def root(self) -> x509.Certificate:
        """The trust anchor (first in the chain)."""
        return self.chain[0]

    @property
    def signer(self) -> x509.Certificate:
        """The sealing certificate (last in the chain)."""
        return self.chain[-1]


def _rsa(index: int) -> rsa.RSAPrivateKey:
    key = pooled_key("rsa", _KEY_BASE + index)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"pooled key {index} is not RSA")
    return key


def _cert(
    cn: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    ca: bool,
    now: _dt.datetime,
    days: int,
) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "EU"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "icsclient ics2 test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    issuer_name, signing_key = (name, key) if issuer is None else (issuer[0].subject, issuer[1])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return builder.sign(signing_key, hashes.SHA256())


def make_ics2_pki(levels: int = 2, *, name: str = "trader", index: int = 0) -> Ics2Pki:
    """A fresh chain of ``levels`` (2 or 3) RSA certificates; ``index`` picks other keys."""
    if levels not in (2, 3):
        raise ValueError(f"make_ics2_pki: levels must be 2 or 3, got {levels}")
    now = _dt.datetime.now(_dt.timezone.utc)
    base = index * 3
    root_key = _rsa(base)
    issuer = (_cert(f"{name} test root", root_key, None, ca=True, now=now, days=3650), root_key)
    chain = [issuer[0]]
    if levels == 3:
        ca_key = _rsa(base + 1)
        ca = _cert(f"{name} issuing CA", ca_key, issuer, ca=True, now=now, days=1825)
        chain.append(ca)
        issuer = (ca, ca_key)
    leaf_key = _rsa(base + 2)
    chain.append(_cert(f"{name} sealing", leaf_key, issuer, ca=False, now=now, days=365))
    return Ics2Pki(tuple(chain), leaf_key)
