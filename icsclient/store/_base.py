"""The :class:`Store` contract every ledger implements, and the checks of its arguments."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs

from ..errors import BuildError, StoreError
from ..ics.names import check_site_id
from ..ics.sequence import check_icr_number, format_icr
from ._model import InboxEntry, OutboxEntry, OutboxState, QuarantineEntry, StandingResponse

_E = TypeVar("_E")
_S = TypeVar("_S", bound="Store")
_Change = Callable[[OutboxState, int], "dict[str, Any]"]
"""Computes the outbox columns to update from the current state and attempts."""


_CHANGEABLE = frozenset({"state", "attempts", "updated", "last_sent", "next_resend", "detail"})


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
        kind: str | Callable[[str, bytes], str | None] | None = None,
        acknowledges: tuple[str, str] | None = None,
    ) -> OutboxEntry:
        """Allocate the next ICR of ``site``, build the interchange with it and queue it: atomic.

        ``build(icr)`` receives the ICR as it will be written (zero-padded to 14 digits if
        ``pad``) and returns ``(interchange, email)``; ``email`` may be ``None`` and set later
        with :meth:`set_email`.  It runs inside the store's transaction: it must not write to
        this store, and other writers wait until it returns.  If it raises, nothing is
        recorded, the sequence does not advance and the exception propagates unchanged.  After
        a crash at any point either the outbox holds the entry with that ICR or the sequence
        did not advance.  Returns the new :attr:`OutboxState.QUEUED` entry.

        ``kind`` (the first message type, or a function of the ICR and the interchange
        built that returns it) and ``acknowledges`` (for an ICONTRL: the sender and ICR it
        acknowledges) are kept with the entry as given.
        """
        kind_of = kind if callable(kind) else (lambda icr, data: _text(kind, "kind"))
        if acknowledges is not None:
            acknowledges = (_key(acknowledges[0], "sender"), _key(acknowledges[1], "icr"))
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
            interchange = _data(built[0], f"interchange built for ICR {icr!r}")
            return OutboxEntry(
                site=site,
                icr=icr,
                message_count=message_count,
                interchange=interchange,
                email=_opt_data(built[1], f"e-mail built for ICR {icr!r}"),
                state=OutboxState.QUEUED,
                attempts=0,
                created=created,
                updated=created,
                last_sent=None,
                next_resend=None,
                detail=None,
                kind=_text(kind_of(icr, interchange), "kind"),
                acknowledges=acknowledges,
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

    def update_outbox(
        self,
        site: str,
        icr: str,
        change: Callable[[OutboxState, int], Mapping[str, Any]],
        *,
        op: str = "update_outbox",
    ) -> None:
        """Change an outbox entry as ``change(state, attempts)`` says, atomically.

        ``change`` receives the entry's current state and attempts, read inside the write
        transaction, and returns the columns to write (``state``, ``attempts``, ``updated``,
        ``last_sent``, ``next_resend``, ``detail``); an empty mapping writes nothing.  The
        store decides nothing: the lodgement client's state machine
        (``icsclient.lodgement._state``) makes every ``change`` it passes here.
        """

        def checked(state: OutboxState, attempts: int) -> dict[str, Any]:
            values = dict(change(state, attempts))
            unknown = set(values) - _CHANGEABLE
            if unknown:
                raise StoreError(f"{op}: cannot change outbox column(s) {sorted(unknown)}")
            if "state" in values:
                values["state"] = _state(values["state"])
            return values

        self._update_outbox(_key(site, "site"), _key(icr, "icr"), op, checked)

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

    # ------------------------------------------------------------------ responses, counters

    def get_response(self, site: str, reference: str) -> StandingResponse | None:
        """The response standing for report ``reference`` of ``site``, or ``None``."""
        return self._get_response(_key(site, "site"), _key(reference, "reference"))

    def put_response(self, response: StandingResponse) -> None:
        """Keep ``response`` as the one standing for its report, replacing any before it."""
        if not isinstance(response, StandingResponse):
            raise StoreError(f"put_response takes a StandingResponse, not {type(response)!r}")
        _key(response.site, "site")
        _key(response.reference, "reference")
        if response.prepared is not None and not isinstance(response.prepared, datetime):
            raise StoreError(f"prepared must be a datetime or None, got {response.prepared!r}")
        self._put_response(attrs.evolve(response, arrived=_utc(response.arrived, "arrived")))

    def responses(self, site: str) -> list[StandingResponse]:
        """Every standing response of ``site``, in the order their reports were first answered."""
        return self._responses(_key(site, "site"))

    def add_count(self, site: str, name: str, by: int = 1) -> None:
        """Add ``by`` to the counter ``name`` of ``site`` (a counter starts at 0)."""
        if isinstance(by, bool) or not isinstance(by, int):
            raise StoreError(f"add_count: by must be an integer, got {by!r}")
        self._add_count(_key(site, "site"), _key(name, "name"), by)

    def counts(self, site: str) -> dict[str, int]:
        """Every counter of ``site`` by name (those never added to are absent)."""
        return self._counts(_key(site, "site"))

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
    def _get_response(self, site: str, reference: str) -> StandingResponse | None: ...

    @abc.abstractmethod
    def _put_response(self, response: StandingResponse) -> None: ...

    @abc.abstractmethod
    def _responses(self, site: str) -> list[StandingResponse]: ...

    @abc.abstractmethod
    def _add_count(self, site: str, name: str, by: int) -> None: ...

    @abc.abstractmethod
    def _counts(self, site: str) -> dict[str, int]: ...

    @abc.abstractmethod
    def _get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def _set_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def _transaction(self, durable: bool) -> contextlib.AbstractContextManager[None]: ...
