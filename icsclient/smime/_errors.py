"""The S/MIME layer's refinements of the error hierarchy in :mod:`icsclient.errors`.

Every class here is a subclass of one of :class:`~icsclient.errors.ConfigurationError`,
:class:`~icsclient.errors.SignatureError`, :class:`~icsclient.errors.TrustError` or
:class:`~icsclient.errors.CryptoError`, so a caller can catch the broad family or the one
check that failed.  :class:`~icsclient.errors.DecryptionError` is deliberately never
refined: every decryption failure looks the same (no padding oracle).
"""

from __future__ import annotations

import datetime as _dt

from ..errors import ConfigurationError, CryptoError, SignatureError, TrustError


class CredentialsError(ConfigurationError):
    """A certificate, private key or PKCS#12 bundle cannot be loaded or does not fit.

    A configuration error, not a :class:`~icsclient.errors.BuildError`: an
    ``except BuildError`` around a lodgement does not swallow a missing key file.  The
    message says what could not be loaded (never any key material or password).
    """


class NotEncryptedError(CryptoError):
    """An e-mail that must be encrypted (enveloped-data) arrived without encryption."""


class NotSignedError(SignatureError):
    """An e-mail that must be signed arrived without a signature."""


class CertificateExpiredError(TrustError):
    """A certificate (the signer's, one in its chain, or our own) is outside its validity.

    Raised for an expired certificate, and by :func:`~icsclient.smime.check_validity` for
    one that is not valid yet too.  The message names the subject and the dates;
    ``subject``, ``not_before``, ``not_after`` and ``at`` carry them when known.
    """

    def __init__(
        self,
        message: str,
        *,
        subject: str | None = None,
        not_before: _dt.datetime | None = None,
        not_after: _dt.datetime | None = None,
        at: _dt.datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.subject = subject
        self.not_before = not_before
        self.not_after = not_after
        self.at = at


class CertificateNotYetValidError(CertificateExpiredError):
    """A certificate is not valid yet at the validation time.

    A kind of :class:`CertificateExpiredError` (outside its validity), so one ``except``
    catches both.
    """


class UntrustedCertificateError(TrustError):
    """The signer's certificate does not chain to a trust anchor under the e-mail policy."""


class NotPinnedError(TrustError):
    """The signer has a valid chain but is not one of the pinned gateway certificates."""


class SenderMismatchError(TrustError):
    """The interchange's UNB sender is not the site ID expected from the signer (the gateway)."""


for _cls in (
    CredentialsError,
    NotEncryptedError,
    NotSignedError,
    CertificateExpiredError,
    CertificateNotYetValidError,
    UntrustedCertificateError,
    NotPinnedError,
    SenderMismatchError,
):
    _cls.__module__ = "icsclient.smime"  # where users import them from
