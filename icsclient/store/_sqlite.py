"""The embedded ledger: :class:`SqliteStore`, one SQLite file that processes may share."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from ..errors import StoreError
from ..ics.sequence import following
from ._base import Store, _already_recorded, _Change, _no_outbox_entry
from ._model import InboxEntry, OutboxEntry, OutboxState, QuarantineEntry, StandingResponse
from ._schema import (
    _INBOX_COLUMNS,
    _OUTBOX_COLUMNS,
    _QUARANTINE_COLUMNS,
    _RESPONSE_COLUMNS,
    _columns,
    _from_row,
    _to_sql,
    _values,
    prepare,
    response_from_row,
    response_to_sql,
)


def _is_busy(exc: sqlite3.Error) -> bool:
    """Whether SQLite said SQLITE_BUSY (5), in any of its extended forms."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return (code & 0xFF) == 5 if isinstance(code, int) else "database is locked" in str(exc)


_E = TypeVar("_E")

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

    ``create`` says whether a new ledger may be made: ``None`` (the default) makes one when
    the file does not exist, ``True`` also in an existing empty file, ``False`` never.  A
    file that exists but is empty or holds no ledger (a bad restore, a truncated copy) is
    refused with :class:`~icsclient.errors.StoreError` unless ``create=True``: a new ledger
    there would start the ICR sequences at 1 again and reuse numbers the CCF has seen.  A
    file of an older schema version is upgraded in place on first open (version 1 to 2:
    see :mod:`icsclient.store._schema`); a newer one is refused.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, create: bool | None = None
    ) -> None:
        self.path = os.fspath(path)
        """The database file."""
        private = self.path in ("", ":memory:")
        if create is False and not private and not os.path.exists(self.path):
            raise StoreError(f"there is no SQLite ledger at {self.path!r} (create=False)")
        self._new = private or bool(create) or (create is None and not os.path.exists(self.path))
        """Whether an empty file may be made a new ledger."""
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
        """Set the journal and sync modes; create the tables in a new file, upgrade an old one."""
        conn.row_factory = sqlite3.Row
        self._set_wal(conn)
        conn.execute("PRAGMA synchronous = FULL")
        prepare(conn, self.path, self._new, min(self.timeout, 2.0))

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
        except (UnicodeDecodeError, ValueError) as exc:  # a damaged file's error text
            raise StoreError(f"{op} failed on SQLite ledger {self.path!r}: {exc!r}") from exc

    def _entry(self, make: Callable[..., _E], row: sqlite3.Row, table: str) -> _E:
        """The value of a row of ``table``; a value it cannot hold raises :class:`StoreError`."""
        try:
            return make(row) if make is response_from_row else _from_row(make, row)
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            names = row.keys()
            key = ", ".join(
                f"{n}={row[n]!r}"
                for n in ("site", "sender", "icr", "id", "reference")
                if n in names
            )
            raise StoreError(
                f"SQLite ledger {self.path!r}, table {table}, row ({key}) holds a value this "
                f"icsclient cannot read (is the file damaged?): {exc}"
            ) from exc

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
        values = _values(entry)
        return self._cursor(conn, op, f"{sql} {conflict}".rstrip(), values).rowcount

    def _get_outbox(self, site: str, icr: str) -> OutboxEntry | None:
        rows = self._read(
            "get_outbox",
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE site = ? AND icr = ?",
            (site, icr),
        )
        return self._entry(OutboxEntry, rows[0], "outbox") if rows else None

    def _list_outbox(self, states: frozenset[OutboxState] | None) -> list[OutboxEntry]:
        params = [s.value for s in states or ()]
        where = "" if states is None else f"WHERE state IN ({', '.join('?' * len(params))})"
        rows = self._read(
            "outbox", f"SELECT {_OUTBOX_COLUMNS} FROM outbox {where} ORDER BY rowid", params
        )
        return [self._entry(OutboxEntry, r, "outbox") for r in rows]

    def _due(self, now: datetime) -> list[OutboxEntry]:
        rows = self._read(
            "due",
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = ? AND next_resend <= ? "
            "ORDER BY next_resend, rowid",
            (OutboxState.SENT.value, _to_sql(now)),
        )
        return [self._entry(OutboxEntry, r, "outbox") for r in rows]

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
            try:
                state = OutboxState(rows[0]["state"])
            except ValueError:
                raise StoreError(
                    f"SQLite ledger {self.path!r}, table outbox, row (site={site!r}, "
                    f"icr={icr!r}) holds an unknown state {rows[0]['state']!r}"
                ) from None
            values = change(state, rows[0]["attempts"])
            if values:
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
        return self._entry(InboxEntry, rows[0], "inbox"), True

    def _get_inbox(self, sender: str, icr: str) -> InboxEntry | None:
        rows = self._read(
            "get_inbox",
            f"SELECT {_INBOX_COLUMNS} FROM inbox WHERE sender = ? AND icr = ?",
            (sender, icr),
        )
        return self._entry(InboxEntry, rows[0], "inbox") if rows else None

    def _update_inbox(self, sender: str, icr: str, op: str, values: Mapping[str, Any]) -> bool:
        with self._write(op, one_change=True) as conn:
            return bool(self._update(conn, op, "inbox", "sender", sender, icr, values))

    def _list_inbox(self, op: str, unset_flag: str) -> list[InboxEntry]:
        assert unset_flag in ("acknowledged", "processed")
        rows = self._read(
            op,
            f"SELECT {_INBOX_COLUMNS} FROM inbox WHERE {unset_flag} = 0 ORDER BY rowid",
        )
        return [self._entry(InboxEntry, r, "inbox") for r in rows]

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
            "quarantined", f"SELECT {_QUARANTINE_COLUMNS} FROM quarantine ORDER BY id"
        )
        return [self._entry(QuarantineEntry, r, "quarantine") for r in rows]

    def _get_response(self, site: str, reference: str) -> StandingResponse | None:
        sql = f"SELECT {_RESPONSE_COLUMNS} FROM responses WHERE site = ? AND reference = ?"
        rows = self._read("get_response", sql, (site, reference))
        return self._entry(response_from_row, rows[0], "responses") if rows else None

    def _put_response(self, response: StandingResponse) -> None:
        names = _RESPONSE_COLUMNS.split(", ")
        update = ", ".join(f"{n} = excluded.{n}" for n in names[2:])
        with self._write("put_response", one_change=True) as conn:
            sql = (
                f"INSERT INTO responses ({_RESPONSE_COLUMNS}) VALUES ({', '.join('?' * 10)}) "
                f"ON CONFLICT (site, reference) DO UPDATE SET {update}"
            )
            self._run(conn, "put_response", sql, response_to_sql(response))

    def _responses(self, site: str) -> list[StandingResponse]:
        sql = f"SELECT {_RESPONSE_COLUMNS} FROM responses WHERE site = ? ORDER BY rowid"
        rows = self._read("responses", sql, (site,))
        return [self._entry(response_from_row, r, "responses") for r in rows]

    def _add_count(self, site: str, name: str, by: int) -> None:
        with self._write("add_count", one_change=True) as conn:
            self._run(
                conn,
                "add_count",
                "INSERT INTO counters (site, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT (site, name) DO UPDATE SET value = value + excluded.value",
                (site, name, by),
            )

    def _counts(self, site: str) -> dict[str, int]:
        rows = self._read("counts", "SELECT name, value FROM counters WHERE site = ?", (site,))
        return {str(r[0]): int(r[1]) for r in rows}

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
