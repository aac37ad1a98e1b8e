"""What the lodgement client hands back: outgoing e-mails and events (plain frozen data)."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ..ics.contrl import ContrlReport
from ..ics.cusres import CusresResponse, Outcome
from ..store import OutboxState

__all__ = [
    "AcknowledgementToSend",
    "ContrlAccepted",
    "ContrlDuplicate",
    "ContrlReceived",
    "ContrlRejected",
    "ContrlUnmatched",
    "DuplicateReceived",
    "Event",
    "GaveUp",
    "NotUnderstood",
    "OpenFailed",
    "Outgoing",
    "OutgoingKind",
    "PendingSend",
    "PlainTextReceived",
    "ResendDue",
    "ResponseReceived",
    "SendEmail",
    "Superseded",
]


def _size(data: bytes) -> str:
    return f"<{len(data)} bytes>"


class OutgoingKind(enum.Enum):
    """What an outgoing e-mail carries."""

    LODGEMENT = "lodgement"
    """Business messages lodged with :meth:`LodgementClient.lodge`; the CCF answers with a
    CONTRL, and the e-mail is re-sent (same ICR) while that CONTRL is overdue."""
    ACKNOWLEDGEMENT = "acknowledgement"
    """An ICONTRL acknowledging an interchange the CCF sent; nothing answers it."""


@attrs.frozen
class Outgoing:
    """An e-mail to hand to the mail server, then report with :meth:`LodgementClient.sent`.

    ``email`` is the complete signed-and-encrypted message (RFC 5322 bytes, CRLF);
    ``interchange`` the EDIFACT it carries; ``site`` and ``icr`` its UNB sender and ICR
    (as written), which key it in the outbox.  ``attempt`` is the sending attempt this
    would be (1 for a first send).  For an ICONTRL, ``acknowledges`` is the (sender, ICR)
    of the interchange it acknowledges.  ``mail_from`` and ``mail_to`` are the envelope
    addresses for SMTP.
    """

    site: str
    icr: str
    kind: OutgoingKind
    email: bytes = attrs.field(repr=_size)
    interchange: bytes = attrs.field(repr=_size)
    mail_from: str
    mail_to: str
    attempt: int = 1
    acknowledges: tuple[str, str] | None = None


@attrs.frozen
class Event:
    """Base class of everything :class:`LodgementClient` reports."""


@attrs.frozen
class SendEmail(Event):
    """An event that asks the caller to send ``outgoing`` and then call ``sent``."""

    outgoing: Outgoing


@attrs.frozen
class AcknowledgementToSend(SendEmail):
    """An ICONTRL to send for an interchange that is now safely stored.

    ``sender`` and ``icr`` name the received interchange it acknowledges (also in
    ``outgoing.acknowledges``).  The ICONTRL has an ICR of our own, recorded in the outbox
    like any interchange, but no CONTRL ever answers it.
    """

    sender: str
    icr: str


@attrs.frozen
class ResendDue(SendEmail):
    """An interchange whose CONTRL is overdue: send the same e-mail again (same ICR).

    ``outgoing.attempt`` is the attempt this will be; ``last_sent`` when it last went out
    (``None`` if every earlier attempt failed before reaching the mail server).
    """

    last_sent: datetime | None


@attrs.frozen
class PendingSend(SendEmail):
    """An interchange recorded but never reported sent (found by :meth:`~LodgementClient.recover`).

    A crash or a failed send left it queued; send it now.
    """


@attrs.frozen
class GaveUp(Event):
    """No CONTRL came for interchange ``icr`` after ``attempts`` sending attempts.

    The outbox entry is now :attr:`~icsclient.store.OutboxState.GAVE_UP`; a CONTRL that
    arrives later still updates it.
    """

    site: str
    icr: str
    attempts: int
    last_sent: datetime | None


@attrs.frozen
class ContrlReceived(Event):
    """A CONTRL from the CCF about one of our interchanges.

    ``site`` and ``icr`` name our interchange (as the CONTRL quotes it); ``report`` is the
    parsed CONTRL and ``explanation`` its plain-English reading.  ``state`` is the outbox
    state after the CONTRL was applied (``None`` when no outbox entry matched).
    ``contrl_sender`` / ``contrl_icr`` identify the CONTRL's own interchange.
    """

    site: str
    icr: str
    report: ContrlReport = attrs.field(repr=False)
    explanation: str
    state: OutboxState | None
    contrl_sender: str
    contrl_icr: str


@attrs.frozen
class ContrlAccepted(ContrlReceived):
    """The CCF accepted our interchange: it passed its messages on to the ICS."""


@attrs.frozen
class ContrlRejected(ContrlReceived):
    """The CCF rejected our interchange, or some of its messages, or reported errors in it.

    ``errors`` holds one explained line per error and ``rejected_messages`` the message
    references (UNH 0062) that did not reach the ICS (every message when the whole
    interchange was rejected).  The outbox entry is REJECTED when nothing got through,
    ACKNOWLEDGED (with the explanation as its detail) when some messages did.
    """

    errors: tuple[str, ...] = ()
    rejected_messages: tuple[str, ...] = ()


@attrs.frozen
class ContrlDuplicate(ContrlReceived):
    """The CCF says it already had our interchange (error 26, duplicate detected).

    This answers a re-send whose first CONTRL was lost (or is still on its way): the
    interchange reached the CCF once and is not processed again.  An entry not yet final
    becomes ACKNOWLEDGED; a final one keeps its state.
    """


@attrs.frozen
class ContrlUnmatched(ContrlReceived):
    """A CONTRL about an interchange that is not in our outbox (``state`` is ``None``)."""


@attrs.frozen
class ResponseReceived(Event):
    """A CUSRES response that now stands for its report.

    ``sender`` / ``icr`` / ``message_reference`` locate it in the received interchange;
    ``sender_reference`` and ``sender_version`` name our report (RFF+ABO, or RFF+AAY in an
    ERM); ``outcome`` is the verdict and ``response`` everything the response says.
    ``prepared`` is its UNB date/time (local Australian time as written).
    """

    sender: str
    icr: str
    message_reference: str
    sender_reference: str | None
    sender_version: str | None
    document_name: str
    outcome: Outcome
    prepared: datetime | None
    response: CusresResponse = attrs.field(repr=False)


@attrs.frozen
class Superseded(Event):
    """Two responses about one report arrived out of order; the newer one stands.

    Only answers (BGM function 11, and ERMs) compete: a status report or advice about
    the report (function 8 or 14) is delivered and never supersedes, nor is superseded.

    ``superseded`` is the (sender, ICR, message reference) of the response that no longer
    stands and ``standing`` that of the one that does.  ``ignored`` is true when the
    response just received is the older one: it was kept in the inbox but not delivered
    (no :class:`ResponseReceived`).  ``reason`` names the rule that decided.
    """

    sender_reference: str
    superseded: tuple[str, str, str]
    standing: tuple[str, str, str]
    ignored: bool
    reason: str


@attrs.frozen
class DuplicateReceived(Event):
    """An interchange, or a response, that was received before: not delivered again.

    ``sender`` / ``icr`` name what arrived.  ``first`` is the (sender, ICR) of the copy
    received first: the same pair for a repeated interchange (the CCF re-sent it because
    our ICONTRL was lost, or the mail system duplicated it), another one for a response
    re-sent in a new interchange with the same content.  ``acknowledged_again`` says
    whether an :class:`AcknowledgementToSend` accompanies it.
    """

    sender: str
    icr: str
    first: tuple[str, str]
    first_received: datetime | None
    acknowledged_again: bool


@attrs.frozen
class NotUnderstood(Event):
    """A stored interchange, or a message in it, that the client could not act on.

    For example a message type the client does not read, a CUSRES without a BGM, or an
    interchange that cannot be acknowledged.  It stays in the inbox with ``reason``.
    """

    sender: str
    icr: str
    reason: str


@attrs.frozen
class OpenFailed(Event):
    """A received e-mail that could not be opened or read; kept in the quarantine.

    ``reason`` says what failed (decryption, signature, trust, the e-mail's form, the
    interchange, its addressee); ``error`` is the exception's class name and
    ``quarantine_id`` the entry in :meth:`~icsclient.store.Store.quarantined`.
    """

    reason: str
    error: str
    quarantine_id: int


@attrs.frozen
class PlainTextReceived(Event):
    """A plain-text response (for clients registered for them): no interchange, no ICONTRL.

    ``subject`` and ``text`` are the message; it is kept in the quarantine as
    ``quarantine_id`` so that nothing received is lost.
    """

    subject: str
    text: str
    quarantine_id: int
