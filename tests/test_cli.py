"""The command line: inspect, explain, open, certs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from icsclient import Segment, build_interchange
from icsclient.cli import main
from icsclient.mail import compose_email
from icsclient.testing.pki import make_test_pki

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
WHEN = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    data = build_interchange(
        "AAA676Y",
        [("CUSCAR", [Segment("BGM", ("933", "", "", "AIRCR"), "O'BRIEN+1", "9")])],
        42,
        prepared=WHEN,
    )
    path = tmp_path / "good.edi"
    path.write_bytes(data)
    return path


def test_inspect_good(good_file: Path) -> None:
    code, text = run(["inspect", str(good_file)])
    assert code == 0
    assert "Interchange 42" in text and "from       AAA676Y" in text
    assert "BGM+933:::AIRCR+O'BRIEN+1+9" in text
    assert "No envelope findings." in text


def test_inspect_findings_exit_non_zero_and_json(tmp_path: Path, good_file: Path) -> None:
    bad = tmp_path / "bad.edi"
    bad.write_bytes(good_file.read_bytes().replace(b"UNT+3+1", b"UNT+4+1"))
    code, text = run(["inspect", str(bad), "--json"])
    assert code == 1
    doc = json.loads(text)
    assert doc["control_reference"] == "42"
    assert [(f["code"], f["segment_tag"], f["element"]) for f in doc["findings"]] == [
        (29, "UNT", 2)
    ]
    assert doc["messages"][0]["segments"][0]["elements"][1] == ["O'BRIEN+1"]


def test_inspect_stdin(monkeypatch: pytest.MonkeyPatch, good_file: Path) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(good_file.read_bytes())))
    code, text = run(["inspect", "-"])
    assert code == 0 and "Interchange 42" in text


def test_explain_contrl_and_cusres() -> None:
    code, text = run(["explain", str(FIXTURES / "contrl_segment_errors.edi")])
    assert code == 0
    assert "message 1 (CUSCAR) rejected" in text and "data element too long (39)" in text
    code, text = run(["explain", str(FIXTURES / "aircrr_mixed.edi"), "--json"])
    assert code == 0
    (report,) = json.loads(text)
    assert report["outcome"] == "ACCEPTED_WITH_WARNINGS"
    assert {
        "class": "ERROR",
        "code": "AC1234",
        "text": "Consignor name must be supplied",
    } in report["errors"]


def test_explain_refuses_business_messages(
    good_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(["explain", str(good_file)])
    assert code == 2
    assert "explain reads CONTRL and CUSRES only" in capsys.readouterr().err


def test_user_errors_are_one_line_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.edi"
    proc = subprocess.run(
        [sys.executable, "-m", "icsclient", "inspect", str(missing)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"icsclient inspect: no such file: {missing}"
    garbage = tmp_path / "garbage.edi"
    garbage.write_bytes(b"not edifact at all")
    proc = subprocess.run(
        [sys.executable, "-m", "icsclient", "inspect", str(garbage)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "EdifactSyntaxError" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["inspect", "explain", "open", "certs"])
def test_help_on_every_command(command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "icsclient", command, "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "usage: icsclient" in proc.stdout


def test_certs_then_open(tmp_path: Path) -> None:
    code, text = run(["certs", str(tmp_path / "pki"), "--json"])
    assert code == 0
    files = json.loads(text)
    assert Path(files["client.key"]).read_bytes().startswith(b"-----BEGIN PRIVATE KEY")

    # the gateway sends the client a response; the client opens it from the command line
    pki = make_test_pki()
    pki.write(tmp_path / "pki")
    reply = build_interchange(
        "AAA336C",
        [("CUSRES", [Segment("BGM", ("962", "", "", "AIRCRR"), "T1", "11")])],
        "00000000000007",
        recipient=pki.client_site,
        prepared=WHEN,
    )
    raw = compose_email(
        reply,
        signer=pki.gateway,
        gateway=pki.client.certificate,
        mail_from="cargo@ccf.example",
        mail_to="edi@vendor.example",
    )
    eml = tmp_path / "reply.eml"
    eml.write_bytes(raw)
    d = tmp_path / "pki"
    out_file = tmp_path / "out.edi"
    code, text = run(
        [
            "open",
            str(eml),
            "--cert",
            str(d / "client.pem"),
            "--key",
            str(d / "client.key"),
            "--trust",
            str(d / "ca.pem"),
            "--gateway-cert",
            str(d / "gateway.pem"),
            "-o",
            str(out_file),
            "--json",
        ]
    )
    assert code == 0, text
    info = json.loads(text)
    assert out_file.read_bytes() == reply
    assert info["control_reference"] == "00000000000007"
    assert "signer" in info and info["signer"]


def test_open_with_wrong_key_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = make_test_pki()
    d = tmp_path / "pki"
    pki.write(d)
    reply = build_interchange(
        "AAA336C",
        [("CUSRES", [Segment("BGM", "962")])],
        9,
        recipient=pki.client_site,
        prepared=WHEN,
    )
    raw = compose_email(
        reply,
        signer=pki.gateway,
        gateway=pki.client.certificate,
        mail_from="a@b.example",
        mail_to="c@d.example",
    )
    eml = tmp_path / "r.eml"
    eml.write_bytes(raw)
    code, _ = run(
        [
            "open",
            str(eml),
            "--cert",
            str(d / "gateway.pem"),
            "--key",
            str(d / "gateway.key"),
            "--trust",
            str(d / "ca.pem"),
            "--gateway-cert",
            str(d / "gateway.pem"),
        ]
    )
    assert code == 2
    assert "DecryptionError" in capsys.readouterr().err
