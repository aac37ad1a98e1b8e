"""The one error hierarchy of ``icsclient``.

Three branches let a caller tell apart *what we were asked to build is wrong*
(:class:`BuildError`), *what we received is wrong* (:class:`ReceivedError`) and
*cryptography or trust failed* (:class:`CryptoError`).  Every error names the place
at fault: a segment, element and component, a byte offset, a header or a check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class IcsError(Exception):
    """Base class of every error raised by ``icsclient``."""


class BuildError(IcsError, ValueError):
    """The caller's input cannot be turned into what the CCF accepts (we refuse to build it)."""


class ConfigurationError(IcsError, ValueError):
    """The library is set up wrongly: a certificate or key that cannot be used, a missing file.

    Not a :class:`BuildError`: an ``except BuildError`` around a lodgement must not swallow
    a misconfiguration.  (A ``ValueError`` too, as before.)
    """


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is not installed; the message names the ``pip install``."""

    def __init__(self, message: str, *, module: str) -> None:
        super().__init__(message)
        self.module = module
        self.name = module


class ReceivedError(IcsError):
    """What arrived from the peer or the wire is malformed."""


class EdifactSyntaxError(ReceivedError):
    """EDIFACT text that cannot be tokenized.

    ``offset`` is the byte offset into the input (counting from its first byte, BOM
    included) and ``segment_number`` the 1-based number of the segment being read.
    """

    def __init__(self, message: str, *, offset: int, segment_number: int) -> None:
        super().__init__(f"{message} (byte offset {offset}, segment {segment_number})")
        self.reason = message
        self.offset = offset
        self.segment_number = segment_number


class EnvelopeError(ReceivedError):
    """The interchange envelope breaks ISO 9735 rules; ``issues`` holds every finding.

    The findings are :class:`icsclient.edifact.Finding` records (typed loosely here: this
    module is the lowest layer and imports none above it).
    """

    def __init__(self, issues: Sequence[Any]) -> None:
        self.issues: tuple[Any, ...] = tuple(issues)
        lines = "; ".join(str(i) for i in self.issues[:5])
        more = f" (and {len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        super().__init__(f"{len(self.issues)} envelope finding(s): {lines}{more}")


class CryptoError(IcsError):
    """Base class for S/MIME failures: decryption, signature or trust."""


class DecryptionError(CryptoError):
    """The e-mail could not be decrypted (deliberately generic: no padding oracle)."""


class SignatureError(CryptoError):
    """The signature is missing, malformed or does not verify; the message says which check."""


class TrustError(CryptoError):
    """The signer is not trusted: untrusted, expired, not yet valid, not pinned, not the gateway."""


class MailError(ReceivedError):
    """The e-mail is not in the form the CCF uses (attachments, body text, subject, headers)."""


class StoreError(IcsError):
    """The ledger could not complete an operation."""
