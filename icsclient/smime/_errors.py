"""The S/MIME layer's refinements of the error hierarchy in :mod:`icsclient.errors`.

Every class here is a subclass of one of :class:`~icsclient.errors.BuildError`,
:class:`~icsclient.errors.SignatureError`, :class:`~icsclient.errors.TrustError` or
:class:`~icsclient.errors.CryptoError`, so a caller can catch the broad family or the one
check that failed.  :class:`~icsclient.errors.DecryptionError` is deliberately never
refined: every decryption failure looks the same (no padding oracle).
"""

from __future__ import annotations

from ..errors import BuildError, CryptoError, SignatureError, TrustError


class CredentialsError(BuildError):
    """A certificate, private key or PKCS#12 bundle cannot be loaded or does not fit.

    The message says what could not be loaded (never any key material or password).
    """


class NotEncryptedError(CryptoError):
    """An e-mail that must be encrypted (enveloped-data) arrived without encryption."""


class NotSignedError(SignatureError):
    """An e-mail that must be signed arrived without a signature."""


class CertificateExpiredError(TrustError):
    """The signer's certificate (or one in its chain) expired before the validation time."""


class CertificateNotYetValidError(TrustError):
    """The signer's certificate (or one in its chain) is not valid yet at the validation time."""


class UntrustedCertificateError(TrustError):
    """The signer's certificate does not chain to a trust anchor under the e-mail policy."""


class NotPinnedError(TrustError):
    """The signer has a valid chain but is not one of the pinned gateway certificates."""


class SenderMismatchError(TrustError):
    """The interchange's UNB sender is not the site ID expected from the signer (the gateway)."""
