"""A throw-away PKI for tests, examples and the demo: never use it for real traffic.

:func:`make_test_pki` returns, in well under a second, a root CA, an issuing CA below it
(as Gatekeeper's device CA sits below its root), client and gateway credentials with the
emailProtection key usage and the device e-mail address in the subject alternative name,
and the variants the tests need: an expired client and a client from an untrusted CA.

RSA key generation is the slow part, so the RSA-2048 keys are generated once per process
and reused by every PKI made afterwards; certificates are fresh each time.  CA keys are
EC P-256 (fast to make, and any verifier must cope with mixed chains).
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..ics.names import CCF_SITE
from ..smime import Credentials, PrivateKey, Trust, issued_by_a_root

__all__ = ["ThrowawayPKI", "make_test_pki", "pooled_key"]

KeyType = Literal["rsa", "ec"]

CLIENT_SITE = "AAA676Y"
"""The client site ID used by default (the example site of the SDG)."""

CLIENT_EMAIL = "edi@broker.test"
GATEWAY_EMAIL = "cargo@ccf.test"


@functools.cache
def pooled_key(kind: KeyType, index: int) -> PrivateKey:
    """The ``index``-th throw-away key of type ``kind``, generated once per process.

    RSA keys are 2048 bits (the smallest size the chain validator accepts); EC keys use
    P-256.  Two different indexes always give two different keys.
    """
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "AU"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ski(key: PrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def _ca_certificate(
    name: x509.Name,
    key: PrivateKey,
    *,
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
) -> x509.Certificate:
    """A CA certificate: self-signed root when ``issuer`` is None, else an intermediate."""
    issuer_name = name if issuer is None else issuer[0].subject
    signing_key = key if issuer is None else issuer[1]
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256())


def issue_certificate(
    issuer: Credentials,
    key: PrivateKey,
    *,
    common_name: str,
    email: str,
    not_before: _dt.datetime,
    not_after: _dt.datetime,
    organisation: str = "icsclient test",
    email_protection: bool = True,
) -> x509.Certificate:
    """An end-entity e-mail certificate for ``key``, signed by ``issuer``.

    Key usage digitalSignature (+ keyEncipherment for RSA), the emailProtection EKU (unless
    ``email_protection`` is false: for testing a refusal), ``email`` as rfc822Name SAN.
    """
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    eku = [
        ExtendedKeyUsageOID.EMAIL_PROTECTION
        if email_protection
        else ExtendedKeyUsageOID.CODE_SIGNING
    ]
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organisation))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=is_rsa,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
        .add_extension(_ski(key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
            critical=False,
        )
        .sign(issuer.private_key, hashes.SHA256())
    )


@attrs.frozen
class ThrowawayPKI:
    """A complete throw-away PKI; see :func:`make_test_pki`.

    ``ca_cert`` is the root (the trust anchor); ``issuing_ca`` the intermediate CA that
    issued the end-entity certificates (shipped in each ``Credentials.chain``);
    ``client`` and ``gateway`` valid credentials; ``expired_client`` expired one day before
    ``now``; ``untrusted_client`` issued by ``untrusted_ca``, which nobody trusts.
    """

    ca_cert: x509.Certificate
    root_ca: Credentials
    issuing_ca: Credentials
    untrusted_ca: Credentials
    client: Credentials
    gateway: Credentials
    expired_client: Credentials
    untrusted_client: Credentials
    client_site: str
    gateway_site: str
    client_email: str
    gateway_email: str
    now: _dt.datetime

    def trust_for_client(self, **overrides: object) -> Trust:
        """The client's trust: anchored at the root, the gateway pinned, sender ``gateway_site``.

        ``overrides`` are passed to :class:`~icsclient.smime.Trust` (``at``, ...); ``at``
        defaults to :attr:`now`.
        """
        options: dict[str, object] = {"gateway_site": self.gateway_site, "at": self.now}
        options.update(overrides)
        return Trust([self.ca_cert], [self.gateway.certificate], **options)  # type: ignore[arg-type]

    def trust_for_gateway(self, **overrides: object) -> Trust:
        """The simulated gateway's trust: the client pinned, sender ``client_site``."""
        options: dict[str, object] = {"gateway_site": self.client_site, "at": self.now}
        options.update(overrides)
        return Trust([self.ca_cert], [self.client.certificate], **options)  # type: ignore[arg-type]

    def issue(
        self,
        common_name: str,
        *,
        email: str,
        key: PrivateKey | None = None,
        key_type: KeyType = "rsa",
        valid_from: _dt.datetime | None = None,
        valid_until: _dt.datetime | None = None,
        issuer: Credentials | None = None,
        email_protection: bool = True,
    ) -> Credentials:
        """Issue further credentials (e.g. the gateway's next certificate for a rollover).

        By default issued by :attr:`issuing_ca` with a fresh pooled key of ``key_type``,
        valid from a day before :attr:`now` for two years.
        """
        ca = self.issuing_ca if issuer is None else issuer
        if key is None:
            key = pooled_key(key_type, _next_index(key_type))
        cert = issue_certificate(
            ca,
            key,
            common_name=common_name,
            email=email,
            not_before=valid_from or self.now - _dt.timedelta(days=1),
            not_after=valid_until or self.now + _dt.timedelta(days=730),
            email_protection=email_protection,
        )
        if ca.certificate == self.ca_cert:
            return _root_issued(cert, key)
        return Credentials(cert, key, (ca.certificate,))

    def write(
        self, directory: str | os.PathLike[str], *, overwrite: bool = True
    ) -> dict[str, Path]:
        """Write every certificate and key as PEM files into ``directory``.

        Names: ``ca.pem``, ``issuing-ca.pem``, ``untrusted-ca.pem`` and for each of
        ``client``, ``gateway``, ``expired-client``, ``untrusted-client`` a ``<name>.pem``
        certificate, ``<name>.key`` (unencrypted PKCS#8, file mode 0600),
        ``<name>-fullchain.pem`` (the certificate then its chain: what
        ``Credentials.from_pem`` wants) and, when the chain is not empty, ``<name>-chain.pem``.
        With ``overwrite=False`` nothing is written if any of the files exists
        (:class:`FileExistsError` names them).  Returns the paths by name
        (``"client.key"`` -> path).
        """
        out = Path(directory)
        files: dict[str, bytes] = {
            "ca.pem": _pem(self.ca_cert),
            "issuing-ca.pem": _pem(self.issuing_ca.certificate),
            "untrusted-ca.pem": _pem(self.untrusted_ca.certificate),
        }
        for name, creds in (
            ("client", self.client),
            ("gateway", self.gateway),
            ("expired-client", self.expired_client),
            ("untrusted-client", self.untrusted_client),
        ):
            files[f"{name}.pem"] = _pem(creds.certificate)
            files[f"{name}.key"] = _key_pem(creds.private_key)
            files[f"{name}-fullchain.pem"] = b"".join(
                _pem(c) for c in (creds.certificate, *creds.chain)
            )
            if creds.chain:
                files[f"{name}-chain.pem"] = b"".join(_pem(c) for c in creds.chain)
        if not overwrite:
            existing = sorted(name for name in files if (out / name).exists())
            if existing:
                raise FileExistsError(
                    f"{out} already holds {', '.join(existing)}; not overwriting them"
                )
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, data in files.items():
            path = out / name
            _write(path, data, private=name.endswith(".key"))
            paths[name] = path
        return paths


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Write ``data``; a private key file is created 0600, never readable by others."""
    if private:
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def _root_issued(cert: x509.Certificate, key: PrivateKey) -> Credentials:
    """Credentials issued straight by a root: no chain is needed, so no warning either."""
    with issued_by_a_root():
        return Credentials(cert, key, ())


_extra_index: dict[str, int] = {"rsa": 10, "ec": 10}


def _next_index(kind: KeyType) -> int:
    _extra_index[kind] += 1
    return _extra_index[kind]


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_test_pki(
    *,
    now: _dt.datetime | None = None,
    client_site: str = CLIENT_SITE,
    gateway_site: str = CCF_SITE,
    client_key_type: KeyType = "rsa",
    client_email: str = CLIENT_EMAIL,
    gateway_email: str = GATEWAY_EMAIL,
    valid_days: int = 730,
) -> ThrowawayPKI:
    """Make a throw-away PKI: root CA -> issuing CA -> client and gateway certificates.

    ``now`` (timezone-aware; default the current time) anchors every validity period:
    CAs from a day before for ten years, end entities from a day before for
    ``valid_days``; the expired client ran from 400 days to one day before ``now``.
    ``client_key_type="ec"`` gives the client an EC P-256 key (ECDSA signatures).
    """
    if now is None:
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    day = _dt.timedelta(days=1)
    start, ca_end = now - day, now + 3650 * day
    ee_end = now + valid_days * day

    root_key = pooled_key("ec", 0)
    root_cert = _ca_certificate(
        _name("icsclient Test Root CA", "icsclient test"),
        root_key,
        issuer=None,
        not_before=start,
        not_after=ca_end,
    )
    issuing_key = pooled_key("ec", 1)
    issuing_cert = _ca_certificate(
        _name("icsclient Test Device CA", "icsclient test"),
        issuing_key,
        issuer=(root_cert, root_key),
        not_before=start,
        not_after=ca_end,
    )
    untrusted_key = pooled_key("ec", 2)
    untrusted_cert = _ca_certificate(
        _name("Untrusted Test CA", "nobody"),
        untrusted_key,
        issuer=None,
        not_before=start,
        not_after=ca_end,
    )
    root = Credentials(root_cert, root_key)
    issuing = Credentials(issuing_cert, issuing_key, ())
    untrusted_ca = Credentials(untrusted_cert, untrusted_key)
    chain: Sequence[x509.Certificate] = (issuing_cert,)

    client_key = pooled_key(client_key_type, 0)
    gateway_key = pooled_key("rsa", 1)

    def leaf(
        key: PrivateKey, cn: str, email: str, nb: _dt.datetime, na: _dt.datetime, ca: Credentials
    ) -> x509.Certificate:
        return issue_certificate(ca, key, common_name=cn, email=email, not_before=nb, not_after=na)

    client = Credentials(
        leaf(client_key, client_site, client_email, start, ee_end, issuing), client_key, chain
    )
    gateway = Credentials(
        leaf(gateway_key, "CCF E-mail Gateway", gateway_email, start, ee_end, issuing),
        gateway_key,
        chain,
    )
    expired = Credentials(
        leaf(client_key, client_site, client_email, now - 400 * day, now - day, issuing),
        client_key,
        chain,
    )
    untrusted = _root_issued(
        leaf(client_key, client_site, client_email, start, ee_end, untrusted_ca), client_key
    )
    return ThrowawayPKI(
        ca_cert=root_cert,
        root_ca=root,
        issuing_ca=issuing,
        untrusted_ca=untrusted_ca,
        client=client,
        gateway=gateway,
        expired_client=expired,
        untrusted_client=untrusted,
        client_site=client_site,
        gateway_site=gateway_site,
        client_email=client_email,
        gateway_email=gateway_email,
        now=now,
    )
