"""The command line: inspect, explain, open, certs."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from icsclient import Segment, __version__, build_interchange
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
    assert "BGM+933:::AIRCR+O?'BRIEN?+1+9" in text  # re-escaped: valid EDIFACT
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
    assert doc["schema"] == 1 and doc["message_count"] == 1
    assert doc["messages"][0]["segments"][0] == "BGM+933:::AIRCR+O?'BRIEN?+1+9"


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
    doc = json.loads(text)
    assert doc["schema"] == 1 and doc["interchange"]["message_count"] == 1
    (report,) = doc["messages"]
    assert report["outcome"] == "ACCEPTED_WITH_WARNINGS" and report["outcome_code"] == "MS5202"
    assert report["icr"] == doc["interchange"]["control_reference"]
    errors = [{k: e[k] for k in ("class", "code", "text")} for e in report["errors"]]
    assert {"class": "ERROR", "code": "AC1234", "text": "Consignor name must be supplied"} in errors


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
    assert proc.stderr == (
        f"icsclient inspect: {garbage} is text that does not start with UNA or UNB: not EDIFACT\n"
    )


@pytest.mark.parametrize("command", ["inspect", "explain", "open", "certs"])
def test_help_on_every_command(command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "icsclient", command, "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "usage: icsclient" in proc.stdout


def test_certs_then_open(tmp_path: Path) -> None:
    code, text = run(["certs", str(tmp_path / "pki"), "--json"])
    assert code == 0
    files = json.loads(text)["files"]
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


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m icsclient`` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "icsclient", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def test_version() -> None:
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"icsclient {__version__}"


def test_inspect_says_what_is_not_edifact(tmp_path: Path) -> None:
    cases = {
        "empty.edi": (b"", "empty file"),
        "blank.edi": (b"\r\n  \r\n", "only white space"),
        "binary.bin": (b"\x89PNG\r\n\x1a\n\0\0", "binary data that does not start with UNA or UNB"),
        "mail.eml": (b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi", "open it"),
    }
    for name, (data, says) in cases.items():
        (tmp_path / name).write_bytes(data)
        err = one_line_error(cli("inspect", str(tmp_path / name)))
        assert says in err and "UNOC:3" not in err, err


def test_a_truncated_interchange_is_a_finding_with_what_was_read(
    tmp_path: Path, good_file: Path
) -> None:
    data = good_file.read_bytes()
    cut = tmp_path / "cut.edi"
    cut.write_bytes(data[: data.index(b"UNT")] + b"UNT+3")
    code, text = run(["inspect", str(cut)])
    assert code == 1
    assert "BGM+933:::AIRCR+O?'BRIEN?+1+9" in text  # the segments read so far
    assert "truncated or broken" in text


def test_a_non_default_una_is_named_and_segments_use_it(tmp_path: Path) -> None:
    path = tmp_path / "una.edi"
    path.write_bytes(
        b"UNA:*.! ~UNB*UNOC:3*AAA676Y*AAA336C*260101:0100*7~UNH*1*CUSCAR:D:99B:UN~"
        b"FTX*AAA***A+B'C!*~UNT*3*1~UNZ*1*7~"
    )
    code, text = run(["inspect", str(path)])
    assert code == 0 and "not the default" in text and "FTX*AAA***A+B'C!*" in text


def test_summary_shows_envelope_and_findings_only(good_file: Path) -> None:
    code, text = run(["inspect", str(good_file), "--summary"])
    assert code == 0 and "BGM" not in text and "1: CUSCAR:D:99B:UN, 1 segments" in text
    code, text = run(["inspect", str(good_file), "--summary", "--json"])
    assert json.loads(text)["messages"][0] == {
        "reference": "1",
        "type": "CUSCAR",
        "identifier": "CUSCAR:D:99B:UN",
        "segment_count": 1,
    }


def test_the_exit_code_survives_a_closed_pipe(tmp_path: Path, good_file: Path) -> None:
    many = [Segment("FTX", "AAA", "", "", f"LINE {n:060d}") for n in range(20000)]
    data = build_interchange("AAA676Y", [("CUSCAR", many)], 42, prepared=WHEN)
    bad = tmp_path / "bad.edi"
    bad.write_bytes(data.replace(b"UNT+20002+1", b"UNT+5+1"))
    proc = subprocess.run(
        f'"{sys.executable}" -m icsclient inspect "{bad}" | head -1; exit "${{PIPESTATUS[0]}}"',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and proc.stdout.startswith("Interchange 42")
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr
    assert "parsing" in proc.stderr  # progress for a long input, on stderr


def test_certs_private_keys_overwrite_and_chains(tmp_path: Path) -> None:
    target = tmp_path / "pki"
    assert cli("certs", str(target)).returncode == 0
    for key in target.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert all(p.stat().st_size for p in target.iterdir())  # no empty chain files
    assert (target / "client-fullchain.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 2
    before = (target / "client.key").read_bytes()
    err = one_line_error(cli("certs", str(target)))
    assert "not overwriting" in err and "--force" in err
    assert (target / "client.key").read_bytes() == before
    assert cli("certs", str(target), "--force").returncode == 0
    assert (target / "client.key").read_bytes() != before
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert "cannot write into" in one_line_error(cli("certs", str(a_file / "pki")))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.geteuid() != 0:  # root writes anywhere
            assert "cannot write" in one_line_error(cli("certs", str(locked / "pki")))
    finally:
        locked.chmod(0o700)


def test_a_missing_optional_dependency_is_one_line() -> None:
    code = (
        "import sys; sys.modules['aiosmtpd'] = None\n"
        "from icsclient.cli import main\n"
        "sys.exit(main(['demo', '--count', '1']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "needs aiosmtpd, which is not installed: pip install aiosmtpd" in one_line_error(proc)


def test_demo_keep_keeps_what_opens_the_kept_emails(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    proc = cli("demo", "--count", "2", "--keep", str(kept), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == 1 and doc["counts"]["lodged"] == 2 and doc["settled"] is True
    assert isinstance(doc["elapsed_seconds"], float)
    pki = kept / "pki"
    email = next((kept / "processed").iterdir())  # an e-mail from the gateway
    opened = cli(
        "open",
        str(email),
        "--cert",
        str(pki / "client-fullchain.pem"),
        "--key",
        str(pki / "client.key"),
        "--trust",
        str(pki / "ca.pem"),
        "--gateway-cert",
        str(pki / "gateway.pem"),
        "-o",
        str(tmp_path / "reply.edi"),
        "--json",
    )
    assert opened.returncode == 0, opened.stderr
    assert set(json.loads(opened.stdout)["algorithms"]) == {
        "digest",
        "signature",
        "content_encryption",
        "key_transport",
    }
    existing = tmp_path / "a-file"
    existing.write_text("x")
    assert "not a folder" in one_line_error(cli("demo", "--count", "1", "--keep", str(existing)))


def test_open_refuses_bad_targets_and_edifact_and_takes_the_password_from_the_env(
    tmp_path: Path,
) -> None:
    from cryptography.hazmat.primitives import serialization

    pki = make_test_pki()
    d = tmp_path / "pki"
    files = pki.write(d)
    (d / "client-enc.key").write_bytes(
        pki.client.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw-from-env"),
        )
    )
    reply = build_interchange(
        "AAA336C", [("CUSRES", [Segment("BGM", "962")])], 9, recipient=pki.client_site
    )
    eml = tmp_path / "r.eml"
    eml.write_bytes(
        compose_email(
            reply,
            signer=pki.gateway,
            gateway=pki.client.certificate,
            mail_from="a@b.example",
            mail_to="c@d.example",
        )
    )
    base = ["open", str(eml), "--cert", str(files["client-fullchain.pem"])]
    trust = ["--trust", str(d / "ca.pem"), "--gateway-cert", str(d / "gateway.pem")]
    key = ["--key", str(d / "client.key")]
    assert "is a folder" in one_line_error(cli(*base, *key, *trust, "-o", str(tmp_path)))
    missing = tmp_path / "no" / "such" / "x.edi"
    assert "does not exist" in one_line_error(cli(*base, *key, *trust, "-o", str(missing)))
    edi = tmp_path / "i.edi"
    edi.write_bytes(reply)
    err = one_line_error(cli("open", str(edi), *base[2:], *key, *trust))
    assert f"icsclient inspect {edi}" in err
    err = one_line_error(cli(*base, *key, "--gateway-cert", str(d / "gateway.pem")))
    assert err.rstrip().endswith("its ca.pem)")  # the --trust message is whole
    enc = ["--key", str(d / "client-enc.key")]
    assert "a password is needed" in one_line_error(cli(*base, *enc, *trust, "-o", "-"))
    proc = cli(*base, *enc, *trust, "-o", "-", env={"ICSCLIENT_KEY_PASSWORD": "pw-from-env"})
    assert proc.returncode == 0 and proc.stdout == reply.decode("latin-1")


def test_explain_says_no_outcome_code_and_names_the_interchange() -> None:
    code, text = run(["explain", str(FIXTURES / "carst_status.edi")])
    assert code == 0
    assert text.startswith("Interchange 00000000000050 from AAA336C to AAA676Y: 1 message\n")
    assert "no outcome code" in text and "unknown" not in text and "HELD" in text
    code, text = run(["explain", str(FIXTURES / "carst_status.edi"), "--json"])
    (report,) = json.loads(text)["messages"]
    assert report["outcome"] is None and report["status"] == "HELD"
    code, text = run(["explain", str(FIXTURES / "contrl_segment_errors.edi"), "--json"])
    (contrl,) = json.loads(text)["messages"]
    assert contrl["accepted"] is False and contrl["errors"]
    assert {"level", "code", "meaning", "segment_number", "element"} <= set(contrl["errors"][0])


def test_cert_check_flags_a_missing_chain_and_expiry(tmp_path: Path) -> None:
    from icsclient.testing.pki import make_test_pki

    files = make_test_pki().write(tmp_path)
    code, text = run(["cert-check", str(files["client-fullchain.pem"])])
    assert code == 0 and "ok" in text and "chain: CN=icsclient Test Device CA" in text
    code, text = run(["cert-check", str(files["client.pem"])])
    assert code == 1 and "no chain" in text and "icsclient Test Device CA" in text
    code, text = run(["cert-check", "--json", str(files["expired-client-fullchain.pem"])])
    doc = json.loads(text)
    assert code == 1 and doc["days_left"] < 0 and "expired" in doc["problems"][0]
    code, text = run(["cert-check", "--warn-days", "10000", str(files["client-fullchain.pem"])])
    assert code == 1 and "expires in" in text
    assert run(["cert-check", str(tmp_path / "missing.pem")])[0] == 2
