"""icsclient: lodge UN/EDIFACT interchanges with the Australian ICS through the CCF."""

from .edifact import Finding, Interchange, Message, Segment, iter_segments, parse_interchange
from .errors import (
    BuildError,
    CryptoError,
    DecryptionError,
    EdifactSyntaxError,
    EnvelopeError,
    IcsError,
    MailError,
    ReceivedError,
    SignatureError,
    StoreError,
    TrustError,
)
from .ics import attachment_filename, build_interchange, email_subject, parse_subject

__version__ = "0.1.0"

__all__ = [
    "BuildError",
    "CryptoError",
    "DecryptionError",
    "EdifactSyntaxError",
    "EnvelopeError",
    "Finding",
    "Interchange",
    "Message",
    "IcsError",
    "MailError",
    "ReceivedError",
    "Segment",
    "SignatureError",
    "StoreError",
    "TrustError",
    "attachment_filename",
    "build_interchange",
    "email_subject",
    "iter_segments",
    "parse_interchange",
    "parse_subject",
]
