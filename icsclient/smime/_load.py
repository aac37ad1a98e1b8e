"""Loading certificates and keys from the forms the public API accepts.

Every certificate argument takes a :class:`cryptography.x509.Certificate`, PEM or DER
``bytes``, or a path (``str`` or :class:`os.PathLike`).  A PEM bundle may hold several
certificates.  Error messages name what was being loaded and never quote the data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._errors import CredentialsError

CertificateLike: TypeAlias = x509.Certificate | bytes | bytearray | str | os.PathLike[str]
"""A certificate, PEM or DER bytes, or the path of a PEM or DER file."""

BytesOrPath: TypeAlias = bytes | bytearray | str | os.PathLike[str]
"""Raw bytes, or the path of a file holding them."""

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
"""The private key types S/MIME signing and decryption support (RSA and EC)."""

_PEM_CERT = b"-----BEGIN CERTIFICATE-----"


def read_bytes(value: BytesOrPath, what: str) -> bytes:
    """Return ``value`` itself if it is bytes, else the content of the file it names."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.encode("ascii", "replace")  # PEM text (from an environment variable...)
    if isinstance(value, (str, os.PathLike)):
        name = os.fspath(value)
        # quote a plausible path only: a long or multi-line text may be key material
        shown = repr(name) if len(name) <= 512 and "\n" not in name else "(text, not shown)"
        try:
            return Path(value).read_bytes()
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "not a usable path"
            raise CredentialsError(
                f"cannot read the {what} file {shown}: {reason} "
                "(give a path, PEM text, or the bytes of a PEM or DER file)"
            ) from None
    raise TypeError(f"the {what} must be bytes or a path, not {type(value).__name__}")


def load_certificates(value: CertificateLike, what: str = "certificate") -> list[x509.Certificate]:
    """Load one or more certificates (a PEM bundle may hold several, DER holds one)."""
    if isinstance(value, x509.Certificate):
        return [value]
    data = read_bytes(value, what)
    try:
        if _PEM_CERT in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise CredentialsError(f"the {what} is not a PEM or DER X.509 certificate") from None
    if not certs:
        raise CredentialsError(f"the {what} holds no certificate")
    return certs


def load_certificate(value: CertificateLike, what: str = "certificate") -> x509.Certificate:
    """Load exactly one certificate; a PEM bundle must hold exactly one."""
    certs = load_certificates(value, what)
    if len(certs) != 1:
        raise CredentialsError(f"the {what} holds {len(certs)} certificates, expected one")
    return certs[0]


def load_certificate_list(
    values: CertificateLike | Iterable[CertificateLike], what: str
) -> tuple[x509.Certificate, ...]:
    """Load a certificate argument that may be one certificate-like value or several."""
    if isinstance(values, (x509.Certificate, bytes, bytearray, str, os.PathLike)):
        return tuple(load_certificates(values, what))
    out: list[x509.Certificate] = []
    for item in values:
        out.extend(load_certificates(item, what))
    return tuple(out)


def load_private_key(data: bytes, password: bytes | str | None, what: str) -> PrivateKey:
    """Load a PEM or DER private key (RSA or EC), optionally encrypted with ``password``."""
    pw = password.encode("utf-8") if isinstance(password, str) else password
    key: object
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, pw)
        else:
            key = serialization.load_der_private_key(data, pw)
    except TypeError:
        # raised for "password given but key not encrypted" and the reverse
        if pw is None:
            raise CredentialsError(f"the {what} is encrypted: a password is needed") from None
        raise CredentialsError(f"the {what} is not encrypted: give no password") from None
    except Exception:  # ValueError, UnsupportedAlgorithm: never echo the data
        raise CredentialsError(
            f"the {what} cannot be loaded: not a PEM/DER private key, or a wrong password"
        ) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CredentialsError(
            f"the {what} is a {type(key).__name__}; S/MIME here supports RSA and EC keys only"
        )
    return key


def describe_name(name: x509.Name) -> str:
    """A short RFC 4514 rendering of a distinguished name, for messages and reprs."""
    try:
        return name.rfc4514_string()
    except ValueError:  # pragma: no cover - undecodable attribute values
        return repr(name)


def cert_name(cert: x509.Certificate, which: str = "subject") -> x509.Name | None:
    """The certificate's ``subject`` or ``issuer``, or ``None`` when it cannot be parsed:
    cryptography parses names on access and raises ``ValueError`` for a malformed one,
    which a certificate carried in a received signature may hold."""
    try:
        name: x509.Name = getattr(cert, which)
    except ValueError:
        return None
    return name


def describe_subject(cert: x509.Certificate) -> str:
    """The certificate's subject for messages and reprs, even when it cannot be parsed."""
    name = cert_name(cert)
    return "<a subject that cannot be parsed>" if name is None else describe_name(name)


def describe_certificate(cert: x509.Certificate) -> str:
    """``subject (serial 0x…)`` for error messages: enough to find the certificate."""
    return f"{describe_subject(cert)} (serial {cert.serial_number:#x})"
