"""The ledger stores: outbox, inbox, quarantine and meta on both stores; SQLite under
concurrent processes and threads, across fork, and with processes killed by SIGKILL."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icsclient.errors import BuildError, StoreError
from icsclient.ics.names import MAX_ICR
from icsclient.store import (
    InboxEntry,
    MemoryStore,
    OutboxEntry,
    OutboxState,
    QuarantineEntry,
    SqliteStore,
    Store,
)

SITE = "AAA676Y"
CCF = "AAA336C"
T0 = datetime(2024, 1, 27, 7, 30, tzinfo=timezone(timedelta(hours=11)))

needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()"
)


def _ctx() -> Any:
    """fork where there is one (fast, and exercises the reconnect after fork), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "l.db")
    with made:
        yield made


def edi(icr: str) -> tuple[bytes, bytes]:
    return (
        f"UNB+UNOC:3+{SITE}::{SITE}+{CCF}+240127:0730+{icr}++++1'".encode(),
        b"mail " + icr.encode(),
    )


# ---------------------------------------------------------------------- outbox


def test_allocate_and_record_queues_the_interchange(store: Store) -> None:
    seen: list[str] = []

    def build(icr: str) -> tuple[bytes, bytes]:
        seen.append(icr)
        return edi(icr)

    entry = store.allocate_and_record(SITE, build, now=T0, message_count=3)
    assert seen == ["1"]
    assert entry == OutboxEntry(
        site=SITE,
        icr="1",
        message_count=3,
        interchange=edi("1")[0],
        email=b"mail 1",
        state=OutboxState.QUEUED,
        attempts=0,
        created=T0,
        updated=T0,
        last_sent=None,
        next_resend=None,
        detail=None,
    )
    assert store.get_outbox(SITE, "1") == entry
    assert store.peek_icr(SITE) == 2
    padded = store.allocate_and_record(SITE, edi, now=T0, pad=True)
    assert padded.icr == "00000000000002"
    assert store.get_outbox(SITE, "00000000000002") == padded
    assert store.get_outbox(SITE, "2") is None
    assert store.allocate_icr(SITE) == 3


def test_email_may_come_later(store: Store) -> None:
    entry = store.allocate_and_record(SITE, lambda icr: (edi(icr)[0], None), now=T0)
    assert entry.email is None
    store.set_email(SITE, entry.icr, b"composed")
    got = store.get_outbox(SITE, entry.icr)
    assert got is not None and got.email == b"composed"


def test_raising_build_consumes_no_number(store: Store) -> None:
    problem = ValueError("cannot build")

    def build(icr: str) -> tuple[bytes, bytes]:
        raise problem

    with pytest.raises(ValueError) as info:
        store.allocate_and_record(SITE, build, now=T0)
    assert info.value is problem
    assert store.peek_icr(SITE) == 1
    assert store.outbox() == []
    assert store.allocate_and_record(SITE, edi, now=T0).icr == "1"


@pytest.mark.parametrize("result", [b"edi", (b"edi",), ("text", b"mail"), (b"edi", "mail")])
def test_build_must_return_bytes(store: Store, result: object) -> None:
    with pytest.raises(StoreError, match="ICR '1'|build"):
        store.allocate_and_record(SITE, lambda icr: result, now=T0)  # type: ignore[arg-type,return-value]
    assert store.peek_icr(SITE) == 1 and store.outbox() == []


def test_build_may_read_but_not_write_the_store(store: Store) -> None:
    def build(icr: str) -> tuple[bytes, bytes]:
        assert store.peek_icr(SITE) == int(icr)
        store.allocate_icr("OTHER")
        raise AssertionError("unreachable")

    with pytest.raises(StoreError, match="inside a build callback"):
        store.allocate_and_record(SITE, build, now=T0)
    assert store.peek_icr(SITE) == 1 and store.peek_icr("OTHER") == 1


def test_a_transaction_commits_its_writes_together(store: Store) -> None:
    with store.transaction():
        entry = store.allocate_and_record(SITE, edi, now=T0)
        store.mark_sent(SITE, entry.icr, now=T0, next_resend=None)
        store.store_received(CCF, "7", b"UNB", now=T0)
        store.mark_acknowledged(CCF, "7")
        store.set_meta("k", "v")
        got = store.get_outbox(SITE, "1")  # reads see the block's own writes
        assert got is not None and got.state is OutboxState.SENT
    assert store.peek_icr(SITE) == 2 and store.get_meta("k") == "v"
    inbox = store.get_inbox(CCF, "7")
    assert inbox is not None and inbox.acknowledged


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    store.allocate_and_record(SITE, edi, now=T0)
    with pytest.raises(KeyError), store.transaction():
        store.allocate_and_record(SITE, edi, now=T0)
        store.mark_state(SITE, "1", OutboxState.ACKNOWLEDGED, now=T0)
        store.store_received(CCF, "7", b"UNB", now=T0)
        store.quarantine(b"raw", "why", T0)
        store.set_meta("k", "v")
        with store.transaction():  # nested: only the outermost commits
            store.set_next_icr(SITE, 50)
        raise KeyError("the block failed")
    assert store.peek_icr(SITE) == 2
    assert [(e.icr, e.state) for e in store.outbox()] == [("1", OutboxState.QUEUED)]
    assert store.get_inbox(CCF, "7") is None
    assert store.quarantined() == [] and store.get_meta("k") is None
    assert store.allocate_and_record(SITE, edi, now=T0).icr == "2"


def test_a_failed_write_inside_a_transaction_is_undone_alone(store: Store) -> None:
    def build(icr: str) -> tuple[bytes, bytes]:
        raise BuildError("cannot build")

    with store.transaction():
        store.allocate_and_record(SITE, edi, now=T0)
        with pytest.raises(BuildError):
            store.allocate_and_record(SITE, build, now=T0)
        with pytest.raises(StoreError):
            store.mark_acknowledged(CCF, "404")
        store.set_meta("k", "v")
    assert store.peek_icr(SITE) == 2 and [e.icr for e in store.outbox()] == ["1"]
    assert store.get_meta("k") == "v"


def test_a_build_callback_cannot_open_a_transaction(store: Store) -> None:
    def build(icr: str) -> tuple[bytes, bytes]:
        with store.transaction():
            raise AssertionError("unreachable")

    with pytest.raises(StoreError, match="inside a build callback"):
        store.allocate_and_record(SITE, build, now=T0)
    with store.transaction(), pytest.raises(StoreError, match="inside a build callback"):
        store.allocate_and_record(SITE, build, now=T0)
    assert store.peek_icr(SITE) == 1 and store.outbox() == []


def test_a_transaction_is_one_commit(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "l.db")
    statements: list[str] = []
    store.allocate_icr(SITE)  # connect
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    with store.transaction():
        entry = store.allocate_and_record(SITE, edi, now=T0)
        store.mark_sent(SITE, entry.icr, now=T0, next_resend=None)
        store.set_meta("k", "v")
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    store.close()
    with SqliteStore(tmp_path / "l.db") as again:
        assert again.peek_icr(SITE) == 3 and again.get_meta("k") == "v"


def test_recorded_icr_is_never_reused_after_a_reset(store: Store) -> None:
    store.allocate_and_record(SITE, edi, now=T0)
    store.allocate_and_record(SITE, edi, now=T0)
    store.set_next_icr(SITE, 2)
    with pytest.raises(StoreError, match="'2' of site 'AAA676Y' is already in the outbox"):
        store.allocate_and_record(SITE, edi, now=T0)
    assert store.peek_icr(SITE) == 2
    store.set_next_icr(SITE, 3)
    assert store.allocate_and_record(SITE, edi, now=T0).icr == "3"


def test_allocate_and_record_validates(store: Store) -> None:
    with pytest.raises(BuildError, match="'aaa'"):
        store.allocate_and_record("aaa", edi, now=T0)
    with pytest.raises(BuildError, match="message_count"):
        store.allocate_and_record(SITE, edi, now=T0, message_count=0)
    with pytest.raises(StoreError, match="timezone-aware"):
        store.allocate_and_record(SITE, edi, now=datetime(2024, 1, 1))
    assert store.peek_icr(SITE) == 1


def test_send_resend_and_acknowledge(store: Store) -> None:
    a = store.allocate_and_record(SITE, edi, now=T0)
    b = store.allocate_and_record(SITE, edi, now=T0)
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    store.mark_sent(SITE, a.icr, now=T0, next_resend=t2)
    store.mark_sent(SITE, b.icr, now=T0, next_resend=t1)
    assert store.due(T0) == []
    assert [e.icr for e in store.due(t1)] == ["2"]
    assert [e.icr for e in store.due(t3)] == ["2", "1"]

    store.mark_sent(SITE, b.icr, now=t1, next_resend=t3)
    got = store.get_outbox(SITE, b.icr)
    assert got is not None
    assert (got.state, got.attempts, got.last_sent, got.next_resend) == (
        OutboxState.SENT,
        2,
        t1,
        t3,
    )
    store.record_attempt(SITE, b.icr, now=t2, next_resend=t3, detail="SMTP 451")
    got = store.get_outbox(SITE, b.icr)
    assert got is not None
    assert (got.state, got.attempts, got.last_sent, got.detail, got.updated) == (
        OutboxState.SENT,
        3,
        t1,
        "SMTP 451",
        t2,
    )

    store.mark_state(SITE, a.icr, OutboxState.ACKNOWLEDGED, now=t2)
    acked = store.get_outbox(SITE, a.icr)
    assert acked is not None
    assert (acked.state, acked.next_resend, acked.updated) == (OutboxState.ACKNOWLEDGED, None, t2)
    assert [e.icr for e in store.due(t3)] == ["2"]
    # a late mark_sent (the CONTRL won the race) keeps the final state and sets no resend
    store.mark_sent(SITE, a.icr, now=t3, next_resend=t3)
    acked = store.get_outbox(SITE, a.icr)
    assert acked is not None
    assert (acked.state, acked.attempts, acked.next_resend) == (OutboxState.ACKNOWLEDGED, 2, None)

    store.mark_state(SITE, b.icr, OutboxState.GAVE_UP, detail="no CONTRL after 3 attempts", now=t3)
    assert store.due(t3 + timedelta(days=1)) == []
    assert [e.icr for e in store.outbox()] == ["1", "2"]
    assert [e.icr for e in store.outbox(OutboxState.GAVE_UP)] == ["2"]
    assert [e.icr for e in store.outbox([OutboxState.QUEUED, OutboxState.SENT])] == []
    assert [e.icr for e in store.outbox([OutboxState.ACKNOWLEDGED, OutboxState.GAVE_UP])] == [
        "1",
        "2",
    ]


def test_mark_sent_may_go_straight_to_a_final_state(store: Store) -> None:
    entry = store.allocate_and_record(SITE, edi, now=T0)
    t1 = T0 + timedelta(minutes=1)
    store.mark_sent(
        SITE, entry.icr, now=t1, next_resend=t1, final=OutboxState.ACKNOWLEDGED, detail="done"
    )
    got = store.get_outbox(SITE, entry.icr)
    assert got is not None
    assert (got.state, got.attempts, got.last_sent, got.next_resend, got.detail) == (
        OutboxState.ACKNOWLEDGED,
        1,
        t1,
        None,
        "done",
    )
    assert store.due(t1 + timedelta(days=1)) == []
    with pytest.raises(StoreError, match="final must be a final state"):
        store.mark_sent(SITE, entry.icr, now=t1, next_resend=None, final=OutboxState.SENT)
    assert store.get_outbox(SITE, entry.icr) == got


def test_queued_entries_are_listed_until_sent(store: Store) -> None:
    store.allocate_and_record(SITE, edi, now=T0)
    store.allocate_and_record("BBB123Z", edi, now=T0)
    queued = store.outbox(OutboxState.QUEUED)
    assert [(e.site, e.icr) for e in queued] == [(SITE, "1"), ("BBB123Z", "1")]
    store.mark_sent(SITE, "1", now=T0, next_resend=None)
    assert [(e.site, e.icr) for e in store.outbox(OutboxState.QUEUED)] == [("BBB123Z", "1")]
    assert store.due(T0 + timedelta(days=365)) == []  # next_resend None: never due


def test_missing_outbox_entries(store: Store) -> None:
    assert store.get_outbox(SITE, "9") is None
    calls: list[Callable[[], None]] = [
        lambda: store.mark_sent(SITE, "9", now=T0, next_resend=None),
        lambda: store.record_attempt(SITE, "9", now=T0, next_resend=None),
        lambda: store.mark_state(SITE, "9", OutboxState.REJECTED, now=T0),
        lambda: store.set_email(SITE, "9", b""),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="no outbox entry for site 'AAA676Y' ICR '9'"):
            call()


def test_unknown_state_is_refused(store: Store) -> None:
    store.allocate_and_record(SITE, edi, now=T0)
    with pytest.raises(StoreError, match="unknown outbox state 'DONE'"):
        store.mark_state(SITE, "1", "DONE", now=T0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- times


offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)


@settings(max_examples=40)
@given(when=st.datetimes(timezones=offsets))
def test_times_round_trip_exactly(when: datetime) -> None:
    for s in (MemoryStore(), SqliteStore(":memory:")):
        with s:
            s.allocate_and_record(SITE, edi, now=when)
            s.mark_sent(SITE, "1", now=when, next_resend=when)
            got = s.get_outbox(SITE, "1")
            assert got is not None
            assert got.created == when and got.last_sent == when and got.next_resend == when
            assert got.created.utcoffset() == timedelta(0)
            assert [e.icr for e in s.due(when)] == ["1"]
            assert s.due(when - timedelta(microseconds=1)) == []


def test_naive_times_are_refused(store: Store) -> None:
    naive = datetime(2024, 1, 1)
    store.allocate_and_record(SITE, edi, now=T0)
    with pytest.raises(StoreError, match="next_resend must be a timezone-aware datetime"):
        store.mark_sent(SITE, "1", now=T0, next_resend=naive)
    with pytest.raises(StoreError, match="now must be a timezone-aware datetime"):
        store.due(naive)
    with pytest.raises(StoreError, match="now must be"):
        store.store_received(CCF, "1", b"x", now=naive)


# ---------------------------------------------------------------------- inbox


def test_received_interchanges_are_stored_once(store: Store) -> None:
    entry, dup = store.store_received(CCF, "00000000000042", b"UNB...", raw_email=b"raw", now=T0)
    assert not dup
    assert entry == InboxEntry(
        sender=CCF,
        icr="00000000000042",
        received=T0,
        interchange=b"UNB...",
        raw_email=b"raw",
        acknowledged=False,
        processed=False,
        response_json=None,
        kind=None,
        detail=None,
    )
    again, dup = store.store_received(CCF, "00000000000042", b"other", now=T0 + timedelta(hours=1))
    assert dup and again == entry
    assert store.get_inbox(CCF, "00000000000042") == entry
    assert store.get_inbox(CCF, "42") is None
    _, dup = store.store_received(CCF, "42", b"UNB...", now=T0)
    assert not dup
    # stored as acknowledged already (a CONTRL needs no acknowledgement); a duplicate
    # keeps what was stored first
    done, dup = store.store_received(CCF, "43", b"UNB...", now=T0, acknowledged=True)
    assert not dup and done.acknowledged
    assert [e.icr for e in store.unacknowledged()] == ["00000000000042", "42"]
    first, dup = store.store_received(CCF, "42", b"UNB...", now=T0, acknowledged=True)
    assert dup and not first.acknowledged


def test_acknowledge_and_process(store: Store) -> None:
    for icr in ("1", "2", "3"):
        store.store_received(CCF, icr, b"UNB" + icr.encode(), now=T0)
    assert [e.icr for e in store.unacknowledged()] == ["1", "2", "3"]
    store.mark_acknowledged(CCF, "2")
    assert [e.icr for e in store.unacknowledged()] == ["1", "3"]
    assert [e.icr for e in store.unprocessed()] == ["1", "2", "3"]
    response = json.dumps({"document": "AIRCRR", "outcome": "MS5203"})
    store.mark_processed(CCF, "2", response, kind="CUSRES", detail="accepted")
    got = store.get_inbox(CCF, "2")
    assert got is not None
    assert (got.acknowledged, got.processed, got.response_json, got.kind, got.detail) == (
        True,
        True,
        response,
        "CUSRES",
        "accepted",
    )
    assert [e.icr for e in store.unprocessed()] == ["1", "3"]
    with pytest.raises(StoreError, match="no inbox entry for sender 'AAA336C' ICR '9'"):
        store.mark_acknowledged(CCF, "9")
    store.mark_acknowledged(CCF, "9", missing_ok=True)  # nothing to mark, nothing written
    assert store.get_inbox(CCF, "9") is None
    with pytest.raises(StoreError, match="no inbox entry"):
        store.mark_processed(CCF, "9")


def test_quarantine_and_meta(store: Store) -> None:
    assert store.quarantined() == []
    assert store.quarantine(b"garbage", "not S/MIME", T0) == 1
    assert store.quarantine(b"more", "bad signature", now=T0 + timedelta(seconds=1)) == 2
    assert store.quarantined() == [
        QuarantineEntry(1, T0, b"garbage", "not S/MIME"),
        QuarantineEntry(2, T0 + timedelta(seconds=1), b"more", "bad signature"),
    ]
    assert store.get_meta("gateway") is None
    store.set_meta("gateway", "a")
    store.set_meta("gateway", "b")
    assert store.get_meta("gateway") == "b"


def test_reprs_do_not_dump_the_bytes(store: Store) -> None:
    entry = store.allocate_and_record(SITE, lambda icr: (b"x" * 5000, None), now=T0)
    assert "<5000 bytes>" in repr(entry) and "xxx" not in repr(entry)


def test_a_non_durable_transaction_is_atomic_and_kept(store: Store) -> None:
    entry = store.allocate_and_record(SITE, edi, now=T0)
    with pytest.raises(KeyError), store.transaction(durable=False):
        store.mark_sent(SITE, entry.icr, now=T0, next_resend=T0)
        raise KeyError("the block failed")
    assert store.outbox(OutboxState.QUEUED) != []
    with store.transaction(durable=False):
        store.mark_sent(SITE, entry.icr, now=T0, next_resend=T0)
        with store.transaction():  # nested: committed with the outermost, as it says
            store.set_meta("k", "v")
    got = store.get_outbox(SITE, entry.icr)
    assert got is not None and got.state is OutboxState.SENT and store.get_meta("k") == "v"


def _synchronous(store: SqliteStore) -> int:
    assert store._conn is not None
    return int(store._conn.execute("PRAGMA synchronous").fetchone()[0])


def test_only_a_non_durable_transaction_skips_the_disk_sync(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "l.db")
    entry = store.allocate_and_record(SITE, edi, now=T0)
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    with store.transaction(durable=False):
        store.mark_sent(SITE, entry.icr, now=T0, next_resend=T0)
        assert _synchronous(store) == 1  # NORMAL: no sync at this commit
        with store.transaction():
            assert _synchronous(store) == 1  # the outermost block decides
    store.set_meta("k", "v")  # a single write: durable again
    with store.transaction():
        assert _synchronous(store) == 2  # FULL
    with store.transaction(durable=False):
        pass
    store.allocate_icr(SITE)
    assert _synchronous(store) == 2
    syncs = [s for s in statements if s.startswith("PRAGMA synchronous =")]
    assert syncs == [
        "PRAGMA synchronous = NORMAL",
        "PRAGMA synchronous = FULL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA synchronous = FULL",
    ]
    store.close()
    with SqliteStore(tmp_path / "l.db") as again:
        got = again.get_outbox(SITE, entry.icr)
        assert got is not None and got.state is OutboxState.SENT and again.peek_icr(SITE) == 3


class _BusyAtFirst:
    """A connection whose first ``busy`` statements matching ``prefix`` answer "locked"."""

    def __init__(self, conn: sqlite3.Connection, prefix: str, busy: int) -> None:
        self.conn, self.prefix, self.busy, self.tries = conn, prefix, busy, 0

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if sql.startswith(self.prefix):
            self.tries += 1
            if self.tries <= self.busy:
                raise sqlite3.OperationalError("database is locked")
        return self.conn.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.mark.parametrize("prefix", ["SELECT", "BEGIN IMMEDIATE"])
def test_sqlite_waits_in_naps_while_the_file_is_busy(tmp_path: Path, prefix: str) -> None:
    store = SqliteStore(tmp_path / "l.db", timeout=5)
    store.set_meta("k", "v")
    real = store._conn
    assert real is not None
    assert int(real.execute("PRAGMA busy_timeout").fetchone()[0]) == 0  # our naps instead
    flaky = _BusyAtFirst(real, prefix, busy=3)
    store._conn = flaky  # type: ignore[assignment]
    assert store.get_meta("k") == "v" and store.peek_icr(SITE) == 1
    store.set_meta("k", "w")
    assert flaky.tries > 3 and store.get_meta("k") == "w"
    store.timeout = 0.01
    flaky.tries, flaky.busy = 0, 10**9
    with pytest.raises(StoreError, match="database is locked"):
        store.get_meta("k") if prefix == "SELECT" else store.set_meta("k", "x")
    store._conn = real
    store.close()


# ---------------------------------------------------------------------- SQLite specifics


def test_sqlite_ledger_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with SqliteStore(path) as first:
        entry = first.allocate_and_record(SITE, edi, now=T0)
        first.mark_sent(SITE, "1", now=T0, next_resend=T0)
        first.store_received(CCF, "7", b"in", now=T0)
        first.quarantine(b"q", "why", T0)
        first.set_meta("k", "v")
    with SqliteStore(str(path)) as second:
        assert second.peek_icr(SITE) == 2
        got = second.get_outbox(SITE, "1")
        assert got is not None and got.state is OutboxState.SENT and got.created == entry.created
        assert second.get_inbox(CCF, "7") is not None
        assert len(second.quarantined()) == 1 and second.get_meta("k") == "v"
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_sqlite_errors_name_the_operation_and_file(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "l.db"
    with pytest.raises(StoreError, match=r"open failed on SQLite ledger '.*l\.db'"):
        SqliteStore(missing)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.db.*not a database"):
        SqliteStore(junk)
    store = SqliteStore(tmp_path / "ok.db")
    store.close()
    with pytest.raises(StoreError, match="allocate_icr: SQLite ledger .*ok.db' is closed"):
        store.allocate_icr(SITE)


def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(path)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_share_one_store(kind: str, tmp_path: Path) -> None:
    store: Store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "l.db")
    drawn: list[int] = []
    lock = threading.Lock()

    def draw() -> None:
        for _ in range(40):
            if len(drawn) % 3:
                n = store.allocate_icr(SITE)
            else:
                n = int(store.allocate_and_record(SITE, edi, now=T0).icr)
            with lock:
                drawn.append(n)

    threads = [threading.Thread(target=draw) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(drawn) == list(range(1, 241))
    store.close()


# ---------------------------------------------------------------------- several processes


def _draw(path: str, count: int, start: Any, out: Any) -> None:
    start.wait()
    try:
        store = SqliteStore(path)
        out.put([store.allocate_icr(SITE) for _ in range(count)])
    except StoreError as exc:
        out.put(str(exc))


def _race(path: str, processes: int, count: int) -> list[Any]:
    """What each of ``processes`` processes, started at once, drew (or the error it met)."""
    ctx = _ctx()
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_draw, args=(path, count, start, out)) for _ in range(processes)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    return results


def test_processes_never_share_a_number(tmp_path: Path) -> None:
    path = str(tmp_path / "l.db")
    SqliteStore(path).close()
    results = _race(path, 4, 300)
    for numbers in results:
        assert numbers == sorted(numbers)  # each process sees its own numbers rise
    assert sorted(n for numbers in results for n in numbers) == list(range(1, 1201))


def test_processes_may_open_a_new_file_at_once(tmp_path: Path) -> None:
    """Switching a new file to WAL races; no opener may fail with "database is locked"."""
    for round_ in range(12):
        results = _race(str(tmp_path / f"new{round_}.db"), 6, 1)
        assert sorted(results, key=str) == [[1], [2], [3], [4], [5], [6]]


def _hold_in_build(path: str, entered: Any, seconds: float) -> None:
    def build(icr: str) -> tuple[bytes, bytes]:
        entered.set()
        time.sleep(seconds)
        return edi(icr)

    SqliteStore(path).allocate_and_record(SITE, build, now=T0)


def test_a_writer_waits_for_another_process(tmp_path: Path) -> None:
    path = str(tmp_path / "l.db")
    store = SqliteStore(path)
    ctx = _ctx()
    entered = ctx.Event()
    child = ctx.Process(target=_hold_in_build, args=(path, entered, 0.5))
    child.start()
    assert entered.wait(30)
    assert store.peek_icr(SITE) == 1  # readers are not blocked (WAL)
    assert store.allocate_icr(SITE) == 2  # waited for the child's transaction
    child.join(10)
    assert child.exitcode == 0
    assert [e.icr for e in store.outbox()] == ["1"]

    entered.clear()
    child = ctx.Process(target=_hold_in_build, args=(path, entered, 1.5))
    child.start()
    assert entered.wait(30)
    impatient = SqliteStore(path, timeout=0.1)
    with pytest.raises(StoreError, match=r"allocate_icr failed on SQLite ledger .*locked"):
        impatient.allocate_icr(SITE)
    child.join(10)
    assert impatient.allocate_icr(SITE) == 4


def _after_fork(store: SqliteStore, before: Any, out: Any) -> None:
    from icsclient.store import _sqlite as module

    n = store.allocate_icr(SITE)
    out.put((n, store._conn is not before, any(c is before for c in module._abandoned)))


@needs_fork
def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "l.db")
    assert store.allocate_icr(SITE) == 1
    before = store._conn
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_after_fork, args=(store, before, out))
    child.start()
    assert out.get(timeout=30) == (2, True, True)
    child.join(10)
    assert store._conn is before  # the parent keeps its connection
    assert store.allocate_icr(SITE) == 3


def test_a_changed_pid_is_noticed_without_the_fork_hook(tmp_path: Path) -> None:
    from icsclient.store import _sqlite as module

    store = SqliteStore(tmp_path / "l.db")
    before = store._conn
    store._pid = -1  # as if forked by a route that skipped os.register_at_fork hooks
    assert store.allocate_icr(SITE) == 1
    assert store._conn is not before and store._pid == os.getpid()
    assert module._abandoned.pop() is before
    assert before is not None
    before.close()


# ---------------------------------------------------------------------- SIGKILL


def _draw_forever(path: str, log: str) -> None:
    store = SqliteStore(path)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    while True:
        n = store.allocate_icr(SITE)
        os.write(fd, f"{n}\n".encode())  # only after the commit: n was handed out


def _lines(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_while_drawing_never_repeats_a_number(tmp_path: Path) -> None:
    path = str(tmp_path / "l.db")
    SqliteStore(path).close()
    ctx = _ctx()
    reported: list[int] = []
    for round_ in range(3):
        log = tmp_path / f"round{round_}.log"
        child = ctx.Process(target=_draw_forever, args=(path, str(log)))
        child.start()
        deadline = time.monotonic() + 30
        while len(_lines(log)) < 30 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.001 * round_)
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL
        numbers = _lines(log)
        assert len(numbers) >= 30
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        if reported:  # at most one number was committed but not reported before the kill
            assert numbers[0] - reported[-1] in (1, 2)
        reported += numbers
    with SqliteStore(path) as store:
        after = store.allocate_icr(SITE)
        assert after - reported[-1] in (1, 2)
        assert after not in reported and len(set(reported)) == len(reported)
    check = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"


def _die_in_build(path: str, entered: Any, how: str) -> None:
    def build(icr: str) -> tuple[bytes, bytes]:
        entered.set()
        if how == "self":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(30)
        raise AssertionError("not killed")

    SqliteStore(path).allocate_and_record(SITE, build, now=T0)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("how", ["self", "parent"])
def test_sigkill_inside_build_consumes_no_number(tmp_path: Path, how: str) -> None:
    path = str(tmp_path / "l.db")
    store = SqliteStore(path)
    for _ in range(3):
        store.allocate_and_record(SITE, edi, now=T0)
    ctx = _ctx()
    entered = ctx.Event()
    child = ctx.Process(target=_die_in_build, args=(path, entered, how))
    child.start()
    assert entered.wait(30)
    if how == "parent":
        os.kill(child.pid or 0, signal.SIGKILL)
    child.join(10)
    assert child.exitcode == -signal.SIGKILL
    for s in (store, SqliteStore(path)):
        assert s.peek_icr(SITE) == 4
        assert s.get_outbox(SITE, "4") is None
        assert [e.icr for e in s.outbox()] == ["1", "2", "3"]
    assert store.allocate_and_record(SITE, edi, now=T0).icr == "4"


def test_wrap_is_stored_durably(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with SqliteStore(path) as store:
        store.set_next_icr(SITE, MAX_ICR)
        assert store.allocate_and_record(SITE, edi, now=T0, pad=True).icr == "99999999999999"
    with SqliteStore(path) as store:
        assert store.allocate_icr(SITE) == 1


def test_public_api_is_documented() -> None:
    from icsclient import store as module
    from icsclient.ics import sequence

    public: list[Any] = []
    for mod in (module, sequence):
        for obj in (getattr(mod, name) for name in mod.__all__ if not name.isupper()):
            public.append(obj)
            if isinstance(obj, type):
                public += [v for k, v in vars(obj).items() if not k.startswith("_") and callable(v)]
    undocumented = [getattr(o, "__qualname__", o) for o in public if not (o.__doc__ or "").strip()]
    assert undocumented == []
