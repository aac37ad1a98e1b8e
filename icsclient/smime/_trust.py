"""Trust: who may sign what we receive, validated with ``cryptography.x509.verification``."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterable, Sequence

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from ..ics.names import CCF_SITE
from ._errors import (
    CredentialsError,
    NotPinnedError,
    UntrustedCertificateError,
)
from ._load import (
    CertificateLike,
    cert_name,
    describe_certificate,
    describe_name,
    describe_subject,
    load_certificate_list,
)
from ._validity import Validity, check_validity

_EMAIL = ExtendedKeyUsageOID.EMAIL_PROTECTION
_ANY_EKU = x509.ObjectIdentifier("2.5.29.37.0")


def _ee_eku(_policy: Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage) -> None:
    """End-entity rule: the certificate must name emailProtection among its key usages."""
    if _EMAIL not in eku:
        raise ValueError("the certificate is not for e-mail protection (no emailProtection EKU)")


def _ca_eku(_policy: Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
    """CA rule: an EKU on a CA certificate, if present, must allow e-mail protection."""
    if eku is not None and _EMAIL not in eku and _ANY_EKU not in eku:
        raise ValueError("the CA certificate's EKU does not allow e-mail protection")


def _ee_policy() -> ExtensionPolicy:
    """webpki end-entity defaults, with emailProtection required instead of clientAuth."""
    return ExtensionPolicy.webpki_defaults_ee().require_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _ee_eku
    )


def _ca_policy() -> ExtensionPolicy:
    """webpki CA defaults, with an EKU (if any) that allows e-mail protection."""
    return ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _ca_eku
    )


def _anchors(value: Iterable[CertificateLike] | CertificateLike) -> tuple[x509.Certificate, ...]:
    certs = load_certificate_list(value, "trust anchor")
    if not certs:
        raise CredentialsError("Trust needs at least one trust anchor (the issuing root CA)")
    return certs


def _pins(value: Iterable[CertificateLike] | CertificateLike) -> tuple[x509.Certificate, ...]:
    certs = load_certificate_list(value, "gateway certificate")
    if not certs:
        raise CredentialsError("Trust needs at least one pinned gateway certificate")
    return certs


def _intermediates(
    value: Iterable[CertificateLike] | CertificateLike,
) -> tuple[x509.Certificate, ...]:
    return load_certificate_list(value, "intermediate CA certificate")


def _utc(value: _dt.datetime | None) -> _dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("the validation time must be timezone-aware (e.g. datetime.UTC)")
    return value


_FINGERPRINTS: dict[int, tuple[x509.Certificate, bytes]] = {}
"""Fingerprints by certificate object (see ``_ids._BY_OBJECT``: each entry keeps its
certificate alive, so an ``id()`` here always means that object)."""


def _fingerprint(cert: x509.Certificate) -> bytes:
    """SHA-256 of the certificate (cached: the same few certificates come again and again)."""
    entry = _FINGERPRINTS.get(id(cert))
    if entry is not None and entry[0] is cert:
        return entry[1]
    value = cert.fingerprint(hashes.SHA256())
    if len(_FINGERPRINTS) >= 256:
        _FINGERPRINTS.clear()
    _FINGERPRINTS[id(cert)] = (cert, value)
    return value


def _cache_for(value: _dt.timedelta) -> _dt.timedelta:
    if not isinstance(value, _dt.timedelta) or value < _dt.timedelta(0):
        raise ValueError(f"cache_validation must be a timedelta >= 0, got {value!r}")
    return value


@attrs.frozen
class _Validated:
    """A successful chain validation, and the validation times it stands for."""

    chain: tuple[x509.Certificate, ...]
    valid_from: _dt.datetime
    """The latest notBefore in the chain: the validation holds from here..."""
    valid_until: _dt.datetime
    """...to the earliest notAfter."""
    expires: float
    """``time.monotonic()`` after which it is validated afresh."""


_MAX_REMEMBERED = 256


@attrs.frozen
class Trust:
    """Whom we trust to sign the e-mails we open.

    ``anchors`` are the trust anchors (e.g. the Gatekeeper root); ``gateway_certs`` the
    pinned certificate(s) of the peer -- several at once to live through a certificate
    rollover; ``gateway_site`` the UNB sender site ID the peer must use (``AAA336C`` for the
    CCF; ``None`` skips that check); ``at`` the validation time (timezone-aware; ``None``
    means "now" at each check).  ``intermediates`` are extra untrusted CA certificates
    offered to chain building when a signer does not ship its chain.

    A successful chain validation is remembered for ``cache_validation`` (default 10
    minutes; ``timedelta(0)``: never), per signer certificate and certificates offered with
    it, and reused only for validation times at which every certificate of that chain is
    within its validity period; otherwise (and after that time) the chain is validated
    afresh.  The anchors and policy of a ``Trust`` never change, and no revocation is
    checked, so the reused answer is the one a fresh validation would give.

    Every certificate argument takes a ``cryptography`` certificate, PEM or DER bytes
    (a PEM bundle may hold several), a path, or an iterable of those.
    """

    anchors: tuple[x509.Certificate, ...] = attrs.field(converter=_anchors)
    gateway_certs: tuple[x509.Certificate, ...] = attrs.field(converter=_pins)
    gateway_site: str | None = attrs.field(default=CCF_SITE, kw_only=True)
    at: _dt.datetime | None = attrs.field(default=None, kw_only=True, converter=_utc)
    intermediates: tuple[x509.Certificate, ...] = attrs.field(
        default=(), kw_only=True, converter=_intermediates
    )
    cache_validation: _dt.timedelta = attrs.field(
        default=_dt.timedelta(minutes=10), kw_only=True, converter=_cache_for, repr=False
    )
    _pinned: frozenset[bytes] = attrs.field(init=False, repr=False, eq=False)
    _store: Store = attrs.field(init=False, repr=False, eq=False)
    _validated: dict[tuple[bytes, ...], _Validated] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_pinned", frozenset(map(_fingerprint, self.gateway_certs)))
        object.__setattr__(self, "_store", Store(list(self.anchors)))

    def validation_time(self) -> _dt.datetime:
        """The time certificates are checked at: ``at``, or the current UTC time."""
        return self.at if self.at is not None else _dt.datetime.now(_dt.timezone.utc)

    def is_pinned(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` is one of the pinned gateway certificates (compared by hash)."""
        return _fingerprint(cert) in self._pinned

    def validate_chain(
        self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate] = ()
    ) -> list[x509.Certificate]:
        """Validate ``leaf`` up to an anchor for e-mail protection; return the chain.

        The chain is leaf first, anchor last.  Raises
        :class:`~icsclient.smime.CertificateExpiredError`,
        :class:`~icsclient.smime.CertificateNotYetValidError` or
        :class:`~icsclient.smime.UntrustedCertificateError`, each naming the certificate.
        No revocation checks are made.  A success is remembered (see the class docstring).
        """
        at = self.validation_time()
        key = (_fingerprint(leaf), *map(_fingerprint, intermediates))
        known = self._validated.get(key)
        if (
            known is not None
            and known.valid_from <= at <= known.valid_until
            and time.monotonic() < known.expires
        ):
            return list(known.chain)
        chain = self._validate(leaf, intermediates, at)
        ttl = self.cache_validation.total_seconds()
        if ttl > 0:
            if len(self._validated) >= _MAX_REMEMBERED:
                self._validated.clear()
            self._validated[key] = _Validated(
                chain=tuple(chain),
                valid_from=max(c.not_valid_before_utc for c in chain),
                valid_until=min(c.not_valid_after_utc for c in chain),
                expires=time.monotonic() + ttl,
            )
        return chain

    def _validate(
        self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], at: _dt.datetime
    ) -> list[x509.Certificate]:
        """Validate the chain at ``at`` (see :meth:`validate_chain`), remembering nothing."""
        pool = [*intermediates, *self.intermediates]
        self._check_dates(leaf, at, leaf=True)
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(at)
            .extension_policies(ca_policy=_ca_policy(), ee_policy=_ee_policy())
            .build_client_verifier()
        )
        try:
            verified = verifier.verify(leaf, pool)
        except VerificationError as exc:
            # say "expired" rather than "untrusted" when a CA on the issuer path is the cause
            path = self._issuer_path(leaf, pool)
            for cert in path:
                self._check_dates(cert, at, leaf=False)
            raise UntrustedCertificateError(
                f"the signer certificate {describe_certificate(leaf)} is not trusted for "
                f"e-mail protection: {self._missing_issuer(leaf, path) or exc}"
            ) from None
        chain = list(verified.chain)
        for cert in chain[1:]:
            self._check_dates(cert, at, leaf=False)
        return chain

    def _issuer_path(
        self, leaf: x509.Certificate, pool: Sequence[x509.Certificate]
    ) -> list[x509.Certificate]:
        """The CA certificates found by walking issuer names up from ``leaf`` (no checks)."""
        path: list[x509.Certificate] = []
        current = leaf
        candidates = [*pool, *self.anchors]
        while len(path) < 8:
            wanted = cert_name(current, "issuer")  # None: a name that cannot be parsed
            issuer = next(
                (
                    c
                    for c in candidates
                    if wanted is not None and cert_name(c) == wanted and c not in path
                ),
                None,
            )
            if issuer is None or issuer == current:
                break
            path.append(issuer)
            current = issuer
        return path

    def _missing_issuer(self, leaf: x509.Certificate, path: Sequence[x509.Certificate]) -> str:
        """Which issuer could not be found above ``leaf``, and what to pass; "" if none is."""
        top = path[-1] if path else leaf
        issuer, subject = cert_name(top, "issuer"), cert_name(top)
        if issuer is None or subject is None or issuer == subject:
            return ""
        if any(_fingerprint(top) == _fingerprint(a) for a in self.anchors):
            return ""
        return (
            f"the issuer {describe_name(issuer)} of {describe_subject(top)} was not "
            "found: the signer must send its intermediate CA certificate(s) (for our own "
            "credentials, a full-chain PEM or chain= in Credentials.from_pem), or pass them "
            "as Trust(intermediates=...), or add the issuing root to the trust anchors"
        )

    @staticmethod
    def _check_dates(cert: x509.Certificate, at: _dt.datetime, *, leaf: bool) -> None:
        """Raise the expired / not-yet-valid error for ``cert`` at ``at``."""
        check_validity(
            cert, at, warn_days=None, what="signer certificate" if leaf else "CA certificate"
        )

    def validity(self, at: _dt.datetime | None = None) -> tuple[Validity, ...]:
        """The validity of each pinned gateway certificate at ``at`` (default: now).

        ``days_left`` on each tells how long until a gateway rollover is due; see
        :func:`~icsclient.smime.check_validity` to refuse or warn.
        """
        return tuple(Validity.of(cert, at) for cert in self.gateway_certs)

    def check_pinned(self, cert: x509.Certificate) -> None:
        """Raise :class:`~icsclient.smime.NotPinnedError` unless ``cert`` is pinned."""
        if not self.is_pinned(cert):
            raise NotPinnedError(
                f"the signer certificate {describe_certificate(cert)} has a valid chain but is "
                f"not one of the {len(self.gateway_certs)} pinned gateway certificate(s)"
            )
