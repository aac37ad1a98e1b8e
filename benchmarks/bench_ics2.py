"""ICS2 filing benchmark: an IE3F26 with 1,000 house consignments, and one of about 10 MB.

Times, best of ``--repeat``: *build* (check + write + serialise: ``build_filing``) and *parse*
(``parse_filing``: hardened parse into the model), beside the floor set by lxml alone on the
same document (``etree.fromstring`` and ``etree.tostring`` of an already built tree) and the
stdlib's ``xml.etree.ElementTree.fromstring``. Reports filings/s and MB/s; the target is a
10 MB filing checked and written in at most 1 s on this machine.

    python benchmarks/bench_ics2.py               # 1,000 houses and ~10 MB, best of 3
    python benchmarks/bench_ics2.py --repeat 1
"""

from __future__ import annotations

import argparse
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable

from lxml import etree

from icsclient.ics2 import build_filing, parse_filing
from icsclient.ics2.filings import filing_element
from icsclient.ics2.sample import sample_filing

MB = 1_000_000


def best(label: str, work: Callable[[], object], repeat: int) -> float:
    times = []
    for i in range(repeat):
        print(f"\r  {label:<44} run {i + 1}/{repeat}", end="", file=sys.stderr, flush=True)
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)
    return min(times)


def measure(houses: int, repeat: int) -> None:
    print(f"building the sample: {houses:,} house consignments ...", file=sys.stderr)
    filing = sample_filing(houses, goods=2)
    xml = build_filing(filing)
    size = len(xml) / MB
    tree = filing_element(filing)
    rows = [
        ("icsclient build_filing (check+write+serialise)", lambda: build_filing(filing)),
        ("icsclient build_filing(force=True) (no check)", lambda: build_filing(filing, force=True)),
        ("lxml etree.tostring (serialise only)", lambda: etree.tostring(tree)),
        ("icsclient parse_filing (hardened, to model)", lambda: parse_filing(xml)),
        ("lxml etree.fromstring (parse only)", lambda: etree.fromstring(xml)),
        ("stdlib ElementTree.fromstring (parse only)", lambda: ElementTree.fromstring(xml)),
    ]
    print(f"\nIE3F26, {houses:,} house consignments, {size:.2f} MB, best of {repeat}")
    print(f"  {'operation':<48}{'seconds':>9}{'filings/s':>11}{'MB/s':>8}")
    for label, work in rows:
        seconds = best(label, work, repeat)
        print(f"  {label:<48}{seconds:>9.3f}{1 / seconds:>11.2f}{size / seconds:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--houses", type=int, nargs="*", default=[1000, 3300])
    args = parser.parse_args()
    for houses in args.houses:
        measure(houses, args.repeat)


if __name__ == "__main__":
    main()
