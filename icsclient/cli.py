"""The ``icsclient`` command line (also ``python -m icsclient``).

Commands: ``inspect``, ``explain``, ``open``, ``certs``, ``demo`` and ``ics2``.  User errors go to
stderr as one clear line with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .edifact.envelope import Finding, Interchange, parse_interchange
from .errors import IcsError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class UsageError(Exception):
    """A problem with what the user asked for (a missing file, a bad option)."""


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no such file: {name}") from None
    except IsADirectoryError:
        raise UsageError(f"{name} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


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


def interchange_dict(ic: Interchange) -> dict[str, Any]:
    """A JSON-ready description of an interchange (envelope, messages, findings)."""
    return {
        "syntax": f"{ic.syntax_id}:{ic.syntax_version}",
        "sender": ic.sender,
        "owner": ic.owner,
        "recipient": ic.recipient,
        "prepared": ic.prepared.isoformat() if ic.prepared else None,
        "control_reference": ic.control_reference,
        "ack_requested": ic.ack_requested,
        "test": ic.test,
        "messages": [
            {
                "reference": m.reference,
                "type": m.type,
                "identifier": f"{m.type}:{m.version}:{m.release}:{m.agency}",
                "segments": [
                    {"tag": s.tag, "elements": [list(e) for e in s.elements]} for s in m.segments
                ],
            }
            for m in ic.messages
        ],
        "findings": [_finding_dict(f) for f in ic.issues],
    }


def _format_segment(tag: str, elements: Sequence[Sequence[str]]) -> str:
    return "+".join([tag, *(":".join(e) for e in elements)])


def _print_interchange(ic: Interchange, out: TextIO) -> None:
    print(
        f"Interchange {ic.control_reference or '?'}  ({ic.syntax_id}:{ic.syntax_version})", file=out
    )
    print(f"  from       {ic.sender}" + (f" (owner {ic.owner})" if ic.owner else ""), file=out)
    print(f"  to         {ic.recipient}", file=out)
    print(
        f"  prepared   {ic.prepared:%Y-%m-%d %H:%M}" if ic.prepared else "  prepared   ?", file=out
    )
    print(f"  ack asked  {'yes' if ic.ack_requested else 'no'}", file=out)
    print(f"  test       {'yes' if ic.test else 'no (production)'}", file=out)
    for m in ic.messages:
        print(f"\nMessage {m.reference}: {m.type}:{m.version}:{m.release}:{m.agency}", file=out)
        for n, seg in enumerate(m.segments, start=2):
            print(f"  {n:>4}  {_format_segment(seg.tag, seg.elements)}", file=out)
    if ic.issues:
        print(f"\n{len(ic.issues)} envelope finding(s):", file=out)
        for f in ic.issues:
            print(f"  [{f.code}] {f}", file=out)
    else:
        print("\nNo envelope findings.", file=out)


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    """Parse an interchange, show it and its envelope findings."""
    ic = parse_interchange(_read_input(args.file), strict=False)
    if args.json:
        json.dump(interchange_dict(ic), out, indent=2)
        print(file=out)
    else:
        _print_interchange(ic, out)
    return EXIT_FINDINGS if ic.issues else EXIT_OK


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    """Explain a CONTRL or CUSRES interchange in plain English."""
    from .ics.contrl import parse_contrl
    from .ics.cusres import parse_cusres

    ic = parse_interchange(_read_input(args.file), strict=False)
    if not ic.messages:
        raise UsageError(f"{args.file} holds no message to explain")
    reports: list[dict[str, Any]] = []
    lines: list[str] = []
    for m in ic.messages:
        if m.type == "CONTRL":
            contrl = parse_contrl(m)
            lines.append(contrl.explain())
            reports.append(
                {
                    "message": m.reference,
                    "type": "CONTRL",
                    "subject_icr": contrl.control_reference,
                    "accepted": contrl.accepted,
                    "explanation": contrl.explain(),
                }
            )
        elif m.type == "CUSRES":
            res = parse_cusres(m)
            lines.append(res.explain())
            reports.append(
                {
                    "message": m.reference,
                    "type": "CUSRES",
                    "document": res.document_name,
                    "sender_reference": res.sender_reference,
                    "outcome": res.outcome.name,
                    "errors": [
                        {"class": e.error_class, "code": e.code, "text": e.text} for e in res.errors
                    ],
                    "explanation": res.explain(),
                }
            )
        else:
            raise UsageError(
                f"message {m.reference} is a {m.type}; explain reads CONTRL and CUSRES only"
            )
    if args.json:
        json.dump(reports, out, indent=2)
        print(file=out)
    else:
        print("\n\n".join(lines), file=out)
    return EXIT_OK


def cmd_open(args: argparse.Namespace, out: TextIO) -> int:
    """Decrypt and verify an e-mail from the CCF; write the interchange."""
    from .mail import open_email
    from .smime import Credentials, Trust

    raw = _read_input(args.email)
    creds = Credentials.from_pem(Path(args.cert), Path(args.key), password=args.password)
    if not args.trust:
        raise UsageError("--trust is required: the CA certificate(s) that issued the gateway's")
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
        target_file.write_bytes(data)
        written = str(target_file)
    info = {
        "file": written,
        "subject": received.subject.text,
        "plain_text": received.plain_text,
        "sender": received.sender,
        "control_reference": received.control_reference,
        "signer": signer.subject.rfc4514_string() if signer is not None else None,
        "signing_time": received.signing_time.isoformat() if received.signing_time else None,
        "algorithms": str(received.algorithms),
        "bytes": len(data) if data is not None else 0,
    }
    target = sys.stderr if args.output == "-" else out
    if args.json:
        json.dump(info, target, indent=2)
        print(file=target)
    else:
        if written is not None:
            print(f"wrote {info['bytes']} bytes to {written}", file=target)
        print(f"signed by {info['signer']} at {info['signing_time']}", file=target)
        print(f"algorithms: {info['algorithms']}", file=target)
    return EXIT_OK


def cmd_certs(args: argparse.Namespace, out: TextIO) -> int:
    """Write a throw-away test PKI into a directory."""
    from .testing.pki import make_test_pki

    target = Path(args.directory)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    files = make_test_pki().write(target)
    if args.json:
        json.dump({k: str(v) for k, v in files.items()}, out, indent=2)
        print(file=out)
    else:
        print(f"wrote a throw-away test PKI (NOT for production) to {target}:", file=out)
        for name, path in sorted(files.items()):
            print(f"  {name:<24} {path}", file=out)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Run the end-to-end demo against the simulated CCF on loopback SMTP."""
    from .demo import print_summary, run_demo

    if args.count < 1:
        raise UsageError(f"--count must be at least 1, got {args.count}")
    result = run_demo(args.count, keep=args.keep)
    if args.json:
        json.dump(
            {"rows": dict(result.rows), "settled": result.settled, "folder": args.keep},
            out,
            indent=2,
        )
        print(file=out)
    else:
        print_summary(result, out)
        if args.keep:
            print(f"ledger, inbox and certificates kept in {args.keep}", file=out)
    return EXIT_OK if result.settled else EXIT_FINDINGS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``icsclient`` command."""
    parser = argparse.ArgumentParser(
        prog="icsclient",
        description="Build, inspect and exchange EDIFACT with the Australian ICS (CCF).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("inspect", help="show an interchange and its envelope findings")
    p.add_argument("file", help="interchange file, or - for stdin")
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
    p.add_argument("--password", help="password of the private key")
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
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_certs)

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
    func: Callable[[argparse.Namespace, TextIO], int] = args.func
    try:
        return func(args, out or sys.stdout)
    except UsageError as exc:
        print(f"icsclient {args.command}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except IcsError as exc:
        print(f"icsclient {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"icsclient {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
