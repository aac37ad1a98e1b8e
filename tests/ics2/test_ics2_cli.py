"""``icsclient ics2 check`` and ``icsclient ics2 explain``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from icsclient.cli import main
from icsclient.ics2 import build_filing
from icsclient.ics2.sample import sample_filing

REPLIES = Path(__file__).parent / "replies"


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.xml"
    path.write_bytes(build_filing(sample_filing(2)))
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    filing = attrs.evolve(sample_filing(), lrn="L" * 23, addressed_member_state="D")
    path = tmp_path / "bad.xml"
    path.write_bytes(build_filing(filing, force=True))
    return path


def test_check_a_good_filing(good: Path) -> None:
    code, out = run(["ics2", "check", str(good)])
    assert code == 0 and "IE3F26 LRN SAMPLE0000000001: 2 house" in out and "0 error(s)" in out
    code, out = run(["ics2", "check", "--json", str(good)])
    doc = json.loads(out)
    assert code == 0
    assert doc == {
        "schema": "icsclient.ics2.check/1", "file": str(good), "message_id": "IE3F26",
        "lrn": "SAMPLE0000000001", "mrn": None, "houses": 2, "ok": True, "findings": [],
    }  # fmt: skip


def test_check_reports_findings_with_exit_1(bad: Path) -> None:
    code, out = run(["ics2", "check", str(bad)])
    assert code == 1 and "/IE3F26/LRN" in out and "2 error(s)" in out
    code, out = run(["ics2", "check", "--json", str(bad)])
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert {f["pointer"] for f in doc["findings"]} == {
        "/IE3F26/LRN", "/IE3F26/addressedMemberState/country",
    }  # fmt: skip
    assert set(doc["findings"][0]) == {"severity", "rule", "pointer", "message"}


def test_explain_a_reply_over_the_filing(good: Path) -> None:
    code, out = run(["ics2", "explain", str(REPLIES / "IE3N99.xml"), "--filing", str(good)])
    assert code == 1 and "sent: /IE3F26/consignmentMasterLevel/consignmentHouseLevel[1]" in out
    code, out = run(["ics2", "explain", "--json", str(REPLIES / "IE3N99.xml")])
    doc = json.loads(out)
    assert doc["schema"] == "icsclient.ics2.explain/1"
    assert doc["reference"] == {"key": "LRN", "value": "SAMPLE0000000001"}
    assert [e["code"] for e in doc["errors"]] == ["12", "81", "ZZ999"]
    code, out = run(["ics2", "explain", str(REPLIES / "IE3R01.xml")])
    assert code == 0 and out.startswith("IE3R01 (ENS registered")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["ics2", "check", "/nonexistent.xml"], "no such file"),
        (["ics2", "check", str(REPLIES / "IE3R01.xml")], "not an air filing"),
        (["ics2", "explain", str(REPLIES / "IE3R01.xml"), "--filing", "/nope"], "no such file"),
    ],
)
def test_user_errors_are_one_line_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(argv)
    err = capsys.readouterr().err
    assert code == 2 and says in err and err.count("\n") == 1 and "Traceback" not in err


def test_malformed_xml_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.xml"
    path.write_bytes(b"<IE3F26")
    assert run(["ics2", "check", str(path)])[0] == 2
    assert "not well-formed" in capsys.readouterr().err


def test_missing_lxml_names_the_extra(good: Path) -> None:
    script = (
        "import sys; sys.modules['lxml'] = None\n"
        "from icsclient.cli import main\n"
        f"sys.exit(main(['ics2', 'check', {str(good)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "ICS2 needs lxml" in done.stderr and "pip install 'icsclient[ics2]'" in done.stderr
