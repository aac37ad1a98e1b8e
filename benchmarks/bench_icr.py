"""ICR allocation benchmark: how many numbers per second each store hands out.

Times, side by side in one run:

- ``MemoryStore.allocate_icr``;
- ``SqliteStore.allocate_icr`` on a file (WAL, ``synchronous=FULL``: one fsync per number),
  and the same connection switched to ``synchronous=NORMAL`` for comparison (not offered by
  the store: it may roll the last numbers back after a power loss);
- ``SqliteStore.allocate_and_record`` with a 10 kB interchange and a 20 kB e-mail;
- several processes drawing from one SQLite file at once.

    python benchmarks/bench_icr.py              # default counts
    python benchmarks/bench_icr.py --count 500  # quicker
    python benchmarks/bench_icr.py --against /tmp/main   # A/B with another tree (_ab.py)
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import _ab

from icsclient.store import MemoryStore, SqliteStore, Store

SITE = "AAA676Y"
NOW = datetime(2024, 1, 27, tzinfo=timezone.utc)
INTERCHANGE, EMAIL = b"x" * 10_000, b"y" * 20_000


def rate(label: str, count: int, draw: Callable[[], object]) -> float:
    """Call ``draw`` ``count`` times, print and return the calls per second."""
    print(f"  {label:<58}", end="", flush=True)
    start = time.perf_counter()
    for _ in range(count):
        draw()
    per_second = count / (time.perf_counter() - start)
    print(f"{per_second:>10,.0f} /s")
    return per_second


def _draw(path: str, count: int, start: Any) -> None:
    store = SqliteStore(path)
    start.wait()
    for _ in range(count):
        store.allocate_icr(SITE)


def processes(path: str, workers: int, count: int) -> float:
    """Print the combined allocation rate of ``workers`` processes sharing one file."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_draw, args=(path, count, start)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every child import and open the store
    print(f"  {f'{workers} processes x {count} allocate_icr (one file)':<58}", end="", flush=True)
    t = time.perf_counter()
    start.set()
    for p in procs:
        p.join()
    per_second = workers * count / (time.perf_counter() - t)
    print(f"{per_second:>10,.0f} /s")
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="allocations per measurement")
    parser.add_argument("--workers", type=int, default=4, help="processes sharing the file")
    _ab.add_options(parser)
    args = parser.parse_args()
    n = args.count
    theirs = _ab.baseline(args.against) if args.against else None
    mine: dict[str, float] = {}

    def rated(label: str, count: int, draw: Callable[[], object]) -> None:
        mine[label] = rate(label, count, draw)

    with tempfile.TemporaryDirectory() as tmp:
        memory: Store = MemoryStore()
        full = SqliteStore(Path(tmp) / "full.db")
        print(f"ICR allocations, {n} per line")
        rated("MemoryStore.allocate_icr", n, lambda: memory.allocate_icr(SITE))
        rated(
            "SqliteStore.allocate_icr (WAL, synchronous=FULL)", n, lambda: full.allocate_icr(SITE)
        )
        rated(
            "SqliteStore.allocate_and_record, 10 kB + 20 kB (FULL)",
            n,
            lambda: full.allocate_and_record(SITE, lambda icr: (INTERCHANGE, EMAIL), now=NOW),
        )
        rated(
            "MemoryStore.allocate_and_record, 10 kB + 20 kB",
            n,
            lambda: memory.allocate_and_record(SITE, lambda icr: (INTERCHANGE, EMAIL), now=NOW),
        )
        normal = SqliteStore(Path(tmp) / "normal.db")
        assert normal._conn is not None
        normal._conn.execute("PRAGMA synchronous = NORMAL")
        rated(
            "SqliteStore.allocate_icr (WAL, synchronous=NORMAL)",
            n,
            lambda: normal.allocate_icr(SITE),
        )
        label = f"{args.workers} processes x {n // args.workers} allocate_icr (one file)"
        mine[label] = processes(str(Path(tmp) / "shared.db"), args.workers, n // args.workers)
    _ab.report(mine, theirs, "allocations per second")


if __name__ == "__main__":
    main()
