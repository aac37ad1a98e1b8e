"""The lodgement ledger: ICR sequences, outbox, inbox and quarantine, in memory or in SQLite.

A :class:`Store` keeps everything the lodgement client must not forget across a crash:

- the ICR sequence of every creator site (:meth:`Store.allocate_icr`, used by
  :class:`~icsclient.ics.sequence.IcrSequence`);
- the **outbox**: every interchange lodged, keyed by (creator site, ICR as written), with its
  state (:class:`OutboxState`), attempts and resend time.  :meth:`Store.allocate_and_record`
  allocates an ICR and records the interchange built with it in one transaction, so a crash
  can neither hand a number out twice nor lose one;
- the **inbox**: every interchange received, keyed by (sender site, ICR as written), so that a
  duplicate is recognised, acknowledged again and not processed again;
- the **quarantine**: e-mails that could not be opened, kept with the reason;
- a small key/value ``meta`` table.

Two implementations share the interface: :class:`MemoryStore` (tests, notebooks) and
:class:`SqliteStore` (the embedded default: one file that several processes may share).
Every time is a timezone-aware :class:`~datetime.datetime` passed in by the caller (no clock is
read here); times come back in UTC, equal to what was stored.  Every failure of the ledger
raises :class:`~icsclient.errors.StoreError`; an invalid site ID or ICR number raises
:class:`~icsclient.errors.BuildError`.
"""

from ._base import Store
from ._memory import MemoryStore
from ._model import InboxEntry, OutboxEntry, OutboxState, QuarantineEntry, StandingResponse
from ._sqlite import SqliteStore

__all__ = [
    "InboxEntry",
    "MemoryStore",
    "OutboxEntry",
    "OutboxState",
    "QuarantineEntry",
    "SqliteStore",
    "StandingResponse",
    "Store",
]
