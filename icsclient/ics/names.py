"""Site IDs, ICRs and the e-mail names the CCF uses (subject line and attachment name)."""

from __future__ import annotations

import re

import attrs

from ..errors import BuildError, MailError

CCF_SITE = "AAA336C"
"""The CCF's own site ID: the recipient of everything sent to Customs."""

MAX_ICR = 99_999_999_999_999
"""The largest Interchange Control Reference (n14); the sequence wraps to 1 after it."""

_SITE = re.compile(r"[A-Z0-9]{1,35}\Z")
_ICR = re.compile(r"[0-9]{1,14}\Z")


def check_site_id(value: object, what: str = "site ID") -> str:
    """Return ``value`` if it is a site ID (1-35 characters A-Z, 0-9), else raise BuildError."""
    if not isinstance(value, str) or not _SITE.match(value):
        raise BuildError(
            f"{what} must be 1-35 characters of A-Z and 0-9 (like AAA676Y), got {value!r}"
        )
    return value


def check_icr(value: object, what: str = "interchange control reference") -> str:
    """Return the ICR as written (str) if it is 1..99999999999999, else raise BuildError.

    An ``int`` is written as plain digits; a ``str`` keeps its form (zero padding too).
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BuildError(f"{what} must be an int or a string of digits, got {value!r}")
    text = str(value)
    if not _ICR.match(text) or not 1 <= int(text) <= MAX_ICR:
        raise BuildError(f"{what} must be a number from 1 to {MAX_ICR}, got {value!r}")
    return text


def email_subject(creator: str, icr: int | str, recipient: str = CCF_SITE) -> str:
    """The subject line ``<creator>_<ICR>_<recipient>``, e.g. ``AAA676Y_42_AAA336C``."""
    return "_".join(
        (
            check_site_id(creator, "interchange creator"),
            check_icr(icr),
            check_site_id(recipient, "recipient"),
        )
    )


def attachment_filename(site: str, icr: int | str) -> str:
    """The attachment file name ``<site>_<ICR>.edi``.

    For mail to the CCF ``site`` is the interchange creator; for mail from the CCF it is
    the recipient site (yours).
    """
    return f"{check_site_id(site)}_{check_icr(icr)}.edi"


@attrs.frozen
class SubjectFields:
    """What a CCF subject line says.

    ``plain_text`` is true for a plain-text response subject (it contains spaces); then
    ``creator``, ``icr`` and ``recipient`` are ``None`` and ``text`` holds the subject.
    """

    text: str
    creator: str | None = None
    icr: str | None = None
    recipient: str | None = None
    plain_text: bool = False


def parse_subject(text: str) -> SubjectFields:
    """Read a subject line: ``AAA336C_00000000000042_AAA676Y`` or a plain-text subject.

    Raises :class:`~icsclient.errors.MailError` for a subject that is neither.
    """
    subject = text.strip()
    if not subject:
        raise MailError("the e-mail has no subject")
    if any(ch.isspace() for ch in subject):
        return SubjectFields(text=subject, plain_text=True)
    parts = subject.split("_")
    if (
        len(parts) != 3
        or not _SITE.match(parts[0])
        or not _ICR.match(parts[1])
        or not _SITE.match(parts[2])
    ):
        raise MailError(
            f"subject {subject[:80]!r} is not <creator>_<ICR>_<recipient> "
            "(site IDs A-Z0-9, ICR up to 14 digits)"
        )
    return SubjectFields(text=subject, creator=parts[0], icr=parts[1], recipient=parts[2])


def parse_attachment_filename(name: str) -> tuple[str, str]:
    """Split ``<site>_<ICR>.edi`` into (site, ICR); raises MailError otherwise."""
    stem, dot, ext = name.rpartition(".")
    site, _, icr = stem.partition("_")
    if not dot or ext.lower() != "edi" or not _SITE.match(site) or not _ICR.match(icr):
        raise MailError(f"attachment name {name[:80]!r} is not <site>_<ICR>.edi")
    return site, icr
