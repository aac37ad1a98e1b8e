"""``icsclient ics2``: check an ENS filing and explain a customs reply from the command line.

``icsclient ics2 check FILE.xml`` reads an air filing (IE3F23/F24/F26/F27 or an amendment)
and prints every finding of :func:`icsclient.ics2.check_filing`; ``icsclient ics2 explain
REPLY.xml [--filing SENT.xml]`` reads a customs reply and lays its validation errors over the
filing sent. Exit codes: 0 nothing found, 1 findings or reply errors, 2 a user error (one line on
stderr). ``--json`` prints one JSON document whose ``schema`` names its stable layout:

* ``icsclient.ics2.check/1``: ``file``, ``message_id``, ``lrn``, ``mrn``, ``houses``, ``ok``
  (no errors), ``findings`` (``severity``, ``rule``, ``pointer``, ``message``);
* ``icsclient.ics2.explain/1``: ``file``, ``message_id``, ``meaning``, ``reference``
  (``key``, ``value``) or null, ``lrn``, ``mrn``, ``date``, ``errors`` (``code``, ``meaning``,
  ``description``, ``technical``, ``pointer``, ``located``, ``value``, ``line``).

Fields may be added to a schema version; none is removed or renamed without a new version.
"""

from __future__ import annotations

import argparse
import json
from types import ModuleType
from typing import Any, TextIO

from ._cliutil import EXIT_FINDINGS, EXIT_OK
from ._cliutil import read_input as _read_input
from ._optional import missing

CHECK_SCHEMA = "icsclient.ics2.check/1"
EXPLAIN_SCHEMA = "icsclient.ics2.explain/1"


def _ics2() -> ModuleType:
    try:
        from . import ics2
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".", 1)[0] == "lxml":
            raise missing("lxml", "ICS2") from None
        raise
    return ics2


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """``icsclient ics2 check FILE.xml``."""
    ics2 = _ics2()
    filing = ics2.parse_filing(_read_input(args.file))
    findings = ics2.check_filing(filing)
    houses = len(filing.master.houses) if filing.master else 0
    if args.json:
        doc: dict[str, Any] = {
            "schema": CHECK_SCHEMA,
            "file": args.file,
            "message_id": filing.message_id,
            "lrn": filing.lrn,
            "mrn": filing.mrn,
            "houses": houses,
            "ok": not any(f.is_error for f in findings),
            "findings": [f.as_dict() for f in findings],
        }
        json.dump(doc, out, indent=2)
        print(file=out)
    else:
        print(f"{filing.message_id} LRN {filing.lrn}: {houses} house consignment(s)", file=out)
        for finding in findings:
            print(f"  {finding}", file=out)
        errors = sum(f.is_error for f in findings)
        print(f"{errors} error(s), {len(findings) - errors} warning(s)", file=out)
    return EXIT_FINDINGS if findings else EXIT_OK


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    """``icsclient ics2 explain REPLY.xml [--filing SENT.xml]``."""
    ics2 = _ics2()
    reply = ics2.parse_reply(_read_input(args.file))
    sent = _read_input(args.filing) if args.filing else None
    explanation = ics2.explain(reply, sent)
    if args.json:
        json.dump({"schema": EXPLAIN_SCHEMA, "file": args.file, **explanation.as_dict()}, out,
                  indent=2)  # fmt: skip
        print(file=out)
    else:
        print(explanation, file=out)
    return EXIT_FINDINGS if reply.errors else EXIT_OK


def add_parser(sub: Any) -> None:
    """Register ``ics2`` and its commands on the top-level sub-parsers."""
    ics2 = sub.add_parser("ics2", help="EU ICS2: check an ENS filing, explain a customs reply")
    commands = ics2.add_subparsers(dest="ics2_command", metavar="COMMAND", required=True)
    p = commands.add_parser("check", help="check an air ENS filing (IE3F23/F24/F26/F27, IE3Axx)")
    p.add_argument("file", help="the filing XML, or - for stdin")
    p.add_argument("--json", action="store_true", help=f"machine-readable ({CHECK_SCHEMA})")
    p.set_defaults(func=cmd_check)
    p = commands.add_parser("explain", help="explain a customs reply (IE3R01, IE3N99 ...)")
    p.add_argument("file", help="the reply XML, or - for stdin")
    p.add_argument("--filing", metavar="SENT.xml", help="the filing sent, to locate errors in")
    p.add_argument("--json", action="store_true", help=f"machine-readable ({EXPLAIN_SCHEMA})")
    p.set_defaults(func=cmd_explain)
