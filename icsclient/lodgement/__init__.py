"""The lodgement lifecycle as a sans-I/O client: outbox, inbox, acknowledgements, resends.

:class:`LodgementClient` turns business messages into signed-and-encrypted e-mails with
ICRs from the ledger, and received e-mails into events; it sends nothing and reads no
mailbox (that is :mod:`icsclient.transport`'s job, or yours), sleeps never and takes every
time from an injectable clock.  What it knows lives in a :class:`~icsclient.store.Store`,
so a process may die at any point and :meth:`LodgementClient.recover` picks up the pieces:

- :meth:`~LodgementClient.lodge` allocates the next ICR and records the interchange and its
  e-mail as QUEUED in one transaction, and returns an :class:`Outgoing` to send
  (:meth:`~LodgementClient.lodge_built` sends an interchange exactly as the caller built
  it, e.g. a deliberately faulty one in a test or demo);
- :meth:`~LodgementClient.sent` records the hand-over (the CONTRL is now awaited);
- :meth:`~LodgementClient.receive` opens what the CCF sends and returns events: CONTRL
  verdicts matched to our outbox (:class:`ContrlAccepted`, :class:`ContrlRejected`,
  :class:`ContrlDuplicate`, :class:`ContrlUnmatched`), CUSRES responses
  (:class:`ResponseReceived`, :class:`Superseded` for out-of-order ones), the ICONTRL to
  send back once the interchange is stored (:class:`AcknowledgementToSend`), repeats
  (:class:`DuplicateReceived`) and failures (:class:`OpenFailed`, kept in quarantine);
- :meth:`~LodgementClient.due` offers overdue interchanges again with the same ICR
  (:class:`ResendDue`) and finally gives them up (:class:`GaveUp`);
- :meth:`~LodgementClient.summary` counts where everything stands.

Every event that asks for an e-mail to be sent is a :class:`SendEmail` with an
``outgoing`` attribute; send it, then call :meth:`~LodgementClient.sent` with it.
"""

from ._client import ICONTRL_DETAIL, LodgementClient
from ._config import SiteNotInCertificateWarning
from ._events import (
    AcknowledgementToSend,
    ContrlAccepted,
    ContrlDuplicate,
    ContrlReceived,
    ContrlRejected,
    ContrlUnmatched,
    DuplicateReceived,
    Event,
    GaveUp,
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
from ._outbound import Lodgeable, MessageSpec, PkiLike
from ._summary import LodgementSummary

__all__ = [
    "ICONTRL_DETAIL",
    "AcknowledgementToSend",
    "ContrlAccepted",
    "ContrlDuplicate",
    "ContrlReceived",
    "ContrlRejected",
    "ContrlUnmatched",
    "DuplicateReceived",
    "Event",
    "GaveUp",
    "Lodgeable",
    "LodgementClient",
    "LodgementSummary",
    "MessageSpec",
    "NotUnderstood",
    "OpenFailed",
    "Outgoing",
    "OutgoingKind",
    "PendingSend",
    "PkiLike",
    "PlainTextReceived",
    "ResendDue",
    "ResponseReceived",
    "SendEmail",
    "SiteNotInCertificateWarning",
    "Superseded",
]

for _name in __all__:  # shown as icsclient.lodgement.X, where users import them from
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith(f"{__name__}._"):
        _obj.__module__ = __name__
