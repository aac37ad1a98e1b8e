"""The ledger's values: outbox states and the entries of the outbox, inbox and quarantine."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs


class OutboxState(enum.Enum):
    """Where an interchange in the outbox stands."""

    QUEUED = "QUEUED"
    """Recorded with its ICR, not yet handed to the mail server."""
    SENT = "SENT"
    """Handed to the mail server at least once; waiting for the CCF's CONTRL."""
    ACKNOWLEDGED = "ACKNOWLEDGED"
    """The CCF's CONTRL accepted it (final)."""
    REJECTED = "REJECTED"
    """The CCF's CONTRL rejected it (final)."""
    GAVE_UP = "GAVE_UP"
    """No acknowledgement after the last resend (final)."""

    @property
    def is_final(self) -> bool:
        """Whether no further sending happens in this state."""
        return self in (OutboxState.ACKNOWLEDGED, OutboxState.REJECTED, OutboxState.GAVE_UP)


def _size(data: bytes | None) -> str:
    return "None" if data is None else f"<{len(data)} bytes>"


@attrs.frozen
class OutboxEntry:
    """One interchange we lodged (or are about to), as recorded in the outbox."""

    site: str
    """Interchange creator site ID (UNB S002)."""
    icr: str
    """Interchange Control Reference exactly as written in UNB 0020."""
    message_count: int
    """Number of messages in the interchange."""
    interchange: bytes = attrs.field(repr=_size)
    """The EDIFACT interchange."""
    email: bytes | None = attrs.field(repr=_size)
    """The composed (signed and encrypted) e-mail, or ``None`` until composed."""
    state: OutboxState
    """Where the interchange stands."""
    attempts: int
    """Sending attempts so far (:meth:`Store.mark_sent` and :meth:`Store.record_attempt`)."""
    created: datetime
    """When the ICR was allocated and the interchange recorded."""
    updated: datetime
    """When the state, attempts or detail last changed."""
    last_sent: datetime | None
    """When the e-mail was last handed to the mail server."""
    next_resend: datetime | None
    """When to send again if still unacknowledged (``None``: never)."""
    detail: str | None
    """Latest error or detail text."""
    kind: str | None = None
    """The type of the interchange's first message (``CUSCAR``, ``CONTRL`` for an ICONTRL ...),
    as the caller recorded it (``None``: not recorded)."""
    acknowledges: tuple[str, str] | None = None
    """For an ICONTRL: the (sender site, ICR) of the received interchange it acknowledges."""

    @property
    def is_acknowledgement(self) -> bool:
        """Whether this is an ICONTRL (its first message a CONTRL) rather than a lodgement."""
        return self.kind == "CONTRL"


@attrs.frozen
class InboxEntry:
    """One interchange received, as recorded in the inbox."""

    sender: str
    """Sender site ID from UNB S002."""
    icr: str
    """Interchange Control Reference exactly as written in the received UNB 0020."""
    received: datetime
    """When it was first stored."""
    interchange: bytes = attrs.field(repr=_size)
    """The EDIFACT interchange."""
    raw_email: bytes | None = attrs.field(repr=_size)
    """The e-mail it arrived in, if kept."""
    acknowledged: bool
    """Whether its acknowledgement (ICONTRL) was sent or found unneeded."""
    processed: bool
    """Whether its content was processed."""
    response_json: str | None
    """The parsed response as JSON text, filled by the caller."""
    kind: str | None
    """What it is (e.g. ``CONTRL``, ``CUSRES``), filled by the caller."""
    detail: str | None
    """Detail text, filled by the caller."""


@attrs.frozen
class QuarantineEntry:
    """An e-mail that could not be opened, kept with the reason."""

    id: int
    """Number of the entry in the quarantine, from 1 upwards."""
    received: datetime
    """When it was quarantined."""
    raw: bytes = attrs.field(repr=_size)
    """The raw e-mail."""
    reason: str
    """Why it could not be opened."""


@attrs.frozen
class StandingResponse:
    """The response that stands for one report (one sender reference) of a site.

    Kept by the lodgement client (:mod:`icsclient.lodgement`), which decides which response
    stands; the store only keeps it.
    """

    site: str
    """Our site ID (the UNB recipient of the response)."""
    reference: str
    """The report's sender reference the response answers."""
    at: tuple[str, str, str]
    """Where the standing response is: (sender site, ICR, message reference)."""
    prepared: datetime | None
    """Its UNB date/time of preparation, as written (naive: the sender's local time)."""
    arrived: datetime
    """When it was received."""
    content: str
    """A digest of its content (:func:`~icsclient.ics.ordering.content_digest`)."""
    outcome: str
    """Its outcome (an :class:`~icsclient.ics.cusres.Outcome` value)."""
    history: tuple[str, ...] = ()
    """Digests of the responses it superseded or that were ignored, oldest first."""
