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

from __future__ import annotations

import abc
import contextlib
import enum
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs

from .errors import BuildError, StoreError
from .ics.names import check_site_id
from .ics.sequence import check_icr_number, following, format_icr

__all__ = [
    "InboxEntry",
    "MemoryStore",
    "OutboxEntry",
    "OutboxState",
    "QuarantineEntry",
    "SqliteStore",
    "Store",
]


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


_E = TypeVar("_E")
_S = TypeVar("_S", bound="Store")
_Change = Callable[[OutboxState, int], "dict[str, Any]"]
"""Computes the outbox columns to update from the current state and attempts."""


def _utc(when: object, what: str) -> datetime:
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise StoreError(f"{what} must be a timezone-aware datetime, got {when!r}")
    return when.astimezone(timezone.utc)


def _opt_utc(when: object, what: str) -> datetime | None:
    return None if when is None else _utc(when, what)


def _key(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise StoreError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _data(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise StoreError(f"{what} must be bytes, got {type(value).__name__}")
    return bytes(value)


def _opt_data(value: object, what: str) -> bytes | None:
    return None if value is None else _data(value, what)


def _text(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise StoreError(f"{what} must be a string or None, got {type(value).__name__}")
    return value


def _state(value: object) -> OutboxState:
    try:
        return OutboxState(value)
    except ValueError:
        raise StoreError(f"unknown outbox state {value!r}") from None


def _no_outbox_entry(site: str, icr: str) -> StoreError:
    return StoreError(f"no outbox entry for site {site!r} ICR {icr!r}")


def _no_inbox_entry(sender: str, icr: str) -> StoreError:
    return StoreError(f"no inbox entry for sender {sender!r} ICR {icr!r}")


def _already_recorded(site: str, icr: str) -> StoreError:
    return StoreError(
        f"ICR {icr!r} of site {site!r} is already in the outbox; refusing to use it twice "
        "(was the sequence reset backwards?)"
    )


class Store(abc.ABC):
    """The ledger interface; :class:`MemoryStore` and :class:`SqliteStore` implement it.

    Every operation is atomic and, in a durable store, durable once it returns.  A store may
    be shared by threads.  Use it as a context manager, or call :meth:`close`, to release it.
    """

    # ------------------------------------------------------------------ ICR sequences

    def allocate_icr(self, site: str) -> int:
        """Hand out the next ICR number of creator ``site`` and advance its sequence.

        The sequence starts at 1 and wraps from 99999999999999 to 1.  Once this returns the
        number is used for good, even if no interchange is ever sent with it; to tie the
        number to the interchange built with it, use :meth:`allocate_and_record`.
        """
        return self._allocate(check_site_id(site))

    def peek_icr(self, site: str) -> int:
        """The number :meth:`allocate_icr` would hand out next for ``site``, without using it."""
        return self._peek(check_site_id(site))

    def set_next_icr(self, site: str, next_value: int) -> None:
        """Make ``next_value`` (1..99999999999999) the next number handed out for ``site``.

        For administrators.  An ICR already recorded in the outbox is still never reused:
        :meth:`allocate_and_record` refuses it.
        """
        self._set_next(check_site_id(site), check_icr_number(next_value))

    def allocate_and_record(
        self,
        site: str,
        build: Callable[[str], tuple[bytes, bytes | None]],
        *,
        now: datetime,
        pad: bool = False,
        message_count: int = 1,
    ) -> OutboxEntry:
        """Allocate the next ICR of ``site``, build the interchange with it and queue it: atomic.

        ``build(icr)`` receives the ICR as it will be written (zero-padded to 14 digits if
        ``pad``) and returns ``(interchange, email)``; ``email`` may be ``None`` and set later
        with :meth:`set_email`.  It runs inside the store's transaction: it must not write to
        this store, and other writers wait until it returns.  If it raises, nothing is
        recorded, the sequence does not advance and the exception propagates unchanged.  After
        a crash at any point either the outbox holds the entry with that ICR or the sequence
        did not advance.  Returns the new :attr:`OutboxState.QUEUED` entry.
        """
        check_site_id(site)
        created = _utc(now, "now")
        if isinstance(message_count, bool) or not isinstance(message_count, int):
            raise BuildError(f"message_count must be an integer, got {message_count!r}")
        if message_count < 1:
            raise BuildError(f"message_count must be at least 1, got {message_count}")

        def make(number: int) -> OutboxEntry:
            icr = format_icr(number, pad=pad)
            built = build(icr)
            if not isinstance(built, tuple) or len(built) != 2:
                raise StoreError(
                    f"build({icr!r}) must return (interchange bytes, e-mail bytes or None), "
                    f"got {type(built).__name__}"
                )
            return OutboxEntry(
                site=site,
                icr=icr,
                message_count=message_count,
                interchange=_data(built[0], f"interchange built for ICR {icr!r}"),
                email=_opt_data(built[1], f"e-mail built for ICR {icr!r}"),
                state=OutboxState.QUEUED,
                attempts=0,
                created=created,
                updated=created,
                last_sent=None,
                next_resend=None,
                detail=None,
            )

        return self._allocate_with(site, make)

    # ------------------------------------------------------------------ outbox

    def get_outbox(self, site: str, icr: str) -> OutboxEntry | None:
        """The outbox entry of creator ``site`` and ``icr`` (as written), or ``None``."""
        return self._get_outbox(_key(site, "site"), _key(icr, "icr"))

    def outbox(
        self, states: OutboxState | Iterable[OutboxState] | None = None
    ) -> list[OutboxEntry]:
        """Outbox entries in the order they were recorded, only those in ``states`` if given."""
        if states is None:
            return self._list_outbox(None)
        if isinstance(states, OutboxState):
            states = (states,)
        return self._list_outbox(frozenset(_state(s) for s in states))

    def due(self, now: datetime) -> list[OutboxEntry]:
        """Entries in state SENT whose ``next_resend`` is at or before ``now``, earliest first."""
        return self._due(_utc(now, "now"))

    def set_email(self, site: str, icr: str, email: bytes) -> None:
        """Store (or replace) the composed e-mail of an outbox entry."""
        data = _data(email, "email")
        self._update_outbox(
            _key(site, "site"),
            _key(icr, "icr"),
            "set_email",
            lambda state, attempts: {"email": data},
        )

    def mark_sent(
        self,
        site: str,
        icr: str,
        *,
        now: datetime,
        next_resend: datetime | None,
        final: OutboxState | None = None,
        detail: str | None = None,
    ) -> None:
        """Record that the e-mail was handed to the mail server at ``now``.

        Counts an attempt, sets ``last_sent`` and ``next_resend`` (``None``: never resend) and
        moves a QUEUED or SENT entry to SENT.  An entry already in a final state (the CONTRL
        won the race) keeps its state and gets no resend time; the attempt is still counted.

        With ``final`` (a final state) the entry goes straight to it, with ``detail`` and no
        resend time, in the same write: for an e-mail that nothing answers (an ICONTRL).
        """
        at = _utc(now, "now")
        resend = _opt_utc(next_resend, "next_resend")
        end = None if final is None else _state(final)
        if end is not None and not end.is_final:
            raise StoreError(f"mark_sent: final must be a final state, got {end}")
        text = _text(detail, "detail")

        def change(state: OutboxState, attempts: int) -> dict[str, Any]:
            if end is not None:
                return {
                    "state": end,
                    "attempts": attempts + 1,
                    "last_sent": at,
                    "next_resend": None,
                    "detail": text,
                    "updated": at,
                }
            live = not state.is_final
            return {
                "state": OutboxState.SENT if live else state,
                "attempts": attempts + 1,
                "last_sent": at,
                "next_resend": resend if live else None,
                "updated": at,
            }

        self._update_outbox(_key(site, "site"), _key(icr, "icr"), "mark_sent", change)

    def record_attempt(
        self,
        site: str,
        icr: str,
        *,
        now: datetime,
        next_resend: datetime | None,
        detail: str | None = None,
    ) -> None:
        """Record a sending attempt that did not reach the mail server (e.g. an SMTP error).

        Counts an attempt, sets ``next_resend`` (when to try again; ignored in a final state)
        and ``detail``; the state and ``last_sent`` stay as they are.
        """
        at = _utc(now, "now")
        resend = _opt_utc(next_resend, "next_resend")
        text = _text(detail, "detail")
        self._update_outbox(
            _key(site, "site"),
            _key(icr, "icr"),
            "record_attempt",
            lambda state, attempts: {
                "attempts": attempts + 1,
                "next_resend": None if state.is_final else resend,
                "detail": text,
                "updated": at,
            },
        )

    def mark_state(
        self,
        site: str,
        icr: str,
        state: OutboxState,
        *,
        detail: str | None = None,
        now: datetime,
    ) -> None:
        """Move an outbox entry to ``state`` and replace its ``detail``.

        A final state (ACKNOWLEDGED, REJECTED, GAVE_UP) clears ``next_resend``.
        """
        at = _utc(now, "now")
        text = _text(detail, "detail")
        new = _state(state)
        self._update_outbox(
            _key(site, "site"),
            _key(icr, "icr"),
            "mark_state",
            lambda old, attempts: {
                "state": new,
                "detail": text,
                "updated": at,
                **({"next_resend": None} if new.is_final else {}),
            },
        )

    # ------------------------------------------------------------------ inbox

    def store_received(
        self,
        sender: str,
        icr: str,
        interchange: bytes,
        *,
        raw_email: bytes | None = None,
        now: datetime,
        acknowledged: bool = False,
    ) -> tuple[InboxEntry, bool]:
        """Record a received interchange; idempotent on (``sender``, ``icr`` as written).

        Returns the entry and whether it was a duplicate: for a duplicate the entry first
        stored is returned unchanged.  Durable once it returns, so the interchange may then be
        acknowledged ("on receipt and safe storage").  With ``acknowledged`` a new entry is
        stored as acknowledged already (one that needs no acknowledgement, such as a CONTRL).
        """
        entry = InboxEntry(
            sender=_key(sender, "sender"),
            icr=_key(icr, "icr"),
            received=_utc(now, "now"),
            interchange=_data(interchange, "interchange"),
            raw_email=_opt_data(raw_email, "raw_email"),
            acknowledged=bool(acknowledged),
            processed=False,
            response_json=None,
            kind=None,
            detail=None,
        )
        return self._store_received(entry)

    def get_inbox(self, sender: str, icr: str) -> InboxEntry | None:
        """The inbox entry of ``sender`` and ``icr`` (as written), or ``None``."""
        return self._get_inbox(_key(sender, "sender"), _key(icr, "icr"))

    def mark_acknowledged(self, sender: str, icr: str, *, missing_ok: bool = False) -> None:
        """Record that the interchange was acknowledged, or needs no acknowledgement (CONTRL).

        An entry not in the inbox raises :class:`~icsclient.errors.StoreError`, unless
        ``missing_ok`` (then nothing is written).
        """
        sender, icr = _key(sender, "sender"), _key(icr, "icr")
        values = {"acknowledged": True}
        if not self._update_inbox(sender, icr, "mark_acknowledged", values) and not missing_ok:
            raise _no_inbox_entry(sender, icr)

    def mark_processed(
        self,
        sender: str,
        icr: str,
        response_json: str | None = None,
        *,
        kind: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Record that the interchange was processed, with its parsed response, kind and detail."""
        values: dict[str, Any] = {
            "processed": True,
            "response_json": _text(response_json, "response_json"),
            "kind": _text(kind, "kind"),
            "detail": _text(detail, "detail"),
        }
        sender, icr = _key(sender, "sender"), _key(icr, "icr")
        if not self._update_inbox(sender, icr, "mark_processed", values):
            raise _no_inbox_entry(sender, icr)

    def unacknowledged(self) -> list[InboxEntry]:
        """Entries received but not yet acknowledged, in arrival order (recovery after a crash)."""
        return self._list_inbox("unacknowledged", "acknowledged")

    def unprocessed(self) -> list[InboxEntry]:
        """Entries received but not yet processed, in arrival order (recovery after a crash)."""
        return self._list_inbox("unprocessed", "processed")

    # ------------------------------------------------------------------ quarantine, meta

    def quarantine(self, raw: bytes, reason: str, now: datetime) -> int:
        """Keep an e-mail that could not be opened, with the ``reason``; returns its id."""
        return self._quarantine(_utc(now, "now"), _data(raw, "raw"), _key(reason, "reason"))

    def quarantined(self) -> list[QuarantineEntry]:
        """Every quarantined e-mail, oldest first."""
        return self._quarantined()

    def get_meta(self, key: str) -> str | None:
        """The value stored under ``key`` in the meta table, or ``None``."""
        return self._get_meta(_key(key, "key"))

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` in the meta table, replacing any previous value."""
        text = _text(value, "value")
        if text is None:
            raise StoreError("meta value must be a string, got None")
        self._set_meta(_key(key, "key"), text)

    # ------------------------------------------------------------------ transactions

    def transaction(self, *, durable: bool = True) -> contextlib.AbstractContextManager[None]:
        """Group the writes made in the block into one atomic, durable commit.

        Inside the block every method works as usual (reads see the block's own writes),
        but nothing is committed until the block completes: then everything is, at once
        (one disk sync in a durable store instead of one per write).  If the block raises,
        every write made in it is rolled back and the exception propagates.  A write that
        fails inside the block (a :class:`~icsclient.errors.StoreError`, or a ``build``
        callback raising in :meth:`allocate_and_record`) is undone alone, as it would be
        outside a block, so the caller may catch its error and go on.  Blocks nest (only
        the outermost commits).  Other threads' and processes' writes wait until the
        block ends: keep it short.

        ``durable=False`` commits without waiting for the disk: the block is still atomic
        and survives a crash of the process (a ``SIGKILL`` included), but an operating
        system crash or a power loss soon after may undo it -- together with the other
        non-durable blocks committed after the last durable commit, never anything
        older (a durable commit makes every earlier one durable too).  Only for facts
        whose loss is repaired by doing something again that is safe to repeat (the
        lodgement client records "e-mail handed over" this way: forgotten, the e-mail is
        offered again with the same ICR, which the CCF recognises as a duplicate).  The
        block is durable if any block nested in it asks to be.
        """
        return self._transaction(durable)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:  # noqa: B027 - a store without resources has nothing to release
        """Release the store's resources; it cannot be used afterwards."""

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ for implementations
    # Arguments are validated by the public methods above; times are UTC datetimes.

    @abc.abstractmethod
    def _allocate(self, site: str) -> int: ...

    @abc.abstractmethod
    def _allocate_with(self, site: str, make: Callable[[int], OutboxEntry]) -> OutboxEntry: ...

    @abc.abstractmethod
    def _peek(self, site: str) -> int: ...

    @abc.abstractmethod
    def _set_next(self, site: str, next_value: int) -> None: ...

    @abc.abstractmethod
    def _get_outbox(self, site: str, icr: str) -> OutboxEntry | None: ...

    @abc.abstractmethod
    def _list_outbox(self, states: frozenset[OutboxState] | None) -> list[OutboxEntry]: ...

    @abc.abstractmethod
    def _due(self, now: datetime) -> list[OutboxEntry]: ...

    @abc.abstractmethod
    def _update_outbox(self, site: str, icr: str, op: str, change: _Change) -> None: ...

    @abc.abstractmethod
    def _store_received(self, entry: InboxEntry) -> tuple[InboxEntry, bool]: ...

    @abc.abstractmethod
    def _get_inbox(self, sender: str, icr: str) -> InboxEntry | None: ...

    @abc.abstractmethod
    def _update_inbox(self, sender: str, icr: str, op: str, values: Mapping[str, Any]) -> bool:
        """Update the entry if there is one; returns whether there was."""

    @abc.abstractmethod
    def _list_inbox(self, op: str, unset_flag: str) -> list[InboxEntry]: ...

    @abc.abstractmethod
    def _quarantine(self, received: datetime, raw: bytes, reason: str) -> int: ...

    @abc.abstractmethod
    def _quarantined(self) -> list[QuarantineEntry]: ...

    @abc.abstractmethod
    def _get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def _set_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def _transaction(self, durable: bool) -> contextlib.AbstractContextManager[None]: ...


# ---------------------------------------------------------------------- memory


class MemoryStore(Store):
    """A store in this process's memory: for tests, notebooks and the simulated CCF.

    Nothing survives the process, and a forked child works on its own copy.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._building = False
        self._undo: list[Callable[[], object]] | None = None
        """While in a transaction: how to undo each write made in it, in order."""
        self._next: dict[str, int] = {}
        self._outbox: dict[tuple[str, str], OutboxEntry] = {}
        self._inbox: dict[tuple[str, str], InboxEntry] = {}
        self._quarantine_list: list[QuarantineEntry] = []
        self._meta: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MemoryStore(<{len(self._outbox)} outbox, {len(self._inbox)} inbox entries>)"

    @contextmanager
    def _writing(self, op: str) -> Iterator[None]:
        with self._lock:
            if self._building:
                raise StoreError(f"{op}: cannot write to the store from inside a build callback")
            yield

    def _remember(self, mapping: dict[Any, Any], key: object) -> None:
        """In a transaction: note how to restore ``mapping[key]`` if the block fails."""
        if self._undo is None:
            return
        if key in mapping:
            old = mapping[key]
            self._undo.append(lambda: mapping.__setitem__(key, old))
        else:
            self._undo.append(lambda: mapping.pop(key, None))

    @contextmanager
    def _transaction(self, durable: bool) -> Iterator[None]:
        with self._writing("transaction"):
            if self._undo is not None:  # nested: the outermost block decides
                yield
                return
            self._undo = []
            try:
                yield
            except BaseException:
                for undo in reversed(self._undo):
                    undo()
                raise
            finally:
                self._undo = None

    def _allocate(self, site: str) -> int:
        with self._writing("allocate_icr"):
            number = self._next.get(site, 1)
            self._remember(self._next, site)
            self._next[site] = following(number)
            return number

    def _allocate_with(self, site: str, make: Callable[[int], OutboxEntry]) -> OutboxEntry:
        with self._writing("allocate_and_record"):
            number = self._next.get(site, 1)
            self._building = True
            try:
                entry = make(number)
            finally:
                self._building = False
            if (site, entry.icr) in self._outbox:
                raise _already_recorded(site, entry.icr)
            self._remember(self._outbox, (site, entry.icr))
            self._outbox[site, entry.icr] = entry
            self._remember(self._next, site)
            self._next[site] = following(number)
            return entry

    def _peek(self, site: str) -> int:
        with self._lock:
            return self._next.get(site, 1)

    def _set_next(self, site: str, next_value: int) -> None:
        with self._writing("set_next_icr"):
            self._remember(self._next, site)
            self._next[site] = next_value

    def _get_outbox(self, site: str, icr: str) -> OutboxEntry | None:
        with self._lock:
            return self._outbox.get((site, icr))

    def _list_outbox(self, states: frozenset[OutboxState] | None) -> list[OutboxEntry]:
        with self._lock:
            return [e for e in self._outbox.values() if states is None or e.state in states]

    def _due(self, now: datetime) -> list[OutboxEntry]:
        with self._lock:
            due = [
                e
                for e in self._outbox.values()
                if e.state is OutboxState.SENT
                and e.next_resend is not None
                and e.next_resend <= now
            ]
        return sorted(due, key=lambda e: e.next_resend or now)

    def _update_outbox(self, site: str, icr: str, op: str, change: _Change) -> None:
        with self._writing(op):
            entry = self._outbox.get((site, icr))
            if entry is None:
                raise _no_outbox_entry(site, icr)
            updated = attrs.evolve(entry, **change(entry.state, entry.attempts))
            self._remember(self._outbox, (site, icr))
            self._outbox[site, icr] = updated

    def _store_received(self, entry: InboxEntry) -> tuple[InboxEntry, bool]:
        with self._writing("store_received"):
            old = self._inbox.get((entry.sender, entry.icr))
            if old is not None:
                return old, True
            self._remember(self._inbox, (entry.sender, entry.icr))
            self._inbox[entry.sender, entry.icr] = entry
            return entry, False

    def _get_inbox(self, sender: str, icr: str) -> InboxEntry | None:
        with self._lock:
            return self._inbox.get((sender, icr))

    def _update_inbox(self, sender: str, icr: str, op: str, values: Mapping[str, Any]) -> bool:
        with self._writing(op):
            entry = self._inbox.get((sender, icr))
            if entry is None:
                return False
            updated = attrs.evolve(entry, **values)
            self._remember(self._inbox, (sender, icr))
            self._inbox[sender, icr] = updated
            return True

    def _list_inbox(self, op: str, unset_flag: str) -> list[InboxEntry]:
        with self._lock:
            return [e for e in self._inbox.values() if not getattr(e, unset_flag)]

    def _quarantine(self, received: datetime, raw: bytes, reason: str) -> int:
        with self._writing("quarantine"):
            entry = QuarantineEntry(len(self._quarantine_list) + 1, received, raw, reason)
            if self._undo is not None:
                self._undo.append(self._quarantine_list.pop)
            self._quarantine_list.append(entry)
            return entry.id

    def _quarantined(self) -> list[QuarantineEntry]:
        with self._lock:
            return list(self._quarantine_list)

    def _get_meta(self, key: str) -> str | None:
        with self._lock:
            return self._meta.get(key)

    def _set_meta(self, key: str, value: str) -> None:
        with self._writing("set_meta"):
            self._remember(self._meta, key)
            self._meta[key] = value


# ---------------------------------------------------------------------- SQLite

_SCHEMA_VERSION = 1

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS icr_sequence (
        site TEXT PRIMARY KEY,
        next_value INTEGER NOT NULL CHECK (next_value BETWEEN 1 AND 99999999999999))""",
    """CREATE TABLE IF NOT EXISTS outbox (
        site TEXT NOT NULL,
        icr TEXT NOT NULL,
        message_count INTEGER NOT NULL,
        interchange BLOB NOT NULL,
        email BLOB,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        last_sent TEXT,
        next_resend TEXT,
        detail TEXT,
        PRIMARY KEY (site, icr))""",
    "CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, next_resend)",
    """CREATE TABLE IF NOT EXISTS inbox (
        sender TEXT NOT NULL,
        icr TEXT NOT NULL,
        received TEXT NOT NULL,
        interchange BLOB NOT NULL,
        raw_email BLOB,
        acknowledged INTEGER NOT NULL,
        processed INTEGER NOT NULL,
        response_json TEXT,
        kind TEXT,
        detail TEXT,
        PRIMARY KEY (sender, icr))""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received TEXT NOT NULL,
        raw BLOB NOT NULL,
        reason TEXT NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"PRAGMA user_version = {_SCHEMA_VERSION}",
)

_TIME_COLUMNS = frozenset({"created", "updated", "last_sent", "next_resend", "received"})
_DECODE: dict[str, Callable[[Any], object]] = {
    **dict.fromkeys(_TIME_COLUMNS, datetime.fromisoformat),
    "state": OutboxState,
    "acknowledged": bool,
    "processed": bool,
}


def _to_sql(value: object) -> object:
    """A Python value as stored: UTC ISO text for times (ordered as text), names for states."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, OutboxState):
        return value.value
    return value


def _from_row(make: Callable[..., _E], row: sqlite3.Row) -> _E:
    return make(
        **{
            name: None if row[name] is None else _DECODE.get(name, _same)(row[name])
            for name in row.keys()
        }
    )


def _is_busy(exc: sqlite3.Error) -> bool:
    """Whether SQLite said SQLITE_BUSY (5), in any of its extended forms."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return (code & 0xFF) == 5 if isinstance(code, int) else "database is locked" in str(exc)


def _same(value: object) -> object:
    return value


def _columns(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls))


_OUTBOX_COLUMNS = ", ".join(_columns(OutboxEntry))
_INBOX_COLUMNS = ", ".join(_columns(InboxEntry))

_abandoned: list[sqlite3.Connection] = []
"""Connections inherited over ``fork``: never used nor closed in the child (SQLite forbids it)."""

_live: weakref.WeakSet[SqliteStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_live):
        store._forget_connection()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SqliteStore(Store):
    """The embedded ledger: one SQLite file that threads and processes may share.

    Each write is one ``BEGIN IMMEDIATE`` transaction (or, inside :meth:`transaction`, a
    savepoint of the block's one transaction), so two processes never get the same ICR, and
    a process killed at any moment leaves either the whole operation (or block) committed
    or none of it.  The file uses WAL journaling with ``synchronous=FULL``: every commit is on
    disk before the call returns, so a number handed out is not handed out again even after a
    power loss (``NORMAL`` would be safe against a crashed process, but may roll the last
    commits back after a power loss, i.e. reuse an ICR the CCF has already seen).  Only a
    ``transaction(durable=False)`` block commits with ``NORMAL`` (see
    :meth:`~Store.transaction`).

    A writer waits up to ``timeout`` seconds for another process's transaction (including a
    slow ``build`` in :meth:`allocate_and_record`) before raising
    :class:`~icsclient.errors.StoreError`.  Threads share one connection per process behind a
    lock; a forked child opens its own connection on first use.  ``path`` may be
    ``":memory:"`` for a private, non-durable database (which a forked child does not share).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        """The database file."""
        self.timeout = timeout
        """Seconds a write waits for another process's transaction."""
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._depth = 0
        """Nesting depth of :meth:`transaction` blocks in progress."""
        self._writing = False
        """Whether a single write (maybe with its ``build`` callback) is in progress."""
        self._wal = False
        """Whether the connection is in WAL mode (then SQLite's busy handler is off)."""
        self._relaxed = False
        """Whether the connection is at ``synchronous=NORMAL`` (set for the next commit)."""
        _live.add(self)
        self._acquire("open")  # opens the file now, so that a bad path fails here
        self._release()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    def close(self) -> None:
        """Close this process's connection; further use raises :class:`StoreError`."""
        if self._pid != os.getpid():
            self._forget_connection()
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------ connection handling

    def _forget_connection(self) -> None:
        """In a forked child: abandon the parent's connection and lock, reconnect on next use."""
        if self._conn is not None:
            _abandoned.append(self._conn)
            self._conn = None
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._depth = 0
        self._writing = False

    def _open(self) -> sqlite3.Connection:
        with self._mapped("open"):
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                self._prepare(conn)
                self._relaxed = False
                if self._wal:
                    # Waiting for another process is done in short naps (see _retrying);
                    # in WAL mode only BEGIN IMMEDIATE and, during a recovery, reads wait.
                    conn.execute("PRAGMA busy_timeout = 0")
            except BaseException:
                conn.close()
                raise
        return conn

    def _set_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL, retrying while another process switches the same new file.

        SQLite answers a concurrent journal-mode change with "database is locked" at once,
        without waiting on the busy timeout, so wait here (up to ``timeout``).  A database
        that cannot use WAL (``":memory:"``) keeps its mode and SQLite's busy handler.
        """
        deadline = time.monotonic() + self.timeout
        pause = 0.001
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                self._wal = str(mode).lower() == "wal"
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Set the journal and sync modes; create the tables in a new file."""
        conn.row_factory = sqlite3.Row
        self._set_wal(conn)
        conn.execute("PRAGMA synchronous = FULL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == _SCHEMA_VERSION:
            return
        with conn:  # one transaction, so that concurrent first opens create the tables once
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
        if version not in (0, _SCHEMA_VERSION):
            raise StoreError(
                f"SQLite ledger {self.path!r} has schema version {version}; "
                f"this icsclient knows version {_SCHEMA_VERSION}"
            )

    def _acquire(self, op: str) -> sqlite3.Connection:
        """Take the lock and return this process's connection; :meth:`_release` after use.

        (A pair of calls rather than a context manager: every operation goes through
        here, and a generator-based context manager costs several times more.)
        """
        if self._pid != os.getpid():
            self._forget_connection()
        self._lock.acquire()
        try:
            if self._closed:
                raise StoreError(f"{op}: SQLite ledger {self.path!r} is closed")
            if self._conn is None:
                self._conn = self._open()
            return self._conn
        except BaseException:
            self._lock.release()
            raise

    def _release(self) -> None:
        self._lock.release()

    @contextmanager
    def _write(self, op: str, *, one_change: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed if the block completes, else rolled back.

        Inside :meth:`transaction` it is a savepoint instead: released if the block
        completes (committed with the transaction), else rolled back alone.  With
        ``one_change`` (the block makes at most one change, in one statement, which SQLite
        undoes alone if it fails) no savepoint is needed.
        """
        conn = self._acquire(op)
        try:
            if self._writing or (conn.in_transaction and not self._depth):
                raise StoreError(f"{op}: cannot write to the store from inside a build callback")
            self._writing = True
            try:
                if self._depth:
                    if one_change:
                        yield conn
                        return
                    with self._savepoint(conn, op):
                        yield conn
                    return
                self._begin(conn, op)
                try:
                    yield conn
                    self._run(conn, op, "COMMIT")
                except BaseException:
                    self._rollback(conn)
                    raise
            finally:
                self._writing = False
        finally:
            self._release()

    def _begin(self, conn: sqlite3.Connection, op: str, *, durable: bool = True) -> None:
        """``BEGIN IMMEDIATE``, waiting for another process's write transaction in short naps.

        The commit that follows is durable (``synchronous=FULL``) unless ``durable`` is
        false and the file is in WAL mode (then ``NORMAL``: safe against a crashed process;
        the level can only be changed outside a transaction, so it is set here).
        """
        relaxed = not durable and self._wal
        if relaxed != self._relaxed:
            self._run(conn, op, f"PRAGMA synchronous = {'NORMAL' if relaxed else 'FULL'}")
            self._relaxed = relaxed
        self._retrying(conn, op, "BEGIN IMMEDIATE")

    def _retrying(
        self, conn: sqlite3.Connection, op: str, sql: str, params: Iterable[object] = ()
    ) -> list[sqlite3.Row]:
        """Run ``sql``, waiting in short naps while SQLite answers "busy".

        SQLite's own busy handler sleeps 1, 2, 5, 10, 15... ms between its tries: long next
        to a transaction of a millisecond or two, so two busy processes would spend much of
        their time asleep.  In WAL mode it is off (busy_timeout 0); here the first try is
        made at once, then naps of 0.1 ms doubling to 2 ms, up to ``timeout`` in all, after
        which the last error is raised.  For ``BEGIN IMMEDIATE`` (another process writes)
        and for reads outside a transaction (busy only while another connection recovers
        the WAL after a crash).
        """
        values = tuple(params)
        deadline = 0.0
        nap = 0.0001
        while True:
            try:
                return conn.execute(sql, values).fetchall()
            except sqlite3.OperationalError as exc:
                now = time.monotonic()
                deadline = deadline or now + self.timeout
                if not _is_busy(exc) or now + nap > deadline:
                    raise self._failed(op, exc) from exc
            except sqlite3.Error as exc:
                raise self._failed(op, exc) from exc
            time.sleep(nap)
            nap = min(nap * 2, 0.002)

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error matters; SQLite rolls back on close anyway

    @contextmanager
    def _savepoint(self, conn: sqlite3.Connection, op: str) -> Iterator[None]:
        """A savepoint in the open transaction: kept if the block completes, else undone."""
        self._run(conn, op, "SAVEPOINT icsclient_write")
        try:
            yield
        except BaseException:
            try:
                conn.execute("ROLLBACK TO icsclient_write")
                conn.execute("RELEASE icsclient_write")
            except sqlite3.Error:
                pass  # the transaction itself is rolled back when the error reaches it
            raise
        self._run(conn, op, "RELEASE icsclient_write")

    @contextmanager
    def _transaction(self, durable: bool) -> Iterator[None]:
        op = "transaction"
        conn = self._acquire(op)
        try:
            if self._writing:
                raise StoreError(f"{op}: cannot write to the store from inside a build callback")
            if self._depth:  # nested: the outermost block commits
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._begin(conn, op, durable=durable)
            self._depth = 1
            try:
                yield
                self._run(conn, op, "COMMIT")
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                self._depth = 0
        finally:
            self._release()

    def _failed(self, op: str, exc: sqlite3.Error) -> StoreError:
        """The :class:`StoreError` for ``exc``, naming ``op`` and the file."""
        return StoreError(f"{op} failed on SQLite ledger {self.path!r}: {exc}")

    @contextmanager
    def _mapped(self, op: str) -> Iterator[None]:
        """Turn an ``sqlite3.Error`` into a :class:`StoreError` naming ``op`` and the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self._failed(op, exc) from exc

    def _cursor(
        self, conn: sqlite3.Connection, op: str, sql: str, params: tuple[object, ...] = ()
    ) -> sqlite3.Cursor:
        """``conn.execute``, errors mapped (not with :meth:`_mapped`: this runs for every
        statement, and a context manager costs several times a ``try``)."""
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._failed(op, exc) from exc

    def _run(
        self, conn: sqlite3.Connection, op: str, sql: str, params: tuple[object, ...] = ()
    ) -> list[sqlite3.Row]:
        cursor = self._cursor(conn, op, sql, params)
        try:
            return cursor.fetchall()
        except sqlite3.Error as exc:
            raise self._failed(op, exc) from exc

    def _read(self, op: str, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
        conn = self._acquire(op)
        try:
            return self._retrying(conn, op, sql, params)
        finally:
            self._release()

    # ------------------------------------------------------------ sequences

    def _next_in(self, conn: sqlite3.Connection, op: str, site: str) -> int:
        sql = "SELECT next_value FROM icr_sequence WHERE site = ?"
        rows = self._retrying(conn, op, sql, (site,))  # peek_icr reads outside a transaction
        return int(rows[0][0]) if rows else 1

    def _set_in(self, conn: sqlite3.Connection, op: str, site: str, next_value: int) -> None:
        self._run(
            conn,
            op,
            "INSERT INTO icr_sequence (site, next_value) VALUES (?, ?) "
            "ON CONFLICT (site) DO UPDATE SET next_value = excluded.next_value",
            (site, next_value),
        )

    def _allocate(self, site: str) -> int:
        with self._write("allocate_icr", one_change=True) as conn:
            number = self._next_in(conn, "allocate_icr", site)
            self._set_in(conn, "allocate_icr", site, following(number))
        return number

    def _allocate_with(self, site: str, make: Callable[[int], OutboxEntry]) -> OutboxEntry:
        op = "allocate_and_record"
        with self._write(op) as conn:
            number = self._next_in(conn, op, site)
            entry = make(number)
            try:
                self._insert(conn, op, "outbox", entry)
            except StoreError as exc:
                if isinstance(exc.__cause__, sqlite3.IntegrityError):  # the primary key
                    raise _already_recorded(site, entry.icr) from None
                raise
            self._set_in(conn, op, site, following(number))
        return entry

    def _peek(self, site: str) -> int:
        conn = self._acquire("peek_icr")
        try:
            return self._next_in(conn, "peek_icr", site)
        finally:
            self._release()

    def _set_next(self, site: str, next_value: int) -> None:
        with self._write("set_next_icr", one_change=True) as conn:
            self._set_in(conn, "set_next_icr", site, next_value)

    # ------------------------------------------------------------ outbox

    def _insert(
        self, conn: sqlite3.Connection, op: str, table: str, entry: object, conflict: str = ""
    ) -> int:
        """Insert ``entry`` as a row of ``table``; returns the number of rows inserted."""
        names = _columns(type(entry))
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        values = tuple(_to_sql(getattr(entry, n)) for n in names)
        return self._cursor(conn, op, f"{sql} {conflict}".rstrip(), values).rowcount

    def _get_outbox(self, site: str, icr: str) -> OutboxEntry | None:
        rows = self._read(
            "get_outbox",
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE site = ? AND icr = ?",
            (site, icr),
        )
        return _from_row(OutboxEntry, rows[0]) if rows else None

    def _list_outbox(self, states: frozenset[OutboxState] | None) -> list[OutboxEntry]:
        params = [s.value for s in states or ()]
        where = "" if states is None else f"WHERE state IN ({', '.join('?' * len(params))})"
        rows = self._read(
            "outbox", f"SELECT {_OUTBOX_COLUMNS} FROM outbox {where} ORDER BY rowid", params
        )
        return [_from_row(OutboxEntry, r) for r in rows]

    def _due(self, now: datetime) -> list[OutboxEntry]:
        rows = self._read(
            "due",
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = ? AND next_resend <= ? "
            "ORDER BY next_resend, rowid",
            (OutboxState.SENT.value, _to_sql(now)),
        )
        return [_from_row(OutboxEntry, r) for r in rows]

    def _update_outbox(self, site: str, icr: str, op: str, change: _Change) -> None:
        with self._write(op, one_change=True) as conn:
            rows = self._run(
                conn,
                op,
                "SELECT state, attempts FROM outbox WHERE site = ? AND icr = ?",
                (site, icr),
            )
            if not rows:
                raise _no_outbox_entry(site, icr)
            values = change(OutboxState(rows[0]["state"]), rows[0]["attempts"])
            self._update(conn, op, "outbox", "site", site, icr, values)

    def _update(
        self,
        conn: sqlite3.Connection,
        op: str,
        table: str,
        party: str,
        who: str,
        icr: str,
        values: Mapping[str, Any],
    ) -> int:
        assignments = ", ".join(f"{name} = ?" for name in values)
        sql = f"UPDATE {table} SET {assignments} WHERE {party} = ? AND icr = ?"
        return self._cursor(conn, op, sql, (*map(_to_sql, values.values()), who, icr)).rowcount

    # ------------------------------------------------------------ inbox

    def _store_received(self, entry: InboxEntry) -> tuple[InboxEntry, bool]:
        op = "store_received"
        with self._write(op, one_change=True) as conn:
            if self._insert(conn, op, "inbox", entry, "ON CONFLICT (sender, icr) DO NOTHING"):
                return entry, False
            rows = self._run(
                conn,
                op,
                f"SELECT {_INBOX_COLUMNS} FROM inbox WHERE sender = ? AND icr = ?",
                (entry.sender, entry.icr),
            )
        return _from_row(InboxEntry, rows[0]), True

    def _get_inbox(self, sender: str, icr: str) -> InboxEntry | None:
        rows = self._read(
            "get_inbox",
            f"SELECT {_INBOX_COLUMNS} FROM inbox WHERE sender = ? AND icr = ?",
            (sender, icr),
        )
        return _from_row(InboxEntry, rows[0]) if rows else None

    def _update_inbox(self, sender: str, icr: str, op: str, values: Mapping[str, Any]) -> bool:
        with self._write(op, one_change=True) as conn:
            return bool(self._update(conn, op, "inbox", "sender", sender, icr, values))

    def _list_inbox(self, op: str, unset_flag: str) -> list[InboxEntry]:
        assert unset_flag in ("acknowledged", "processed")
        rows = self._read(
            op,
            f"SELECT {_INBOX_COLUMNS} FROM inbox WHERE {unset_flag} = 0 ORDER BY rowid",
        )
        return [_from_row(InboxEntry, r) for r in rows]

    # ------------------------------------------------------------ quarantine, meta

    def _quarantine(self, received: datetime, raw: bytes, reason: str) -> int:
        with self._write("quarantine", one_change=True) as conn:
            cur = self._cursor(
                conn,
                "quarantine",
                "INSERT INTO quarantine (received, raw, reason) VALUES (?, ?, ?)",
                (_to_sql(received), raw, reason),
            )
            return int(cur.lastrowid or 0)

    def _quarantined(self) -> list[QuarantineEntry]:
        rows = self._read(
            "quarantined", "SELECT id, received, raw, reason FROM quarantine ORDER BY id"
        )
        return [_from_row(QuarantineEntry, r) for r in rows]

    def _get_meta(self, key: str) -> str | None:
        rows = self._read("get_meta", "SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def _set_meta(self, key: str, value: str) -> None:
        with self._write("set_meta", one_change=True) as conn:
            self._run(
                conn,
                "set_meta",
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
