"""icsclient: lodge UN/EDIFACT interchanges with the Australian ICS through the CCF."""

from .edifact import Segment, iter_segments
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

__version__ = "0.1.0"

__all__ = [
    "BuildError",
    "CryptoError",
    "DecryptionError",
    "EdifactSyntaxError",
    "EnvelopeError",
    "IcsError",
    "MailError",
    "ReceivedError",
    "Segment",
    "SignatureError",
    "StoreError",
    "TrustError",
    "iter_segments",
]
