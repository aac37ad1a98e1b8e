"""Credentials: a certificate, its private key and the intermediate chain, loaded once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from ._errors import CredentialsError
from ._load import (
    BytesOrPath,
    CertificateLike,
    PrivateKey,
    describe_subject,
    load_certificate_list,
    load_certificates,
    load_private_key,
    read_bytes,
)


def _to_chain(value: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    return tuple(value)


def key_description(key: PrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    """``RSA-2048`` or ``EC-secp256r1``: the key's type and size, nothing secret."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA-{key.key_size}"
    return f"EC-{key.curve.name}"


@attrs.frozen(repr=False)
class Credentials:
    """A certificate with its private key and the intermediate CA certificates above it.

    Used to sign what we send and to decrypt what we receive.  Build one with
    :meth:`from_pem` or :meth:`from_pkcs12` (or directly from loaded ``cryptography``
    objects); the key is parsed once, here, never per message.  The private key never
    appears in a ``repr``, an exception or a log line, and it takes no part in equality.

    Raises :class:`~icsclient.smime.CredentialsError` if the key does not belong to the
    certificate or is neither RSA nor EC.
    """

    certificate: x509.Certificate = attrs.field(
        validator=attrs.validators.instance_of(x509.Certificate)
    )
    private_key: PrivateKey = attrs.field(eq=False, hash=False)
    chain: tuple[x509.Certificate, ...] = attrs.field(default=(), converter=_to_chain)

    def __attrs_post_init__(self) -> None:
        key: Any = self.private_key
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise CredentialsError(
                f"the private key is a {type(key).__name__}; RSA and EC keys are supported"
            )
        for cert in self.chain:
            if not isinstance(cert, x509.Certificate):
                raise TypeError("chain must hold cryptography x509.Certificate objects")
        if key.public_key() != self.certificate.public_key():
            raise CredentialsError(
                "the private key does not belong to the certificate "
                f"{describe_subject(self.certificate)}"
            )

    def __repr__(self) -> str:
        return (
            f"Credentials(subject={describe_subject(self.certificate)!r}, "
            f"serial={self.certificate.serial_number:#x}, "
            f"key={key_description(self.private_key)}, chain={len(self.chain)})"
        )

    @property
    def subject(self) -> str:
        """The certificate's subject as an RFC 4514 string."""
        return describe_subject(self.certificate)

    @property
    def email_addresses(self) -> tuple[str, ...]:
        """The e-mail addresses bound into the certificate (SAN rfc822Name entries)."""
        try:
            san = self.certificate.extensions.get_extension_for_class(
                x509.SubjectAlternativeName
            ).value
        except x509.ExtensionNotFound:
            return ()
        return tuple(san.get_values_for_type(x509.RFC822Name))

    @classmethod
    def from_pem(
        cls,
        cert: CertificateLike,
        key: BytesOrPath | PrivateKey,
        *,
        chain: CertificateLike | Iterable[CertificateLike] = (),
        password: bytes | str | None = None,
    ) -> Credentials:
        """Load credentials from PEM (or DER) data or files.

        ``cert`` is the certificate (a PEM bundle whose first certificate is the leaf and
        the rest its chain is accepted too); ``key`` the private key, encrypted with
        ``password`` if it is; ``chain`` the intermediate CA certificates.  Each takes
        bytes or a path.
        """
        certs = load_certificates(cert, "certificate")
        if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            private_key: PrivateKey = key
        else:
            private_key = load_private_key(read_bytes(key, "private key"), password, "private key")
        extra = load_certificate_list(chain, "chain certificate") if chain else ()
        return cls(certs[0], private_key, (*certs[1:], *extra))

    @classmethod
    def from_pkcs12(cls, data: BytesOrPath, password: bytes | str | None) -> Credentials:
        """Load credentials from a PKCS#12 (``.p12`` / ``.pfx``) bundle, bytes or a path."""
        raw = read_bytes(data, "PKCS#12 bundle")
        pw = password.encode("utf-8") if isinstance(password, str) else password
        try:
            bundle = pkcs12.load_pkcs12(raw, pw)
        except Exception:  # ValueError, TypeError, UnsupportedAlgorithm: never echo the data
            raise CredentialsError(
                "the PKCS#12 bundle cannot be loaded: not PKCS#12, or a wrong password"
            ) from None
        if bundle.key is None or bundle.cert is None:
            raise CredentialsError("the PKCS#12 bundle needs both a certificate and its key")
        key = bundle.key
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise CredentialsError(
                f"the PKCS#12 key is a {type(key).__name__}; RSA and EC keys are supported"
            )
        chain = tuple(c.certificate for c in bundle.additional_certs)
        return cls(bundle.cert.certificate, key, chain)
