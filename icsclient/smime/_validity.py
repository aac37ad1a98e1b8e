"""Certificate validity: refuse what is outside its dates, warn before it runs out.

One home for the date check on a single certificate, used by :class:`~icsclient.smime.Trust`
on what it validates and by :class:`~icsclient.smime.Credentials` (and, through them, the
lodgement client) on our own certificates and the gateway's.
"""

from __future__ import annotations

import datetime as _dt
import logging
import warnings

import attrs
from cryptography import x509

from ._errors import CertificateExpiredError, CertificateNotYetValidError
from ._load import describe_certificate, describe_subject

__all__ = ["CertificateExpiringWarning", "Validity", "check_validity"]

log = logging.getLogger("icsclient.smime")

WARN_DAYS = 30
"""The default warning horizon of :func:`check_validity`: 30 days before ``not_after``."""


class CertificateExpiringWarning(UserWarning):
    """A certificate runs out within the warning horizon (30 days unless configured)."""


CertificateExpiringWarning.__module__ = "icsclient.smime"


@attrs.frozen
class Validity:
    """A certificate's validity period, seen at one instant ``at`` (all times in UTC)."""

    subject: str
    not_before: _dt.datetime
    not_after: _dt.datetime
    at: _dt.datetime

    @classmethod
    def of(cls, cert: x509.Certificate, at: _dt.datetime | None = None) -> Validity:
        """The validity of ``cert`` at ``at`` (default: now)."""
        when = _dt.datetime.now(_dt.timezone.utc) if at is None else _aware(at)
        return cls(
            describe_subject(cert), cert.not_valid_before_utc, cert.not_valid_after_utc, when
        )

    @property
    def days_left(self) -> int:
        """Whole days from ``at`` to ``not_after`` (negative once expired)."""
        return (self.not_after - self.at) // _dt.timedelta(days=1)

    @property
    def expired(self) -> bool:
        """Whether ``at`` is after ``not_after``."""
        return self.at > self.not_after

    @property
    def not_yet_valid(self) -> bool:
        """Whether ``at`` is before ``not_before``."""
        return self.at < self.not_before

    def dates(self) -> str:
        """``valid 2026-01-01 00:00 to 2028-01-01 00:00 UTC``."""
        return f"valid {self.not_before:%Y-%m-%d %H:%M} to {self.not_after:%Y-%m-%d %H:%M} UTC"


def _aware(at: _dt.datetime) -> _dt.datetime:
    if at.tzinfo is None:
        raise ValueError("the validation time must be timezone-aware (e.g. datetime.timezone.utc)")
    return at


def check_validity(
    cert: x509.Certificate,
    at: _dt.datetime | None = None,
    *,
    warn_days: int | None = WARN_DAYS,
    what: str = "certificate",
) -> Validity:
    """Check that ``cert`` is valid at ``at`` (default: now); return its :class:`Validity`.

    Raises :class:`~icsclient.smime.CertificateExpiredError` when it has expired and
    :class:`~icsclient.smime.CertificateNotYetValidError` (a kind of it) when it is not
    valid yet; the message names ``what`` (``"own certificate"``), the subject and the
    dates.  Within ``warn_days`` of expiry it warns (a
    :class:`CertificateExpiringWarning` through :mod:`warnings`, and a log line on the
    ``icsclient.smime`` logger); ``warn_days=None`` never warns.
    """
    v = Validity.of(cert, at)
    named = describe_certificate(cert)
    if v.expired:
        raise CertificateExpiredError(
            f"the {what} {named} expired on {v.not_after:%Y-%m-%d %H:%M:%S} UTC "
            f"(checked at {v.at:%Y-%m-%d %H:%M:%S} UTC; {v.dates()})",
            subject=v.subject,
            not_before=v.not_before,
            not_after=v.not_after,
            at=v.at,
        )
    if v.not_yet_valid:
        raise CertificateNotYetValidError(
            f"the {what} {named} is not valid before {v.not_before:%Y-%m-%d %H:%M:%S} UTC "
            f"(checked at {v.at:%Y-%m-%d %H:%M:%S} UTC; {v.dates()})",
            subject=v.subject,
            not_before=v.not_before,
            not_after=v.not_after,
            at=v.at,
        )
    if warn_days is not None and v.days_left < warn_days:
        message = (
            f"the {what} {named} expires in {v.days_left} day(s), on "
            f"{v.not_after:%Y-%m-%d %H:%M} UTC: renew it and register the new one"
        )
        log.warning("%s", message)
        warnings.warn(message, CertificateExpiringWarning, stacklevel=2)
    return v
