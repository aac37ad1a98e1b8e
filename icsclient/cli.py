"""The ``icsclient`` command line (also ``python -m icsclient``).

Commands: ``inspect``, ``explain``, ``open``, ``certs``, ``cert-check``, ``demo`` and
``ics2``.  User errors go to stderr as one clear line with exit code 2, never a traceback;
findings give exit code 1.  The ``--json`` output of each command is a documented, stable schema
(``docs/cli.md``, ``"schema": 1``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from . import __version__
from ._cliutil import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, UsageError
from ._cliutil import read_input as _read_input
from .edifact.envelope import Finding, Interchange, parse_interchange
from .edifact.segment import DEFAULT_CHARS
from .edifact.serializer import segment_texts
from .errors import EdifactSyntaxError, IcsError

SCHEMA = 1
"""The version of every command's ``--json`` schema (``docs/cli.md``)."""
PROGRESS_BYTES = 1_000_000
"""Inputs from this size on show what is happening on stderr."""
PASSWORD_ENV = "ICSCLIENT_KEY_PASSWORD"


def _finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "meaning": f.meaning,
        "level": f.level,
        "segment_tag": f.segment_tag,
        "segment_number": f.segment_number,
        "element": f.element,
        "component": f.component,
        "message_reference": f.message_reference,
        "message_position": f.message_position,
        "detail": f.detail,
    }


def interchange_dict(ic: Interchange, *, segments: bool = True) -> dict[str, Any]:
    """A JSON-ready description of an interchange (envelope, messages, findings).

    Each segment is its EDIFACT text, re-escaped with the interchange's own service
    characters, without the terminator (``"BGM+933:::AIRCR+X1+9"``).
    """
    chars = ic.service_chars
    return {
        "schema": SCHEMA,
        "syntax": f"{ic.syntax_id}:{ic.syntax_version}",
        "service_characters": chars.una[3:] if chars != DEFAULT_CHARS else None,
        "sender": ic.sender,
        "owner": ic.owner,
        "recipient": ic.recipient,
        "prepared": ic.prepared.isoformat() if ic.prepared else None,
        "control_reference": ic.control_reference,
        "ack_requested": ic.ack_requested,
        "test": ic.test,
        "message_count": len(ic.messages),
        "messages": [
            {
                "reference": m.reference,
                "type": m.type,
                "identifier": f"{m.type}:{m.version}:{m.release}:{m.agency}",
                **(
                    {"segments": segment_texts(m.segments, chars)}
                    if segments
                    else {"segment_count": len(m.segments)}
                ),
            }
            for m in ic.messages
        ],
        "findings": [_finding_dict(f) for f in ic.issues],
    }


def _print_interchange(ic: Interchange, out: TextIO, *, summary: bool) -> None:
    print(
        f"Interchange {ic.control_reference or '?'}  ({ic.syntax_id}:{ic.syntax_version})", file=out
    )
    if ic.service_chars != DEFAULT_CHARS:
        print(f"  UNA        {ic.service_chars.una[3:]!r} (not the default :+.? ')", file=out)
    print(f"  from       {ic.sender}" + (f" (owner {ic.owner})" if ic.owner else ""), file=out)
    print(f"  to         {ic.recipient}", file=out)
    print(
        f"  prepared   {ic.prepared:%Y-%m-%d %H:%M}" if ic.prepared else "  prepared   ?", file=out
    )
    print(f"  ack asked  {'yes' if ic.ack_requested else 'no'}", file=out)
    print(f"  test       {'yes' if ic.test else 'no (production)'}", file=out)
    print(f"  messages   {len(ic.messages)}", file=out)
    for m in ic.messages:
        ident = f"{m.type}:{m.version}:{m.release}:{m.agency}"
        if summary:
            print(f"    {m.reference}: {ident}, {len(m.segments)} segments", file=out)
            continue
        print(f"\nMessage {m.reference}: {ident}", file=out)
        texts = segment_texts(m.segments, ic.service_chars)
        out.write("".join(f"  {n:>4}  {s}\n" for n, s in enumerate(texts, start=2)))
    if ic.issues:
        print(f"\n{len(ic.issues)} envelope finding(s):", file=out)
        for f in ic.issues:
            print(f"  [{f.code}] {f}", file=out)
    else:
        print("\nNo envelope findings.", file=out)


def _looks_like_email(data: bytes) -> bool:
    head = data[:4096].lower()
    return b"\nmime-version:" in b"\n" + head or b"content-type:" in head


def _check_edifact(data: bytes, name: str) -> None:
    """Refuse, in one line, what is not EDIFACT at all (empty, text, binary, an e-mail)."""
    if not data:
        raise UsageError(f"{name}: empty file")
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith((b"UNA", b"UNB")):
        return
    if not start:
        raise UsageError(f"{name}: only white space, no interchange")
    if _looks_like_email(data):
        raise UsageError(
            f"{name} is an e-mail, not an interchange: open it first with "
            "`icsclient open EMAIL --cert ... --key ... --trust ...`"
        )
    kind = "binary data" if b"\0" in start[:512] else "text"
    raise UsageError(f"{name} is {kind} that does not start with UNA or UNB: not EDIFACT")


def _parse_for_inspection(data: bytes, name: str) -> tuple[Interchange, Finding | None]:
    """Parse leniently; a truncated or broken interchange gives what was read before the
    fault and the fault as a finding (code 13: missing)."""
    try:
        return parse_interchange(data, strict=False), None
    except EdifactSyntaxError as exc:
        ic = parse_interchange(data[: _segment_start(data, exc.offset)], strict=False)
        fault = Finding(
            code=13,
            segment_tag="?",
            segment_number=exc.segment_number,
            detail=f"cannot read on: {exc.reason} (byte offset {exc.offset}); "
            "the interchange is truncated or broken there",
        )
        return ic, fault


def _segment_start(data: bytes, offset: int) -> int:
    """The end of the last whole segment before ``offset`` (just after its terminator)."""
    cut = data.rfind(b"'", 0, max(offset, 0))
    while cut > 0 and data[cut - 1 : cut] == b"?":
        cut = data.rfind(b"'", 0, cut - 1)
    return cut + 1 if cut >= 0 else 0


def _progress(name: str, size: int, what: str) -> float:
    if size >= PROGRESS_BYTES:
        print(f"icsclient: {what} {name} ({size / 1e6:.1f} MB) ...", file=sys.stderr, flush=True)
    return time.perf_counter()


def _progress_done(size: int, started: float, what: str) -> None:
    if size >= PROGRESS_BYTES:
        took = time.perf_counter() - started
        print(f"icsclient: {what} in {took:.1f} s", file=sys.stderr, flush=True)


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    """Parse an interchange, show it and its envelope findings."""
    data = _read_input(args.file)
    name = "stdin" if args.file == "-" else args.file
    _check_edifact(data, name)
    started = _progress(name, len(data), "parsing")
    ic, fault = _parse_for_inspection(data, name)
    _progress_done(
        len(data), started, f"parsed {sum(len(m.segments) for m in ic.messages)} segments"
    )
    if fault is not None:
        ic = attrs.evolve(ic, issues=(*ic.issues, fault))
    args.exit_code = EXIT_FINDINGS if ic.issues else EXIT_OK
    if args.json:
        _dump(interchange_dict(ic, segments=not args.summary), out)
    else:
        _print_interchange(ic, out, summary=args.summary)
    return int(args.exit_code)


def _dump(doc: object, out: TextIO) -> None:
    """JSON on one line per document when large, indented when small."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if len(text) < 100_000:
        text = json.dumps(doc, indent=2, ensure_ascii=False)
    out.write(text + "\n")


def _contrl_dict(m: Any, contrl: Any) -> dict[str, Any]:
    return {
        "message": m.reference,
        "type": "CONTRL",
        "subject_icr": contrl.control_reference,
        "subject_sender": contrl.sender,
        "subject_recipient": contrl.recipient,
        "action": int(contrl.action),
        "action_meaning": contrl.action.meaning,
        "accepted": contrl.accepted,
        "errors": [_finding_dict(f) for f in contrl.findings()],
        "explanation": contrl.explain(),
    }


def _cusres_dict(m: Any, res: Any, icr: str) -> dict[str, Any]:
    return {
        "message": m.reference,
        "type": "CUSRES",
        "icr": icr,
        "document": res.document_name,
        "function": res.function,
        "original_document": res.original_document,
        "sender_reference": res.sender_reference,
        "sender_version": res.sender_version,
        "outcome": res.outcome.name if res.outcome_code else None,
        "outcome_code": res.outcome_code,
        "status": res.status,
        "status_text": res.status_text,
        "references": {k: list(v) for k, v in res.references.items()},
        "errors": [
            {"class": e.error_class, "code": e.code, "text": e.text, "location": list(e.location)}
            for e in res.errors
        ],
        "explanation": _cusres_explanation(res),
    }


def _cusres_explanation(res: Any) -> str:
    """``explain()``, saying "no outcome code" (and the status) where there is none."""
    text: str = res.explain()
    if res.outcome_code:
        return text
    head, _, rest = text.partition("\n")
    status = f" (status {res.status})" if res.status and "; status" not in head else ""
    head = head.replace(f": {res.outcome.value}", f": no outcome code{status}", 1)
    return head + ("\n" + rest if rest else "")


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    """Explain the CONTRL or CUSRES messages of an interchange in plain English."""
    from .ics.contrl import parse_contrl
    from .ics.cusres import parse_cusres

    data = _read_input(args.file)
    name = "stdin" if args.file == "-" else args.file
    _check_edifact(data, name)
    ic = parse_interchange(data, strict=False)
    if not ic.messages:
        raise UsageError(f"{name} holds no message to explain")
    reports: list[dict[str, Any]] = []
    lines: list[str] = []
    for m in ic.messages:
        if m.type == "CONTRL":
            contrl = parse_contrl(m)
            lines.append(contrl.explain())
            reports.append(_contrl_dict(m, contrl))
        elif m.type == "CUSRES":
            res = parse_cusres(m)
            lines.append(_cusres_explanation(res))
            reports.append(_cusres_dict(m, res, ic.control_reference))
        else:
            raise UsageError(
                f"message {m.reference} is a {m.type}; explain reads CONTRL and CUSRES only "
                "(`icsclient inspect` shows any interchange)"
            )
    count = len(ic.messages)
    head = (
        f"Interchange {ic.control_reference} from {ic.sender} to {ic.recipient}: "
        f"{count} message{'s' if count != 1 else ''}"
    )
    if args.json:
        _dump(
            {
                "schema": SCHEMA,
                "interchange": {
                    "control_reference": ic.control_reference,
                    "sender": ic.sender,
                    "recipient": ic.recipient,
                    "test": ic.test,
                    "message_count": count,
                },
                "messages": reports,
            },
            out,
        )
    else:
        print(head + "\n\n" + "\n\n".join(lines), file=out)
    return EXIT_OK


def _password(args: argparse.Namespace) -> str | None:
    """The key's password: --password, else $ICSCLIENT_KEY_PASSWORD, else a prompt if asked."""
    if args.password is not None:
        return str(args.password)
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if args.ask_password:
        return getpass.getpass("password of the private key: ")
    return None


def _write_output(target: Path, data: bytes) -> None:
    if target.is_dir():
        raise UsageError(f"-o {target} is a folder: give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"-o {target}: the folder {target.parent} does not exist")
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror}") from None


def cmd_open(args: argparse.Namespace, out: TextIO) -> int:
    """Decrypt and verify an e-mail from the CCF; write the interchange."""
    from .mail import open_email
    from .smime import Credentials, Trust

    raw = _read_input(args.email)
    if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"UNA", b"UNB")):
        raise UsageError(
            f"{args.email} is an EDIFACT interchange, not an e-mail: "
            f"`icsclient inspect {args.email}` shows it"
        )
    if not args.trust:
        raise UsageError(
            "--trust is required: the CA certificate(s) that issued the gateway's certificate "
            "(repeat --trust for each; for a test PKI from `icsclient certs`, its ca.pem)"
        )
    creds = Credentials.from_pem(Path(args.cert), Path(args.key), password=_password(args))
    trust = Trust(
        [Path(p) for p in args.trust],
        [Path(p) for p in args.gateway_cert],
        gateway_site=args.gateway_site,
    )
    received = open_email(raw, recipient=creds, trust=trust)
    signer = received.signer
    data = received.interchange
    if data is None:  # a plain-text response: no interchange to write
        written = None
        print(received.text or "", file=out)
    elif args.output == "-":
        written = "stdout"
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        target_file = Path(args.output or received.filename or "interchange.edi")
        _write_output(target_file, data)
        written = str(target_file)
    alg = received.algorithms
    info = {
        "schema": SCHEMA,
        "file": written,
        "subject": received.subject.text,
        "plain_text": received.plain_text,
        "sender": received.sender,
        "control_reference": received.control_reference,
        "signer": signer.subject.rfc4514_string() if signer is not None else None,
        "signing_time": received.signing_time.isoformat() if received.signing_time else None,
        "algorithms": {
            "digest": alg.digest,
            "signature": alg.signature,
            "content_encryption": alg.content_encryption,
            "key_transport": alg.key_transport,
        },
        "bytes": len(data) if data is not None else 0,
    }
    target = sys.stderr if args.output == "-" else out
    if args.json:
        _dump(info, target)
    else:
        if written is not None:
            print(f"wrote {info['bytes']} bytes to {written}", file=target)
        print(f"signed by {info['signer']} at {info['signing_time']}", file=target)
        print(f"algorithms: {alg}", file=target)
    return EXIT_OK


def cmd_certs(args: argparse.Namespace, out: TextIO) -> int:
    """Write a throw-away test PKI into a directory."""
    from .testing.pki import make_test_pki

    target = Path(args.directory)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    try:
        files = make_test_pki().write(target, overwrite=args.force)
    except FileExistsError as exc:
        raise UsageError(f"{exc} (--force replaces them)") from None
    except OSError as exc:
        raise UsageError(f"cannot write into {target}: {exc.strerror}") from None
    if args.json:
        _dump(
            {
                "schema": SCHEMA,
                "directory": str(target),
                "files": {k: str(v) for k, v in files.items()},
            },
            out,
        )
    else:
        print(f"wrote a throw-away test PKI (NOT for production) to {target}:", file=out)
        for name, path in sorted(files.items()):
            print(f"  {name:<28} {path}", file=out)
        print("private keys (*.key) are readable by you only (mode 0600)", file=out)
    return EXIT_OK


def cmd_cert_check(args: argparse.Namespace, out: TextIO) -> int:
    """Check a certificate file (leaf first, then its chain) before configuring it."""
    from .smime import Validity, load_certificates

    certs = load_certificates(_read_input(args.file), f"certificate file {args.file}")
    leaf, chain = certs[0], certs[1:]
    problems: list[str] = []
    for role, cert in [("certificate", leaf), *(("chain", c) for c in chain)]:
        v = Validity.of(cert)
        if v.expired or v.not_yet_valid:
            state = "expired" if v.expired else "not yet valid"
            problems.append(f"the {role} {v.subject} is {state} ({v.dates()})")
        elif v.days_left < args.warn_days:
            problems.append(f"the {role} {v.subject} expires in {v.days_left} day(s)")
    if leaf.issuer != leaf.subject and not chain:
        problems.append(
            "no chain: the file holds only the certificate, issued by "
            f"{leaf.issuer.rfc4514_string()}; give the full-chain file (the certificate, "
            "then its issuing CA), or pass chain= to Credentials.from_pem, or the gateway "
            "cannot build your chain"
        )
    v = Validity.of(leaf)
    if args.json:
        _dump(
            {
                "schema": SCHEMA,
                "subject": v.subject,
                "issuer": leaf.issuer.rfc4514_string(),
                "not_before": v.not_before.isoformat(),
                "not_after": v.not_after.isoformat(),
                "days_left": v.days_left,
                "chain": [Validity.of(c).subject for c in chain],
                "problems": problems,
            },
            out,
        )
    else:
        print(f"{v.subject}: {v.dates()}, {v.days_left} day(s) left", file=out)
        for c in chain:
            print(f"  chain: {Validity.of(c).subject}", file=out)
        for problem in problems:
            print(f"  ! {problem}", file=out)
        if not problems:
            print("  ok", file=out)
    return EXIT_FINDINGS if problems else EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Run the end-to-end demo against the simulated CCF on loopback SMTP."""
    from .demo import demo_dict, print_summary, run_demo

    if args.count < 1:
        raise UsageError(f"--count must be at least 1, got {args.count}")
    if args.keep and Path(args.keep).exists() and not Path(args.keep).is_dir():
        raise UsageError(f"--keep {args.keep} exists and is not a folder")
    try:
        result = run_demo(args.count, keep=args.keep)
    except OSError as exc:
        raise UsageError(f"the demo cannot use its folder: {exc}") from None
    if args.json:
        _dump({"schema": SCHEMA, **demo_dict(result), "folder": args.keep}, out)
    else:
        print_summary(result, out)
        if args.keep:
            print(
                f"ledger, e-mails (processed/) and PKI (pki/) kept in {args.keep}: "
                "`icsclient open` reads a kept e-mail with the pki/ files",
                file=out,
            )
    return EXIT_OK if result.settled else EXIT_FINDINGS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``icsclient`` command."""
    parser = argparse.ArgumentParser(
        prog="icsclient",
        description="Build, inspect and exchange EDIFACT with the Australian ICS (CCF).",
    )
    parser.add_argument("--version", action="version", version=f"icsclient {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("inspect", help="show an interchange and its envelope findings")
    p.add_argument("file", help="interchange file, or - for stdin")
    p.add_argument("--summary", action="store_true", help="envelope and findings only")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("explain", help="explain a CONTRL or CUSRES interchange")
    p.add_argument("file", help="interchange file, or - for stdin")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("open", help="decrypt and verify an e-mail from the CCF")
    p.add_argument("email", help="raw e-mail (.eml), or - for stdin")
    p.add_argument("--cert", required=True, help="your certificate (PEM)")
    p.add_argument("--key", required=True, help="your private key (PEM)")
    p.add_argument(
        "--password",
        help=f"password of the private key (visible to other users: prefer ${PASSWORD_ENV} "
        "or --ask-password)",
    )
    p.add_argument("--ask-password", action="store_true", help="prompt for the key's password")
    p.add_argument("--trust", action="append", help="trusted CA certificate (repeatable)")
    p.add_argument(
        "--gateway-cert",
        action="append",
        required=True,
        help="pinned gateway certificate (repeatable, e.g. old and new during a rollover)",
    )
    p.add_argument("--gateway-site", default="AAA336C", help="the gateway's site ID")
    p.add_argument("-o", "--output", help="where to write the interchange (- for stdout)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_open)

    p = sub.add_parser("certs", help="write a throw-away test PKI into DIR")
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace files already there")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_certs)

    p = sub.add_parser(
        "cert-check", help="check a certificate file: dates, days left, and that it has a chain"
    )
    p.add_argument("file", help="PEM file: the certificate, then its chain (or - for stdin)")
    p.add_argument(
        "--warn-days", type=int, default=30, help="flag expiry this close (default 30 days)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_cert_check)

    p = sub.add_parser(
        "demo", help="lodge sample reports with a simulated CCF on loopback SMTP, end to end"
    )
    p.add_argument("--count", type=int, default=20, help="sample reports to lodge (20)")
    p.add_argument("--keep", metavar="DIR", help="keep the ledger, inbox and PKI in DIR")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    p.set_defaults(func=cmd_demo)

    from .cli_ics2 import add_parser as add_ics2_parser  # its own module; it imports this one

    add_ics2_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.exit_code = EXIT_OK
    func: Callable[[argparse.Namespace, TextIO], int] = args.func
    try:
        return func(args, out or sys.stdout)
    except UsageError as exc:
        print(f"icsclient {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except IcsError as exc:
        print(f"icsclient {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into head & co.: the exit code still holds
        _silence_stdout()
        return int(args.exit_code)
    except ImportError as exc:  # an optional dependency missing below a command
        from ._optional import install_hint

        module = (exc.name or "a module").split(".", 1)[0]
        print(
            f"icsclient {args.command}: needs {module}, which is not installed: "
            f"{install_hint(module)}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"icsclient {args.command}:{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"icsclient {args.command}: interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """After a closed pipe: nothing more reaches stdout (no second error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
