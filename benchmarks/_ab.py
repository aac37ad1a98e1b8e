"""A/B runs: a benchmark measured on this tree and on another copy of icsclient, in one run.

``--against DIR`` runs the same benchmark script first in a child process with
``PYTHONPATH=DIR`` (a copy of another tree's ``icsclient`` package, e.g. ``git archive main
icsclient | tar -x -C /tmp/main``), showing its progress, then here, and prints the figures
side by side.  The host's speed drifts (2 shared cores), so only differences well beyond the
run-to-run spread mean anything: run twice before believing one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="also measure the icsclient package under DIR and print both side by side",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)


def baseline(against: str) -> dict[str, float]:
    """Run this script on the tree under ``against``; return its figures by label."""
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if arg == "--against":
            skip = True
            continue
        if not arg.startswith("--against="):
            argv.append(arg)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(against))
    print(f"=== B: icsclient from {against}", flush=True)
    with subprocess.Popen(
        [sys.executable, sys.argv[0], *argv, "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.abspath(sys.argv[0])) or None,
    ) as child:
        assert child.stdout is not None
        last = ""
        for line in child.stdout:
            if line.startswith("{"):
                last = line
            else:
                print(f"  B| {line}", end="", flush=True)
    if child.returncode:
        raise SystemExit(f"the run against {against} failed ({child.returncode})")
    print("=== A: this tree", flush=True)
    figures: dict[str, float] = json.loads(last)
    return figures


def report(mine: dict[str, float], theirs: dict[str, float] | None, unit: str) -> None:
    """Print ``mine`` (as JSON for a parent run, with ``--json``) or both side by side."""
    if "--json" in sys.argv:
        print(json.dumps(mine), flush=True)
        return
    if theirs is None:
        return
    print(f"\nA/B ({unit}; A this tree, B --against)")
    print(f"  {'':<62} {'A':>10} {'B':>10} {'A/B':>7}")
    for label, value in mine.items():
        other = theirs.get(label)
        ratio = f"{value / other:7.2f}" if other else "      -"
        shown = f"{other:10,.1f}" if other is not None else "         -"
        print(f"  {label:<62} {value:10,.1f} {shown} {ratio}")
