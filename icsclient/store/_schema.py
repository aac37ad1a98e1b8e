"""The SQLite ledger's tables, how values are stored in them, and how an older file is upgraded.

Schema versions (``PRAGMA user_version``; ``PRAGMA application_id`` marks an icsclient ledger):

1. ICR sequences, outbox, inbox, quarantine and a key/value ``meta`` table (the lodgement
   client kept each report's standing response as JSON in ``meta``).
2. The outbox keeps ``kind`` (the first message type) and, for an ICONTRL, what it
   acknowledges (``ack_sender``, ``ack_icr``); a ``responses`` table holds the standing
   responses; a ``counters`` table the lodgement client's counts per site.  :func:`migrate`
   upgrades a version 1 file in place: it reads each outbox interchange once to fill
   ``kind`` and ``ack_*``, and moves the responses out of ``meta``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import attrs

from ..edifact import iter_segments
from ..errors import IcsError, StoreError
from ._model import InboxEntry, OutboxEntry, OutboxState, QuarantineEntry, StandingResponse

_E = TypeVar("_E")

SCHEMA_VERSION = 2
"""The version this icsclient writes."""

APPLICATION_ID = 0x49435331
"""``PRAGMA application_id`` of an icsclient ledger (``ICS1``); 0 in version 1 files."""

_V1 = (
    """CREATE TABLE icr_sequence (
        site TEXT PRIMARY KEY,
        next_value INTEGER NOT NULL CHECK (next_value BETWEEN 1 AND 99999999999999))""",
    """CREATE TABLE outbox (
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
    "CREATE INDEX outbox_by_state ON outbox (state, next_resend)",
    """CREATE TABLE inbox (
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
    """CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received TEXT NOT NULL,
        raw BLOB NOT NULL,
        reason TEXT NOT NULL)""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

_V2 = (
    "ALTER TABLE outbox ADD COLUMN kind TEXT",
    "ALTER TABLE outbox ADD COLUMN ack_sender TEXT",
    "ALTER TABLE outbox ADD COLUMN ack_icr TEXT",
    """CREATE TABLE responses (
        site TEXT NOT NULL,
        reference TEXT NOT NULL,
        at_sender TEXT NOT NULL,
        at_icr TEXT NOT NULL,
        at_message TEXT NOT NULL,
        prepared TEXT,
        arrived TEXT NOT NULL,
        content TEXT NOT NULL,
        outcome TEXT NOT NULL,
        history TEXT NOT NULL,
        PRIMARY KEY (site, reference))""",
    """CREATE TABLE counters (
        site TEXT NOT NULL,
        name TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (site, name))""",
)

_TIME_COLUMNS = frozenset(
    {"created", "updated", "last_sent", "next_resend", "received", "prepared", "arrived"}
)
_DECODE: dict[str, Callable[[Any], object]] = {
    **dict.fromkeys(_TIME_COLUMNS, datetime.fromisoformat),
    "state": OutboxState,
    "acknowledged": bool,
    "processed": bool,
}


def prepare(conn: sqlite3.Connection, path: str, new: bool, wait: float) -> None:
    """Create the tables in a new file, upgrade an old one, refuse what is no ledger.

    ``new``: whether an empty file may become a new ledger.  An existing file with no
    ledger may be one another process is creating right now (it made the file a moment
    ago): it is re-read for up to ``wait`` seconds before it is refused.
    """
    deadline = time.monotonic() + wait
    while True:
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        with conn:  # one transaction: concurrent first opens create the tables once
            conn.execute("BEGIN IMMEDIATE")
            if _upgrade(conn, path, new):
                return
        if time.monotonic() > deadline:
            raise StoreError(
                f"{path!r} is empty or holds no icsclient ledger; refusing to start new ICR "
                "sequences in it (numbers the CCF has seen would be reused). Restore the "
                "ledger, or pass create=True to make a new one there"
            )
        time.sleep(0.01)


def _upgrade(conn: sqlite3.Connection, path: str, new: bool) -> bool:
    """In a write transaction: create or migrate the schema; ``False`` if not allowed to."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    app = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if app not in (0, APPLICATION_ID):
        raise StoreError(f"{path!r} is not an icsclient ledger (application_id {app})")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"SQLite ledger {path!r} has schema version {version}; "
            f"this icsclient knows version {SCHEMA_VERSION}"
        )
    if version == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise StoreError(
                f"{path!r} holds {tables} table(s) but no icsclient ledger (schema version 0); "
                "refusing to use it"
            )
        if not new:
            return False
        create(conn)
    elif version < SCHEMA_VERSION:
        migrate(conn, version)
    return True


def create(conn: sqlite3.Connection) -> None:
    """Create every table of the current version in an empty file (in a transaction)."""
    for statement in (*_V1, *_V2):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Upgrade a file of schema ``version`` to the current one, in place (in a transaction)."""
    if version < 2:
        for statement in _V2:
            conn.execute(statement)
        _fill_kinds(conn)
        _move_responses(conn)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _fill_kinds(conn: sqlite3.Connection) -> None:
    """Version 2's outbox ``kind`` and ``ack_*``: read once from each stored interchange."""
    rows = conn.execute("SELECT rowid, interchange FROM outbox").fetchall()
    for rowid, interchange in rows:
        kind, acknowledges = _read_kind(bytes(interchange))
        sender, icr = acknowledges or (None, None)
        conn.execute(
            "UPDATE outbox SET kind = ?, ack_sender = ?, ack_icr = ? WHERE rowid = ?",
            (kind, sender, icr, rowid),
        )


def _read_kind(interchange: bytes) -> tuple[str | None, tuple[str, str] | None]:
    """The first message type and, for a CONTRL, the (sender, ICR) of its UCI."""
    kind: str | None = None
    try:
        for seg in iter_segments(interchange):
            if seg.tag == "UNH" and kind is None:
                kind = seg.get(1, 0)
                if kind != "CONTRL":
                    return kind, None
            elif seg.tag == "UCI" and kind == "CONTRL":
                return kind, (seg.get(1, 0), seg.get(0, 0))
    except (IcsError, ValueError):
        pass
    return kind, None


_RESPONSE_KEY = "lodgement/"
"""Version 1 kept a standing response under ``lodgement/<site>/response/<reference>``."""


def _move_responses(conn: sqlite3.Connection) -> None:
    rows = conn.execute(
        "SELECT key, value FROM meta WHERE key LIKE 'lodgement/%/response/%' ORDER BY rowid"
    ).fetchall()
    for key, value in rows:
        site, _, reference = str(key)[len(_RESPONSE_KEY) :].partition("/response/")
        try:
            record = json.loads(value)
            at = [str(part) for part in record["at"]]
            values = (
                site,
                reference,
                *at,
                record["prepared"],
                record["arrived"],
                str(record["content"]),
                str(record["outcome"]),
                " ".join(str(h) for h in record["history"]),
            )
        except (ValueError, KeyError, TypeError):
            continue  # not a response record: it stays in meta
        conn.execute(f"INSERT OR REPLACE INTO responses VALUES ({', '.join('?' * 10)})", values)
        conn.execute("DELETE FROM meta WHERE key = ?", (key,))


def _to_sql(value: object) -> object:
    """A Python value as stored: UTC ISO text for times (ordered as text), names for states."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, OutboxState):
        return value.value
    return value


def _decoded(row: sqlite3.Row) -> dict[str, Any]:
    return {
        name: None if row[name] is None else _DECODE.get(name, _same)(row[name])
        for name in row.keys()
    }


def _from_row(make: Callable[..., _E], row: sqlite3.Row) -> _E:
    """The value of ``row``; raises ``ValueError``/``TypeError`` for a value it cannot hold."""
    values = _decoded(row)
    if make is OutboxEntry:
        sender, icr = values.pop("ack_sender"), values.pop("ack_icr")
        values["acknowledges"] = None if sender is None or icr is None else (sender, icr)
    return make(**values)


def response_from_row(row: sqlite3.Row) -> StandingResponse:
    values = _decoded(row)
    at = (values.pop("at_sender"), values.pop("at_icr"), values.pop("at_message"))
    history = tuple(str(values.pop("history")).split())
    return StandingResponse(at=at, history=history, **values)


def response_to_sql(response: StandingResponse) -> tuple[object, ...]:
    return (
        response.site,
        response.reference,
        *response.at,
        _to_sql(response.prepared),
        _to_sql(response.arrived),
        response.content,
        response.outcome,
        " ".join(response.history),
    )


def _same(value: object) -> object:
    return value


def _columns(cls: type[Any]) -> tuple[str, ...]:
    names = tuple(f.name for f in attrs.fields(cls))
    if cls is OutboxEntry:
        names = (*names[:-1], "ack_sender", "ack_icr")
    return names


_OUTBOX_COLUMNS = ", ".join(_columns(OutboxEntry))
_INBOX_COLUMNS = ", ".join(_columns(InboxEntry))
_QUARANTINE_COLUMNS = ", ".join(_columns(QuarantineEntry))
_RESPONSE_COLUMNS = (
    "site, reference, at_sender, at_icr, at_message, prepared, arrived, content, outcome, history"
)


def _values(entry: object) -> tuple[object, ...]:
    """The column values of ``entry`` in the order of :func:`_columns`."""
    if isinstance(entry, OutboxEntry):
        ack = entry.acknowledges or (None, None)
        names = _columns(OutboxEntry)[:-2]
        return (*(_to_sql(getattr(entry, n)) for n in names), *ack)
    return tuple(_to_sql(getattr(entry, n)) for n in _columns(type(entry)))
