"""Credentials: a certificate, its private key and the intermediate chain, loaded once."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import logging
import warnings
from collections.abc import Iterable, Iterator
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
    describe_name,
    describe_subject,
    load_certificate_list,
    load_certificates,
    load_private_key,
    read_bytes,
)
from ._validity import WARN_DAYS, Validity, check_validity

log = logging.getLogger("icsclient.smime")


class MissingChainWarning(UserWarning):
    """Credentials whose certificate was issued by a CA carry no chain to send along."""


MissingChainWarning.__module__ = "icsclient.smime"

_ROOT_ISSUED: contextvars.ContextVar[bool] = contextvars.ContextVar("root_issued", default=False)


@contextlib.contextmanager
def issued_by_a_root() -> Iterator[None]:
    """Within this block, credentials need no chain (their issuer is a trust anchor)."""
    token = _ROOT_ISSUED.set(True)
    try:
        yield
    finally:
        _ROOT_ISSUED.reset(token)


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
    certificate or is neither RSA nor EC.  An end-entity certificate issued by a CA (not
    self-issued) with no ``chain`` is flagged at construction with a
    :class:`MissingChainWarning` (and a log line on ``icsclient.smime``): a peer that
    knows only the root cannot validate the signature without the intermediates.  Pass
    them as ``chain=``, or load a full-chain PEM (leaf first) with :meth:`from_pem`.
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
        if not self.chain and not _ROOT_ISSUED.get() and self._issued_by_a_ca():
            message = (
                f"the credentials for {self.subject} carry no chain: the certificate was "
                f"issued by {describe_name(self.certificate.issuer)}, and a peer that trusts "
                "only the root cannot validate what they sign; pass chain= (the intermediate "
                "CA certificates) or a full-chain PEM to Credentials.from_pem"
            )
            log.warning("%s", message)
            warnings.warn(message, MissingChainWarning, stacklevel=3)

    def _issued_by_a_ca(self) -> bool:
        """Whether the certificate is an end entity issued by someone else."""
        cert = self.certificate
        if cert.issuer == cert.subject:
            return False
        try:
            basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            return True
        return not basic.ca

    @property
    def not_valid_before(self) -> _dt.datetime:
        """The start of the certificate's validity (UTC)."""
        return self.certificate.not_valid_before_utc

    @property
    def not_valid_after(self) -> _dt.datetime:
        """The end of the certificate's validity (UTC)."""
        return self.certificate.not_valid_after_utc

    def validity(self, at: _dt.datetime | None = None) -> Validity:
        """The certificate's validity at ``at`` (default now): dates and ``days_left``."""
        return Validity.of(self.certificate, at)

    def days_left(self, at: _dt.datetime | None = None) -> int:
        """Whole days from ``at`` (default now) until the certificate expires."""
        return self.validity(at).days_left

    def check_validity(
        self, at: _dt.datetime | None = None, *, warn_days: int | None = WARN_DAYS
    ) -> Validity:
        """Refuse an expired or not-yet-valid certificate; warn within ``warn_days``.

        See :func:`~icsclient.smime.check_validity`; the error names the subject and dates.
        """
        return check_validity(self.certificate, at, warn_days=warn_days, what="own certificate")

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

        ``cert`` is the certificate, or a full-chain bundle: the leaf first, then its
        intermediate CA certificates (as ``icsclient certs`` writes ``client-fullchain.pem``);
        ``key`` the private key, encrypted with ``password`` if it is; ``chain`` further
        intermediate CA certificates.  Each takes a path, PEM text (a ``str`` holding
        ``-----BEGIN``, as read from an environment variable or a secret store) or bytes.
        No message, ``repr`` or log line ever quotes the key or its text.
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
