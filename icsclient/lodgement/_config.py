"""What :class:`~icsclient.lodgement.LodgementClient` checks of its set-up, at once.

A wrong certificate, address or site ID shows up at the gateway only as silence: e-mails
dropped unanswered, re-sends, and an interchange given up hours later.  So the client
refuses what it can tell is wrong when it is made, with the reason, and warns about what
is merely suspicious.  These are its checks, kept apart from the orchestration.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from datetime import datetime

from cryptography import x509

from ..errors import ConfigurationError
from ..mail import check_address
from ..smime import CertificateLike, Credentials, check_validity, load_certificate_list

__all__ = [
    "SiteNotInCertificateWarning",
    "check_addresses",
    "check_dates",
    "check_site",
    "credentials_list",
    "gateway_certificates",
]

log = logging.getLogger("icsclient.lodgement")


class SiteNotInCertificateWarning(UserWarning):
    """Our site ID appears nowhere in the signing certificate's subject.

    A Gatekeeper device certificate names the site it was issued for; signing with another
    site's certificate gets every lodgement dropped by the CCF.  A warning, not an error:
    some certificates name the site differently.
    """


SiteNotInCertificateWarning.__module__ = "icsclient.lodgement"


def credentials_list(credentials: Credentials | Iterable[Credentials]) -> tuple[Credentials, ...]:
    """One :class:`Credentials` or several (a rollover): the first signs, every one decrypts."""
    if isinstance(credentials, Credentials):
        return (credentials,)
    if isinstance(credentials, (str, bytes, bytearray)) or not isinstance(credentials, Iterable):
        raise TypeError(
            "credentials must be icsclient Credentials or a sequence of them (the first "
            f"signs, every one decrypts), not {type(credentials).__name__}"
        )
    out = tuple(credentials)
    if not out:
        raise ConfigurationError("credentials is empty: give at least the Credentials that sign")
    for i, item in enumerate(out):
        if not isinstance(item, Credentials):
            raise TypeError(
                f"credentials[{i}] must be icsclient Credentials, not {type(item).__name__}"
            )
    return out


def gateway_certificates(
    value: CertificateLike | Iterable[CertificateLike],
) -> tuple[x509.Certificate, ...]:
    """Load the gateway certificate(s) now, so a missing or broken file is refused at once."""
    certs = load_certificate_list(value, "gateway certificate")
    if not certs:
        raise ConfigurationError(
            "no gateway certificate was given: the e-mails are encrypted to it"
        )
    return certs


def check_addresses(mail_from: str, mail_to: str) -> tuple[str, str]:
    """Both addresses checked as :func:`~icsclient.mail.compose_email` checks them."""
    return check_address(mail_from, "mail_from"), check_address(mail_to, "mail_to")


def check_site(site: str, gateway_site: str, signer: Credentials) -> None:
    """Refuse the gateway's own site ID as ours; warn when the certificate names another."""
    if site == gateway_site:
        raise ConfigurationError(
            f"the site ID {site} is the gateway's own (the UNB recipient): give your own ICS "
            "site ID, the one your certificate was issued for"
        )
    subject = signer.certificate.subject
    values = [str(attribute.value).upper() for attribute in subject]
    if not any(site in value for value in values):
        message = (
            f"the site ID {site} appears nowhere in the signing certificate's subject "
            f"({', '.join(values) or 'empty'}): the CCF drops e-mails signed with another "
            "site's certificate"
        )
        log.warning("%s", message)
        warnings.warn(message, SiteNotInCertificateWarning, stacklevel=3)


def check_dates(
    signer: Credentials,
    gateway: Sequence[x509.Certificate],
    at: datetime,
    warn_days: int | None,
) -> None:
    """Refuse an expired or not-yet-valid signing or gateway certificate at ``at``.

    Raises :class:`~icsclient.smime.CertificateExpiredError` (or its
    :class:`~icsclient.smime.CertificateNotYetValidError`) naming the subject and the
    dates; within ``warn_days`` of expiry it warns instead (``None``: never).  Older
    credentials kept for decryption during a rollover are not checked: replies to what
    they signed may still come after they expire.
    """
    check_validity(signer.certificate, at, warn_days=warn_days, what="own signing certificate")
    for cert in gateway:
        check_validity(cert, at, warn_days=warn_days, what="gateway certificate")
