"""A ledger written by an older icsclient opens, migrates in place and keeps every entry.

``tests/fixtures/ledgers/v1.sqlite`` was written by ``make_v1_ledger.py`` beside it with
the code of schema version 1; ``v1.json`` lists every row as that code stored it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from icsclient.store import OutboxState, SqliteStore

LEDGERS = Path(__file__).parent / "fixtures" / "ledgers"


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    shutil.copyfile(LEDGERS / "v1.sqlite", path)
    return path


@pytest.fixture(scope="module")
def manifest() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads((LEDGERS / "v1.json").read_text())
    return data


def test_a_v1_ledger_keeps_every_outbox_entry(
    v1: Path, manifest: dict[str, list[dict[str, Any]]]
) -> None:
    with SqliteStore(v1) as store:
        entries = store.outbox()
        assert len(entries) == len(manifest["outbox"]) == 14
        for entry, row in zip(entries, manifest["outbox"], strict=True):
            assert (entry.site, entry.icr, entry.state) == (
                row["site"],
                row["icr"],
                OutboxState(row["state"]),
            )
            assert (entry.attempts, entry.message_count, entry.detail) == (
                row["attempts"],
                row["message_count"],
                row["detail"],
            )
            assert len(entry.interchange) == row["interchange"]
            assert entry.email is not None and len(entry.email) == row["email"]
            assert entry.created.isoformat(timespec="microseconds") == row["created"]
            sent = entry.last_sent and entry.last_sent.isoformat(timespec="microseconds")
            assert sent == row["last_sent"]
        for seq in manifest["icr_sequence"]:
            assert store.peek_icr(seq["site"]) == seq["next_value"]


def test_a_v1_ledger_keeps_every_inbox_and_quarantine_entry(
    v1: Path, manifest: dict[str, list[dict[str, Any]]]
) -> None:
    with SqliteStore(v1) as store:
        for row in manifest["inbox"]:
            entry = store.get_inbox(row["sender"], row["icr"])
            assert entry is not None
            assert (entry.acknowledged, entry.processed, entry.kind, entry.detail) == (
                bool(row["acknowledged"]),
                bool(row["processed"]),
                row["kind"],
                row["detail"],
            )
            assert len(entry.interchange) == row["interchange"]
            assert entry.raw_email is not None and len(entry.raw_email) == row["raw_email"]
        assert len(store.unprocessed()) == 0
        assert [(e.sender, e.icr) for e in store.unacknowledged()] == [
            (r["sender"], r["icr"]) for r in manifest["inbox"] if not r["acknowledged"]
        ]
        (quarantined,) = store.quarantined()
        (row,) = manifest["quarantine"]
        assert (quarantined.id, quarantined.reason, len(quarantined.raw)) == (
            row["id"],
            row["reason"],
            row["raw"],
        )


def test_a_v1_ledger_is_upgraded_to_v2_in_place(
    v1: Path, manifest: dict[str, list[dict[str, Any]]]
) -> None:
    with SqliteStore(v1) as store:
        site = manifest["icr_sequence"][0]["site"]
        entries = {e.icr: e for e in store.outbox()}
        icontrls = {icr for icr, e in entries.items() if e.is_acknowledgement}
        assert icontrls == {"2", "4", "7", "8", "14"}
        assert all(e.kind == "CUSCAR" for icr, e in entries.items() if icr not in icontrls)
        assert entries["14"].acknowledges == ("AAA336C", "00000000000011")
        assert all(entries[icr].acknowledges is not None for icr in icontrls)
        moved = {r.reference: r for r in store.responses(site)}
        assert sorted(moved) == ["BAD1", "HAWB1", "HAWB2", "HAWB7"]
        assert moved["BAD1"].outcome == "rejected" and moved["HAWB2"].history
        assert all(store.get_meta(m["key"]) is None for m in manifest["meta"])
        assert store.counts(site) == {}
    with sqlite3.connect(v1) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
