"""The ICS2 errors, each under the matching branch of :mod:`icsclient.errors`.

*Our input was wrong* (an EORI, an LRN, a filing we refuse to build) is a
:class:`~icsclient.errors.BuildError`; *what we received is wrong* (malformed XML, a reply that
breaks the rules the library relies on, an EOS answer it cannot read) is a
:class:`~icsclient.errors.ReceivedError`. Every message names the value or element at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import BuildError, ReceivedError

if TYPE_CHECKING:
    from .findings import Finding


class Ics2InputError(BuildError):
    """A value given to the ICS2 builders is wrong (identifier, message id, model value)."""


class EoriError(Ics2InputError):
    """An EORI number is malformed: the message says whether length, prefix or characters."""


class PartyIdError(Ics2InputError):
    """An AS4 sender party id is not of the form ``[sysid@]EORI[@MS]``."""


class ReferenceNumberError(Ics2InputError):
    """An LRN or MRN is malformed (length or characters)."""


class FilingError(Ics2InputError):
    """A filing breaks the ICS2 rules and was not built; ``findings`` holds every error found."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings: tuple[Finding, ...] = tuple(findings)
        shown = "; ".join(str(f) for f in self.findings[:5])
        more = f" (and {len(self.findings) - 5} more)" if len(self.findings) > 5 else ""
        super().__init__(f"{len(self.findings)} error(s) in the filing: {shown}{more}")


class Ics2XmlError(ReceivedError):
    """XML that cannot be read: malformed, too large, a DOCTYPE or entity, or the wrong message.

    ``path`` is the element at fault (``/IE3R01/MRN``) or ``""`` when the document itself is.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{message} (at {path})" if path else message)
        self.reason = message
        self.path = path


class EoriServiceError(ReceivedError):
    """The EOS ``validateEORI`` service could not be reached or answered something unreadable."""
