"""EDIFACT layer benchmark: icsclient against pydifact, in one run.

Generates realistic UNOC:3 interchanges of about 1 MB and 10 MB (many CUSCAR/CUSDEC-like
messages, some release-escaped text), then times streaming parse, full-model parse,
envelope check and serialization with icsclient and with pydifact.  Each measurement
runs in a fresh subprocess: timed ``--repeat`` times untraced (the best is reported; every
run parses or serializes the input afresh, nothing is carried over but what a long-lived
process would keep, such as compiled patterns), then once more under tracemalloc for its
peak memory.

    python benchmarks/bench_edifact.py              # 1 MB and 10 MB, best of 3
    python benchmarks/bench_edifact.py --sizes 1    # just 1 MB
    python benchmarks/bench_edifact.py --repeat 1   # one timed run each (quicker)
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

MB = 1024 * 1024

WORKER = r"""
import json, sys, time, warnings
op, lib, path, repeat = sys.argv[1:5]
if lib == "icsclient":
    from icsclient import iter_segments, parse_interchange
    from icsclient.edifact.envelope import interchange_from_segments
    from icsclient.edifact import serialize
    import inspect
    OPTS = inspect.signature(parse_interchange).parameters
    PAUSE = {"pause_gc": True} if "pause_gc" in OPTS else {}
else:
    warnings.simplefilter("ignore")
    from pydifact.segmentcollection import Interchange
data = None
if op != "stream":
    data = open(path, "rb").read()
pre = None
if op == "check":
    pre = list(iter_segments(data))
elif op == "serialize":
    if lib == "icsclient":
        pre = parse_interchange(data)
    else:
        pre = Interchange.from_str(data.decode("latin-1"))
def work():
    if op == "stream":
        if lib == "icsclient":
            with open(path, "rb") as f:
                n = sum(1 for _ in iter_segments(f))
        else:
            from pydifact.parser import Parser
            with open(path, "rb") as f:
                n = sum(1 for _ in Parser().parse(f.read().decode("latin-1")))
    elif op == "parse":
        if lib == "icsclient":
            # opts in to pausing the collector (parse_interchange no longer does it unasked)
            n = len(parse_interchange(data, **PAUSE).messages)
        else:
            n = len(list(Interchange.from_str(data.decode("latin-1")).get_messages()))
    elif op == "check":
        n = len(interchange_from_segments(pre).issues)
    elif op == "serialize":
        n = len(pre.to_bytes()) if lib == "icsclient" else len(pre.serialize())
    return n
elapsed = float("inf")
for _ in range(int(repeat)):
    t = time.perf_counter()
    n = work()
    elapsed = min(elapsed, time.perf_counter() - t)
import tracemalloc
tracemalloc.start()
work()
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({"seconds": elapsed, "peak": peak, "n": n}))
"""


def make_interchange(target: int, seed: int = 1) -> bytes:
    """A valid UNOC:3 interchange of about ``target`` bytes."""
    from icsclient import Segment, build_interchange

    rng = random.Random(seed)
    words = ["CARTONS", "MACHINERY", "PARTS", "SPARE", "COTTON", "SHIRTS", "CAFÉ", "TOOLS"]
    escaped = ["O'BRIEN", "A+B", "RATIO 1:2", "WHAT?"]
    messages = []
    size = 0
    n = 0
    while size < target:
        n += 1
        kind = "CUSCAR" if n % 2 else "CUSDEC"
        body = [
            Segment("BGM", ("933", "", "", "AIRCR" if kind == "CUSCAR" else "EXD"), f"REF{n}", "9"),
            Segment("DTM", ("137", "202611221030", "203")),
            Segment("RFF", ("ABO", f"SR{n:08d}", "", "1")),
            Segment("NAD", "CZ", ("AAA676Y", "", "95"), "", "SHIPPER PTY LTD"),
        ]
        for line in range(rng.randint(5, 25)):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))
            if rng.random() < 0.05:  # some free text needs the release character
                text += " " + rng.choice(escaped)
            body.append(Segment("GID", str(line + 1), (str(rng.randint(1, 999)), "CT")))
            body.append(Segment("FTX", "AAA", "", "", text))
            body.append(
                Segment(
                    "MEA", "WT", "AAB", ("KGM", f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}")
                )
            )
        messages.append((kind, body))
        size += sum(len(str(s)) for s in body) + 60
    when = datetime(2026, 11, 22, tzinfo=timezone.utc)
    return build_interchange("AAA676Y", messages, 1, prepared=when)


def run(op: str, lib: str, path: Path, repeat: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, op, lib, str(path), str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10], help="sizes in MB")
    parser.add_argument("--no-pydifact", action="store_true", help="skip the pydifact runs")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement")
    args = parser.parse_args()
    from icsclient.edifact.tokenizer import CHUNK_SIZE as chunk_size

    ops = ["stream", "parse", "check", "serialize"]
    libs = ["icsclient"] if args.no_pydifact else ["icsclient", "pydifact"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mb in args.sizes:
            path = Path(tmp) / f"bench_{mb}mb.edi"
            print(f"generating {mb} MB interchange ...", file=sys.stderr, flush=True)
            data = make_interchange(mb * MB)
            path.write_bytes(data)
            real_mb = len(data) / MB
            total = len(ops) * len(libs)
            step = 0
            for op in ops:
                figures: dict[str, dict[str, float]] = {}
                for lib in libs:
                    if lib == "pydifact" and op == "check":
                        continue  # pydifact checks no envelope
                    step += 1
                    print(
                        f"  [{step}/{total}] {mb} MB {op:<9} {lib} ...", file=sys.stderr, flush=True
                    )
                    figures[lib] = run(op, lib, path, args.repeat)
                ours = figures["icsclient"]
                theirs = figures.get("pydifact")
                rows.append(
                    (
                        f"{real_mb:.1f} MB",
                        op,
                        f"{ours['seconds']:.3f}",
                        f"{real_mb / ours['seconds']:.1f}",
                        f"{ours['peak'] / MB:.0f}",
                        f"{theirs['seconds']:.3f}" if theirs else "-",
                        f"{real_mb / theirs['seconds']:.2f}" if theirs else "-",
                        f"{theirs['peak'] / MB:.0f}" if theirs else "-",
                        f"{theirs['seconds'] / ours['seconds']:.1f}x" if theirs else "-",
                    )
                )
    header = (
        "size",
        "operation",
        "ics s",
        "ics MB/s",
        "ics MiB",
        "pydifact s",
        "pyd MB/s",
        "pyd MiB",
        "speed-up",
    )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)))
    print(
        "(MiB = peak memory traced by tracemalloc during the operation, on top of the input "
        "already loaded; 'stream' reads the file in the tokenizer's default chunks, "
        f"{chunk_size // 1024} KiB)"
    )


if __name__ == "__main__":
    main()
