"""Adversarial-input benchmark: time against input size for the shapes of issue 16.

For each shape (a hostile input that used to cost time growing faster than its size) it
times the parser at ``n`` and ``2n`` bytes and prints their ratio (linear: about 2; the
target is at most 2.3), then at the 10 MB CCF limit (target: at most 2 s).  With ``--ab
DIR`` the same inputs also run through the icsclient tree in DIR (say main's, copied to
/tmp) in the same run, side by side; a run that takes longer than ``--timeout`` is cut and
shown as ``>T``.

Each measurement runs in a fresh subprocess (best of ``--repeat``), with the tree under
test first on ``sys.path`` and the garbage collector left as the library leaves it.  Time
is processor time (the parsers are single-threaded): on a shared machine wall time
drifts with the neighbours' load.

    python benchmarks/bench_adversarial.py
    python benchmarks/bench_adversarial.py --ab /tmp/main-tree --n 262144 --timeout 60
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

MB = 1_000_000
LIMIT = 10 * MB  # the CCF's largest interchange
UNB = b"UNB+UNOC:3+AAA676Y+AAA336C+240101:1200+1'"
UNH = b"UNH+{m}+CUSCAR:D:95B:UN'"

WORKER = r"""
import sys, time
tree, shape, path, repeat = sys.argv[1:5]
sys.path.insert(0, tree)
from icsclient.edifact import iter_segments, parse_interchange
from icsclient.errors import IcsError
from icsclient.ics.contrl import parse_contrl
from icsclient.ics.cusres import parse_cusres
from icsclient.smime._mime import parse_entity
data = open(path, "rb").read()
def run():
    if shape.startswith("tokenize/"):
        return sum(1 for _ in iter_segments(data, chunk_size=int(shape.split("/")[1])))
    if shape == "parse_interchange":
        return parse_interchange(data, strict=False)
    if shape == "parse_contrl":
        return parse_contrl(data)
    if shape == "parse_cusres":
        return parse_cusres(data)
    if shape == "mime":
        return len(parse_entity(data).decoded_body())
best = None
for _ in range(int(repeat)):
    t = time.process_time()
    try:
        run()
    except IcsError:
        pass
    took = time.process_time() - t
    best = took if best is None else min(best, took)
print(best)
"""


def _escaped(n: int) -> bytes:  # 1: one segment of escaped terminators
    return UNB + b"UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++" + b"?'" * (n // 2) + b"'UNT+3+1'UNZ+1+1'"


def _prefix(n: int) -> bytes:  # 2: CR/LF before the UNB
    return b"\r\n" * (n // 2) + UNB + b"UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNZ+1+1'"


def _long_segment(n: int) -> bytes:  # 3: one very long segment
    return UNB + b"UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++" + b"A" * n + b"'UNT+3+1'UNZ+1+1'"


def _no_terminator(n: int) -> bytes:  # 3: no terminator at all (50 MB of zeros, scaled)
    return b"\0" * n


def _bad_chars(n: int) -> bytes:  # 4: many messages each with a character outside UNOC
    one = b"UNH+%d+CUSCAR:D:95B:UN'BGM+X\x01'UNT+3+%d'"
    count = max(1, n // len(one % (99999, 99999)))
    body = b"".join(one % (m, m) for m in range(1, count + 1))
    return UNB + body + b"UNZ+%d+1'" % count


def _contrl(n: int) -> bytes:  # 5: many UCS/UCD groups in one CONTRL
    group = b"UCS+%d+13'UCD+12+2'"
    count = max(1, n // len(group % 99999))
    body = b"".join(group % (i % 99999 + 3) for i in range(count))
    head = b"UNB+UNOC:3+AAA336C+AAA676Y+240101:1200+7'UNH+1+CONTRL:D:3:UN'"
    uci = b"UCI+1+AAA676Y+AAA336C+4'UCM+1+CUSCAR:D:95B:UN+4'"
    return head + uci + body + b"UNT+%d+1'UNZ+1+7'" % (count * 2 + 4)


def _cusres(n: int) -> bytes:  # a sibling: many error groups in one CUSRES
    group = b"ERP+1'ERC+X:80:95'ERC+123:6:95'FTX+AAO+++text?'s here'"
    count = max(1, n // len(group))
    head = b"UNB+UNOC:3+AAA336C+AAA676Y+240101:1200+7'UNH+1+CUSRES:D:95B:UN'"
    body = b"BGM+962::::AIRCRR+X1+11'" + group * count
    return head + body + b"UNT+%d+1'UNZ+1+7'" % (count * 4 + 3)


def _mime(n: int) -> bytes:  # a sibling: a big base64 attachment of zeros
    import base64

    raw = base64.encodebytes(b"\0" * (n * 3 // 4)).replace(b"\n", b"\r\n")
    return b"Content-Type: application/EDIFACT\r\nContent-Transfer-Encoding: base64\r\n\r\n" + raw


SHAPES: list[tuple[str, str, Callable[[int], bytes]]] = [
    ("1 escaped terminators", "parse_interchange", _escaped),
    ("1 escaped, 64 B chunks", "tokenize/64", _escaped),
    ("2 CR/LF prefix, 4 KiB chunks", "tokenize/4096", _prefix),
    ("3 one long segment", "parse_interchange", _long_segment),
    ("3 no terminator (zeros)", "tokenize/16384", _no_terminator),
    ("4 bad char in every message", "parse_interchange", _bad_chars),
    ("5 CONTRL with many UCS/UCD", "parse_contrl", _contrl),
    ("- CUSRES with many ERP groups", "parse_cusres", _cusres),
    ("- MIME: base64 of zeros", "mime", _mime),
]


def _time(tree: Path, op: str, data: bytes, repeat: int, timeout: float, tmp: Path) -> float | None:
    path = tmp / "input.bin"
    path.write_bytes(data)
    try:
        out = subprocess.run(
            [sys.executable, "-c", WORKER, str(tree), op, str(path), str(repeat)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            cwd=tmp,
        )
    except subprocess.TimeoutExpired:
        return None
    return float(out.stdout.strip().splitlines()[-1])


def _fmt(t: float | None, timeout: float) -> str:
    return f">{timeout:.0f} s" if t is None else f"{t:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1 << 20, help="the smaller size, bytes")
    parser.add_argument("--ab", type=Path, help="another icsclient tree to time alongside")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement")
    parser.add_argument("--no-limit", action="store_true", help="skip the 10 MB runs")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    trees = [("this tree", here)] + ([("other", args.ab.resolve())] if args.ab else [])
    sizes = [args.n, 2 * args.n] + ([] if args.no_limit else [LIMIT])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (label, op, make) in enumerate(SHAPES, start=1):
            cells = []
            for name, tree in trees:
                times = []
                for size in sizes:
                    print(
                        f"[{k}/{len(SHAPES)}] {label}: {name}, {size} bytes ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    times.append(_time(tree, op, make(size), args.repeat, args.timeout, Path(tmp)))
                cells.append(times)
            rows.append((label, op, cells))
    n_label = f"n={args.n // 1024} KiB"
    head = f"{'shape':<32} {'tree':<10} {n_label:>12} {'2n':>10} {'ratio':>6}"
    head += "" if args.no_limit else f" {'10 MB':>10}"
    print(head)
    print("-" * len(head))
    for label, _op, cells in rows:
        for (name, _tree), times in zip(trees, cells, strict=True):
            a, b = times[0], times[1]
            ratio = f"{b / a:.2f}" if a and b else "-"
            line = f"{label:<32} {name:<10} {_fmt(a, args.timeout):>12} "
            line += f"{_fmt(b, args.timeout):>10} {ratio:>6}"
            if not args.no_limit:
                line += f" {_fmt(times[2], args.timeout):>10}"
            print(line)
    print("\ntargets: ratio <= 2.3, 10 MB <= 2 s (timer noise dominates under ~50 ms)")


if __name__ == "__main__":
    main()
