"""icsclient: lodge UN/EDIFACT interchanges with the Australian ICS through the CCF.

The layers, lowest first: :mod:`icsclient.edifact` (syntax), :mod:`icsclient.ics` (the
CCF's rules, responses, acknowledgements), :mod:`icsclient.smime` and
:mod:`icsclient.mail` (the e-mail), :mod:`icsclient.store` (the ledger),
:mod:`icsclient.lodgement` (the sans-I/O client), :mod:`icsclient.transport` and
:mod:`icsclient.testing` (SMTP, mailboxes, the simulated CCF).  The names most users need
are re-exported here.
"""

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
from .ics import (
    CATALOGUE,
    ContrlReport,
    CusresResponse,
    DocumentType,
    IcrSequence,
    Outcome,
    attachment_filename,
    build_contrl,
    build_contrl_interchange,
    build_icontrl,
    build_interchange,
    email_subject,
    needs_acknowledgement,
    parse_contrl,
    parse_cusres,
    parse_subject,
)
from .smime import Credentials, Trust
from .store import InboxEntry, MemoryStore, OutboxEntry, OutboxState, SqliteStore, Store
from .transport import EmlFolderReader, MaildirReader, MaildirWriter, SmtpSender, TransportError

__version__ = "0.1.0"

__all__ = [
    "TransportError",
    "SmtpSender",
    "MaildirWriter",
    "MaildirReader",
    "EmlFolderReader",
    "CATALOGUE",
    "BuildError",
    "ContrlReport",
    "Credentials",
    "CryptoError",
    "CusresResponse",
    "DecryptionError",
    "DocumentType",
    "EdifactSyntaxError",
    "EnvelopeError",
    "Finding",
    "IcrSequence",
    "IcsError",
    "InboxEntry",
    "Interchange",
    "MailError",
    "MemoryStore",
    "Message",
    "OutboxEntry",
    "OutboxState",
    "Outcome",
    "ReceivedError",
    "Segment",
    "SignatureError",
    "SqliteStore",
    "Store",
    "StoreError",
    "Trust",
    "TrustError",
    "attachment_filename",
    "build_contrl",
    "build_contrl_interchange",
    "build_icontrl",
    "build_interchange",
    "email_subject",
    "iter_segments",
    "needs_acknowledgement",
    "parse_contrl",
    "parse_cusres",
    "parse_interchange",
    "parse_subject",
]
