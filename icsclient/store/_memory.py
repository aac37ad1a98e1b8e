"""A ledger in this process's memory: :class:`MemoryStore`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import attrs

from ..errors import StoreError
from ..ics.sequence import following
from ._base import Store, _already_recorded, _Change, _no_outbox_entry
from ._model import InboxEntry, OutboxEntry, OutboxState, QuarantineEntry, StandingResponse


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
        self._standing: dict[tuple[str, str], StandingResponse] = {}
        self._counters: dict[tuple[str, str], int] = {}

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
            values = change(entry.state, entry.attempts)
            if not values:
                return
            updated = attrs.evolve(entry, **values)
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

    def _get_response(self, site: str, reference: str) -> StandingResponse | None:
        with self._lock:
            return self._standing.get((site, reference))

    def _put_response(self, response: StandingResponse) -> None:
        with self._writing("put_response"):
            key = (response.site, response.reference)
            self._remember(self._standing, key)
            self._standing[key] = response

    def _responses(self, site: str) -> list[StandingResponse]:
        with self._lock:
            return [r for r in self._standing.values() if r.site == site]

    def _add_count(self, site: str, name: str, by: int) -> None:
        with self._writing("add_count"):
            self._remember(self._counters, (site, name))
            self._counters[site, name] = self._counters.get((site, name), 0) + by

    def _counts(self, site: str) -> dict[str, int]:
        with self._lock:
            return {name: n for (where, name), n in self._counters.items() if where == site}

    def _get_meta(self, key: str) -> str | None:
        with self._lock:
            return self._meta.get(key)

    def _set_meta(self, key: str, value: str) -> None:
        with self._writing("set_meta"):
            self._remember(self._meta, key)
            self._meta[key] = value
