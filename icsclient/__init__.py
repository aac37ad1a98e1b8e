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
from .mail import ReceivedEmail, compose_email, open_email
from .smime import (
    Algorithms,
    CertificateExpiredError,
    CertificateNotYetValidError,
    Credentials,
    CredentialsError,
    NotEncryptedError,
    NotPinnedError,
    NotSignedError,
    SenderMismatchError,
    Trust,
    UntrustedCertificateError,
)
from .store import InboxEntry, MemoryStore, OutboxEntry, OutboxState, SqliteStore, Store
from .transport import EmlFolderReader, MaildirReader, MaildirWriter, SmtpSender, TransportError

__version__ = "0.1.0"

__all__ = [
    "CATALOGUE",
    "Algorithms",
    "BuildError",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "ContrlReport",
    "Credentials",
    "CredentialsError",
    "CryptoError",
    "CusresResponse",
    "DecryptionError",
    "DocumentType",
    "EdifactSyntaxError",
    "EmlFolderReader",
    "EnvelopeError",
    "Finding",
    "IcrSequence",
    "IcsError",
    "InboxEntry",
    "Interchange",
    "MailError",
    "MaildirReader",
    "MaildirWriter",
    "MemoryStore",
    "Message",
    "NotEncryptedError",
    "NotPinnedError",
    "NotSignedError",
    "OutboxEntry",
    "OutboxState",
    "Outcome",
    "ReceivedEmail",
    "ReceivedError",
    "Segment",
    "SenderMismatchError",
    "SignatureError",
    "SmtpSender",
    "SqliteStore",
    "Store",
    "StoreError",
    "TransportError",
    "Trust",
    "TrustError",
    "UntrustedCertificateError",
    "attachment_filename",
    "build_contrl",
    "build_contrl_interchange",
    "build_icontrl",
    "build_interchange",
    "compose_email",
    "email_subject",
    "iter_segments",
    "needs_acknowledgement",
    "open_email",
    "parse_contrl",
    "parse_cusres",
    "parse_interchange",
    "parse_subject",
]
