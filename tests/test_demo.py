"""The end-to-end demo: lodge, CONTRL, CUSRES, ICONTRL over loopback SMTP."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from icsclient.demo import MISSING_CONSIGNOR, _verdict, run_demo, sample_report
from icsclient.edifact.envelope import Message
from icsclient.testing.ccf import Request


def test_demo_settles_everything(tmp_path: Path) -> None:
    progress = io.StringIO()
    result = run_demo(10, keep=tmp_path, progress=progress)
    rows = dict(result.rows)
    assert result.settled
    assert rows["lodged"] == 10
    # sample 8's envelope is faulty: its CONTRL rejects it and no CUSRES follows
    assert rows["CONTRL rejected"] == 1
    assert rows["rejected"] == 1
    # samples 4 and 9 lack a consignor: rejected; sample 6 has vague goods: advised
    assert rows["responses rejected"] == 2
    assert rows["responses accepted with errors and/or warnings"] == 1
    assert rows["responses accepted"] == 6
    # the first CONTRL was lost: one re-send, answered as a duplicate
    assert rows["resends"] == 1
    assert rows["CONTRL duplicate (after a re-send)"] == 1
    assert rows["CONTRL accepted"] == 8
    assert rows["acknowledgements sent"] == 9
    assert (tmp_path / "ledger.sqlite").exists()
    assert "10/10 lodged" in progress.getvalue()


def test_sample_verdicts() -> None:
    rejected = Message.create("1", "CUSCAR", sample_report(4, "AAA676Y")[1])
    fine = Message.create("1", "CUSCAR", sample_report(1, "AAA676Y")[1])

    def request(message: Message) -> Request:
        from datetime import datetime, timezone

        return Request.read(
            message, site="AAA676Y", icr="1", test=False, received=datetime.now(timezone.utc)
        )

    verdict = _verdict(request(rejected))
    assert verdict is not None and verdict.errors[0].code == MISSING_CONSIGNOR[1]
    assert _verdict(request(fine)) is None


def test_demo_command_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "icsclient", "demo", "--count", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["settled"] is True and doc["counts"]["lodged"] == 3 and doc["schema"] == 1
    assert all(isinstance(n, int) for n in doc["counts"].values())


def test_demo_refuses_a_bad_count() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "icsclient", "demo", "--count", "0"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "--count must be at least 1" in proc.stderr
