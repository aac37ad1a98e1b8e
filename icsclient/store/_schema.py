"""The SQLite ledger's tables, how values are stored in them, and how an older file is upgraded."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import attrs

from ._model import InboxEntry, OutboxEntry, OutboxState

_E = TypeVar("_E")

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


def _same(value: object) -> object:
    return value


def _columns(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls))


_OUTBOX_COLUMNS = ", ".join(_columns(OutboxEntry))
_INBOX_COLUMNS = ", ".join(_columns(InboxEntry))
