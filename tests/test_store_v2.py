"""Ledger schema version 2: kinds, standing responses and counters kept by every store;
a SQLite file refused when it holds no ledger; a damaged row named in the error."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from icsclient.errors import StoreError
from icsclient.store import MemoryStore, OutboxState, SqliteStore, StandingResponse, Store

SITE = "AAA676Y"
CCF = "AAA336C"
T0 = datetime(2024, 1, 27, 7, 30, tzinfo=timezone(timedelta(hours=11)))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "l.db")
    with made:
        yield made


def edi(icr: str) -> tuple[bytes, bytes]:
    return f"UNB+UNOC:3+{SITE}+{CCF}+240127:0730+{icr}'".encode(), b"mail"


def standing(
    reference: str, outcome: str = "accepted", history: tuple[str, ...] = ()
) -> StandingResponse:
    return StandingResponse(
        site=SITE,
        reference=reference,
        at=(CCF, "7", "1"),
        prepared=T0,
        arrived=T0 + timedelta(minutes=1),
        content="d1",
        outcome=outcome,
        history=history,
    )


def test_an_outbox_entry_keeps_its_kind_and_what_it_acknowledges(store: Store) -> None:
    lodged = store.allocate_and_record(SITE, edi, now=T0, kind="CUSCAR")
    ack = store.allocate_and_record(SITE, edi, now=T0, kind="CONTRL", acknowledges=(CCF, "9"))
    assert store.get_outbox(SITE, lodged.icr) == lodged and not lodged.is_acknowledgement
    got = store.get_outbox(SITE, ack.icr)
    assert got is not None and got.acknowledges == (CCF, "9") and got.is_acknowledgement


def test_a_standing_response_is_kept_and_replaced(store: Store) -> None:
    assert store.get_response(SITE, "HAWB1") is None
    store.put_response(standing("HAWB1"))
    store.put_response(standing("HAWB2", "rejected"))
    store.put_response(standing("HAWB1", "accepted with errors and/or warnings", ("d0", "d9")))
    got = store.get_response(SITE, "HAWB1")
    assert got == standing("HAWB1", "accepted with errors and/or warnings", ("d0", "d9"))
    assert got.arrived.tzinfo == timezone.utc
    assert [r.reference for r in store.responses(SITE)] == ["HAWB1", "HAWB2"]
    assert store.responses("AAA999Z") == []


def test_counters_add_up_per_site_and_roll_back_with_a_failed_block(store: Store) -> None:
    store.add_count(SITE, "duplicates")
    store.add_count(SITE, "duplicates", 2)
    store.add_count("AAA999Z", "duplicates")
    with pytest.raises(RuntimeError), store.transaction():
        store.add_count(SITE, "superseded")
        raise RuntimeError("undo")
    assert store.counts(SITE) == {"duplicates": 3}
    with pytest.raises(StoreError):
        store.add_count(SITE, "x", by=True)


def test_update_outbox_writes_what_it_is_told_and_nothing_else(store: Store) -> None:
    entry = store.allocate_and_record(SITE, edi, now=T0)
    store.update_outbox(SITE, entry.icr, lambda state, attempts: {})
    assert store.get_outbox(SITE, entry.icr) == entry
    store.update_outbox(
        SITE, entry.icr, lambda state, attempts: {"state": OutboxState.SENT, "attempts": 5}
    )
    got = store.get_outbox(SITE, entry.icr)
    assert got is not None and (got.state, got.attempts) == (OutboxState.SENT, 5)
    with pytest.raises(StoreError, match="interchange"):
        store.update_outbox(SITE, entry.icr, lambda state, attempts: {"interchange": b""})


def test_sqlite_keeps_everything_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with SqliteStore(path) as store:
        store.put_response(standing("HAWB1"))
        store.add_count(SITE, "open_failures")
    with SqliteStore(path) as store:
        assert store.get_response(SITE, "HAWB1") == standing("HAWB1")
        assert store.counts(SITE) == {"open_failures": 1}


# ---------------------------------------------------------------------- create or refuse


def test_an_empty_file_is_refused_unless_create(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match=r"l\.db' is empty or holds no icsclient ledger.*create"):
        SqliteStore(path, timeout=0.1)
    with SqliteStore(path, create=True) as store:
        assert store.allocate_icr(SITE) == 1
    with SqliteStore(path) as store:  # a ledger now
        assert store.allocate_icr(SITE) == 2


def test_a_truncated_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with SqliteStore(path) as store:
        store.allocate_icr(SITE)
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)
    path.write_bytes(b"")  # a bad restore
    with pytest.raises(StoreError, match="refusing to start new ICR sequences"):
        SqliteStore(path, timeout=0.1)


def test_a_file_of_other_tables_is_refused_even_with_create(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match=r"holds 1 table\(s\) but no icsclient ledger"):
        SqliteStore(path, create=True)


def test_create_false_needs_an_existing_ledger(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="there is no SQLite ledger"):
        SqliteStore(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


# ---------------------------------------------------------------------- a damaged file


def test_a_damaged_time_names_the_file_table_and_row(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with SqliteStore(path) as store:
        entry = store.allocate_and_record(SITE, edi, now=T0)
        store.store_received(CCF, "5", b"UNB'", now=T0)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE outbox SET created = 'yesterday'")
        db.execute("UPDATE inbox SET received = x'ff00'")
        db.execute("UPDATE outbox SET state = 'LOST'")
    with SqliteStore(path) as store:
        row = rf"l\.db', table outbox, row \(site='{SITE}', icr='{entry.icr}'\)"
        with pytest.raises(StoreError, match=row):
            store.outbox()
        with pytest.raises(StoreError, match=r"table inbox, row \(sender='AAA336C', icr='5'\)"):
            store.get_inbox(CCF, "5")
        with pytest.raises(StoreError, match="unknown state 'LOST'"):
            store.mark_state(SITE, entry.icr, OutboxState.SENT, now=T0)
