"""icsclient: lodge UN/EDIFACT interchanges with the Australian ICS through the CCF.

The layers, lowest first: :mod:`icsclient.edifact` (syntax), :mod:`icsclient.ics` (the
CCF's rules, responses, acknowledgements), :mod:`icsclient.smime` and
:mod:`icsclient.mail` (the e-mail), :mod:`icsclient.store` (the ledger),
:mod:`icsclient.lodgement` (the sans-I/O client), :mod:`icsclient.transport` and
:mod:`icsclient.testing` (SMTP, mailboxes, the simulated CCF).  The names most users need
are re-exported here, lazily (PEP 562): ``import icsclient`` or
``import icsclient.edifact`` loads only what is used, so the EDIFACT layer comes without
``cryptography``.  Under IPython the HTML displays of :mod:`icsclient.display` register
themselves on import.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Finding": ".edifact",
    "Interchange": ".edifact",
    "Message": ".edifact",
    "Segment": ".edifact",
    "iter_segments": ".edifact",
    "parse_interchange": ".edifact",
    "BuildError": ".errors",
    "ConfigurationError": ".errors",
    "CryptoError": ".errors",
    "DecryptionError": ".errors",
    "EdifactSyntaxError": ".errors",
    "EnvelopeError": ".errors",
    "IcsError": ".errors",
    "MailError": ".errors",
    "MissingDependencyError": ".errors",
    "ReceivedError": ".errors",
    "SignatureError": ".errors",
    "StoreError": ".errors",
    "TrustError": ".errors",
    "CATALOGUE": ".ics",
    "ContrlReport": ".ics",
    "CusresResponse": ".ics",
    "DocumentType": ".ics",
    "IcrSequence": ".ics",
    "Outcome": ".ics",
    "attachment_filename": ".ics",
    "build_contrl": ".ics",
    "build_contrl_interchange": ".ics",
    "build_icontrl": ".ics",
    "build_interchange": ".ics",
    "email_subject": ".ics",
    "needs_acknowledgement": ".ics",
    "parse_contrl": ".ics",
    "parse_cusres": ".ics",
    "parse_subject": ".ics",
    "AcknowledgementToSend": ".lodgement",
    "ContrlAccepted": ".lodgement",
    "ContrlDuplicate": ".lodgement",
    "ContrlReceived": ".lodgement",
    "ContrlRejected": ".lodgement",
    "ContrlUnmatched": ".lodgement",
    "DuplicateReceived": ".lodgement",
    "Event": ".lodgement",
    "GaveUp": ".lodgement",
    "LodgementClient": ".lodgement",
    "LodgementSummary": ".lodgement",
    "NotUnderstood": ".lodgement",
    "OpenFailed": ".lodgement",
    "Outgoing": ".lodgement",
    "OutgoingKind": ".lodgement",
    "PendingSend": ".lodgement",
    "PlainTextReceived": ".lodgement",
    "ResendDue": ".lodgement",
    "ResponseReceived": ".lodgement",
    "SendEmail": ".lodgement",
    "Superseded": ".lodgement",
    "ReceivedEmail": ".mail",
    "compose_email": ".mail",
    "open_email": ".mail",
    "Algorithms": ".smime",
    "CertificateExpiredError": ".smime",
    "CertificateNotYetValidError": ".smime",
    "Credentials": ".smime",
    "CredentialsError": ".smime",
    "NotEncryptedError": ".smime",
    "NotPinnedError": ".smime",
    "NotSignedError": ".smime",
    "SenderMismatchError": ".smime",
    "Trust": ".smime",
    "UntrustedCertificateError": ".smime",
    "InboxEntry": ".store",
    "MemoryStore": ".store",
    "OutboxEntry": ".store",
    "OutboxState": ".store",
    "SqliteStore": ".store",
    "Store": ".store",
    "EmlFolderReader": ".transport",
    "MaildirReader": ".transport",
    "MaildirWriter": ".transport",
    "SmtpSender": ".transport",
    "TransportError": ".transport",
}
"""Where each public name lives (the package-relative module that defines or re-exports it)."""

__all__ = [
    "CATALOGUE",
    "AcknowledgementToSend",
    "Algorithms",
    "BuildError",
    "CertificateExpiredError",
    "CertificateNotYetValidError",
    "ConfigurationError",
    "ContrlAccepted",
    "ContrlDuplicate",
    "ContrlReceived",
    "ContrlRejected",
    "ContrlReport",
    "ContrlUnmatched",
    "Credentials",
    "CredentialsError",
    "CryptoError",
    "CusresResponse",
    "DecryptionError",
    "DocumentType",
    "DuplicateReceived",
    "EdifactSyntaxError",
    "EmlFolderReader",
    "EnvelopeError",
    "Event",
    "Finding",
    "GaveUp",
    "IcrSequence",
    "IcsError",
    "InboxEntry",
    "Interchange",
    "LodgementClient",
    "LodgementSummary",
    "MailError",
    "MissingDependencyError",
    "MaildirReader",
    "MaildirWriter",
    "MemoryStore",
    "Message",
    "NotEncryptedError",
    "NotPinnedError",
    "NotSignedError",
    "NotUnderstood",
    "OpenFailed",
    "OutboxEntry",
    "OutboxState",
    "Outcome",
    "Outgoing",
    "OutgoingKind",
    "PendingSend",
    "PlainTextReceived",
    "ReceivedEmail",
    "ReceivedError",
    "ResendDue",
    "ResponseReceived",
    "Segment",
    "SendEmail",
    "SenderMismatchError",
    "SignatureError",
    "SmtpSender",
    "SqliteStore",
    "Store",
    "StoreError",
    "Superseded",
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

if TYPE_CHECKING:
    from .edifact import (
        Finding,
        Interchange,
        Message,
        Segment,
        iter_segments,
        parse_interchange,
    )
    from .errors import (
        BuildError,
        ConfigurationError,
        CryptoError,
        DecryptionError,
        EdifactSyntaxError,
        EnvelopeError,
        IcsError,
        MailError,
        MissingDependencyError,
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
    from .lodgement import (
        AcknowledgementToSend,
        ContrlAccepted,
        ContrlDuplicate,
        ContrlReceived,
        ContrlRejected,
        ContrlUnmatched,
        DuplicateReceived,
        Event,
        GaveUp,
        LodgementClient,
        LodgementSummary,
        NotUnderstood,
        OpenFailed,
        Outgoing,
        OutgoingKind,
        PendingSend,
        PlainTextReceived,
        ResendDue,
        ResponseReceived,
        SendEmail,
        Superseded,
    )
    from .mail import (
        ReceivedEmail,
        compose_email,
        open_email,
    )
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
    from .store import (
        InboxEntry,
        MemoryStore,
        OutboxEntry,
        OutboxState,
        SqliteStore,
        Store,
    )
    from .transport import (
        EmlFolderReader,
        MaildirReader,
        MaildirWriter,
        SmtpSender,
        TransportError,
    )


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'icsclient' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if "IPython" in sys.modules:  # a notebook: the values' _repr_html_ find their displays
    importlib.import_module(".display", __name__)
