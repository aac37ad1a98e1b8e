"""Round-trip benchmark: lodgements per second through the whole CCF exchange.

One round trip is: the client lodges (build, sign, encrypt, record) → the simulated
gateway opens the e-mail, checks it, answers with a CONTRL and a CUSRES → the client opens
both, applies the CONTRL, stores the CUSRES and records an ICONTRL → the gateway opens the
ICONTRL → the client records the sends.  The client takes what has arrived together with
:meth:`~icsclient.lodgement.LodgementClient.receive_many` (one durable commit for the lot),
refills its window with :meth:`~icsclient.lodgement.LodgementClient.lodge_many` (likewise)
and records sends with non-durable commits (see
:meth:`~icsclient.lodgement.LodgementClient.sent`).  Measured, side by side in one run:

- **in-process, 1 process**: :class:`~icsclient.testing.ccf.SimulatedCCF` called
  directly, one round trip after the other: the cost of each stage, cleanly separated;
- **in-process, N processes** (``--workers``, default 2): that loop in N processes that
  share one SQLite ledger (one site, one ICR sequence), as a vendor would use two cores;
- **loopback SMTP, one at a time**: the client sends with
  :class:`~icsclient.transport.SmtpSender` to an :class:`~icsclient.testing.ccf.SmtpCCF`
  (aiosmtpd on 127.0.0.1) that delivers its replies by SMTP to an
  :class:`~icsclient.testing.ccf.SmtpInbox`, both served by threads of this process;
- **loopback SMTP, pipelined**: the CCF and the client's inbound mail server (delivering
  into a Maildir) run in another process, as they would across a network; the client
  keeps ``--window`` lodgements in flight, reads the Maildir with
  :class:`~icsclient.transport.MaildirReader`, and a thread hands its e-mails over by SMTP.

For each: the rate, the work by stage, and the share of RSA private-key operations (the
calls that sign and decrypt -- ``cryptography``'s ``pkcs7`` functions, or the S/MIME
layer's own signer -- are counted and timed; a bare RSA-2048 private-key operation is
timed alone for the floor, just before and just after each run: the host's speed drifts,
and those two times show where it stood).  The client's ledger is a
:class:`~icsclient.store.SqliteStore` file (``--store memory`` for the in-memory store;
the parallel in-process run needs the file).  Every run checks that all lodgements were
acknowledged and all responses acknowledged.

    python benchmarks/bench_roundtrip.py                 # 1,000 round trips per run
    python benchmarks/bench_roundtrip.py --count 200     # quicker
    python benchmarks/bench_roundtrip.py --mode inprocess --store memory
    python benchmarks/bench_roundtrip.py --against /tmp/main   # A/B with another tree (_ab.py)
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import _ab
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs7

from icsclient.edifact import Segment
from icsclient.lodgement import LodgementClient, Outgoing, ResponseReceived, SendEmail
from icsclient.smime import _sign as smime_sign
from icsclient.store import MemoryStore, SqliteStore, Store
from icsclient.testing.ccf import ManualClock, Sent, SimulatedCCF, SmtpCCF, SmtpInbox
from icsclient.testing.pki import ThrowawayPKI, make_test_pki
from icsclient.transport import MaildirReader, SmtpSender

T0 = datetime(2024, 1, 27, 3, 0, tzinfo=timezone.utc)
R = TypeVar("R")


class Meter:
    """Wall time by stage, and the count and time of RSA private-key operations."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = defaultdict(float)
        self.rsa_count = 0
        self.rsa_time = 0.0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the time spent in the block to stage ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] += time.perf_counter() - start

    def wrap_rsa(self, func: Callable[..., R]) -> Callable[..., R]:
        """``func`` counted and timed as one RSA private-key operation per call."""

        def counted(*args: Any, **kwargs: Any) -> R:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.rsa_time += time.perf_counter() - start
                self.rsa_count += 1

        return counted


def _private_key_calls() -> list[tuple[Any, str]]:
    """The calls of the S/MIME layer that each make one RSA private-key operation.

    ``cryptography``'s PKCS#7 signing and decryption, and the S/MIME layer's own signer
    (``DetachedSigner._sign``) where it signs without the PKCS#7 builder.
    """
    calls: list[tuple[Any, str]] = [
        (pkcs7.PKCS7SignatureBuilder, "sign"),
        (pkcs7, "pkcs7_decrypt_der"),
    ]
    signer = getattr(smime_sign, "DetachedSigner", None)
    if signer is not None and hasattr(signer, "_sign"):
        calls.append((signer, "_sign"))
    return calls


@contextmanager
def counting_rsa(meter: Meter) -> Iterator[None]:
    """Count and time every signing and decryption (one RSA private-key operation each)."""
    originals = [(owner, name, getattr(owner, name)) for owner, name in _private_key_calls()]
    for owner, name, call in originals:
        setattr(owner, name, meter.wrap_rsa(call))
    try:
        yield
    finally:
        for owner, name, call in originals:
            setattr(owner, name, call)


def rsa_floor(pki: ThrowawayPKI, count: int = 300) -> float:
    """Seconds per bare RSA-2048 private-key operation (a PKCS#1 v1.5 signature)."""
    key = pki.client.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    digest = b"\x01" * 32
    algorithm = utils.Prehashed(hashes.SHA256())
    start = time.perf_counter()
    for _ in range(count):
        key.sign(digest, padding.PKCS1v15(), algorithm)
    return (time.perf_counter() - start) / count


def report(ref: str) -> tuple[str, list[Segment]]:
    """A small air cargo report (CUSCAR AIRCR) with sender reference ``ref``."""
    return (
        "CUSCAR",
        [
            Segment("BGM", ("933", "", "", "AIRCR"), (ref, "1"), "9"),
            Segment("RFF", ("ABO", ref, "", "1")),
            Segment("TDT", "20", "QF1", "4"),
            Segment("LOC", "5", "SYD"),
            Segment("CNI", "1", ref),
        ],
    )


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.start = label, total, time.perf_counter()
        self.step = max(total // 50, 1)
        self.shown = -1

    def update(self, done: int, *, force: bool = False) -> None:
        """Show ``done`` of ``total``, redrawn every 2 % (or now, with ``force``)."""
        if done == self.shown or (not force and done % self.step and done != self.total):
            return
        self.shown = done
        elapsed = time.perf_counter() - self.start
        filled = int(30 * done / self.total)
        rate = done / elapsed if elapsed else 0.0
        print(
            f"\r  {self.label:<14} [{'#' * filled}{' ' * (30 - filled)}] "
            f"{done:>6}/{self.total} {rate:6.1f}/s",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if done == self.total:
            print("\r" + " " * 78 + "\r", end="", file=sys.stderr, flush=True)


def settle(pki: ThrowawayPKI, store: Store, count: int) -> None:
    """Check that every lodgement was acknowledged and every response acknowledged."""
    summary = LodgementClient.for_pki(pki, store).summary()
    assert summary.lodged == count and summary.settled, summary
    assert summary.acknowledgements_sent == count, summary
    assert store.unacknowledged() == [], "responses left unacknowledged"


def run_inprocess(
    pki: ThrowawayPKI,
    store: Store,
    count: int,
    meter: Meter,
    *,
    progress: Callable[[int], None] | None = None,
    prefix: str = "",
    first_gateway_icr: int = 1,
) -> float:
    """``count`` round trips with the gateway called in-process; returns the elapsed time."""
    clock = ManualClock(pki.now)
    gateway = SimulatedCCF.for_pki(pki, clock=clock)
    if first_gateway_icr != 1:
        # Several simulated gateways answer one ledger: one CCF has one ICR sequence, so
        # give each its own range (SimulatedCCF has no public option for this yet).
        gateway._icrs.reset(gateway.site, first_gateway_icr)
    client = LodgementClient.for_pki(pki, store, clock=clock)
    start = time.perf_counter()
    for i in range(count):
        with meter.stage("client: lodge (build, sign, encrypt, record)"):
            out = client.lodge(report(f"{prefix}HAWB{i:07d}"))
        with meter.stage("gateway: open, check, CONTRL + CUSRES"):
            replies = gateway.receive_records(out.email)
        with meter.stage("client: record sends"):
            client.sent(out)
        with meter.stage("client: open + read CONTRL and CUSRES (one commit)"):
            batch = client.receive_many([reply.email for reply in replies])
        for events in batch:
            for event in events:
                if isinstance(event, SendEmail):
                    with meter.stage("gateway: open ICONTRL"):
                        gateway.receive(event.outgoing.email)
                    with meter.stage("client: record sends"):
                        client.sent(event.outgoing)
        if progress is not None:
            progress(i + 1)
    return time.perf_counter() - start


def _worker(pki: ThrowawayPKI, path: str, count: int, number: int, done: Any, results: Any) -> None:
    """One of several lodging processes sharing the ledger ``path``."""
    meter = Meter()
    with counting_rsa(meter), SqliteStore(path) as store:

        def tick(n: int) -> None:
            with done.get_lock():
                done.value += 1

        run_inprocess(
            pki,
            store,
            count,
            meter,
            progress=tick,
            prefix=f"W{number}-",
            first_gateway_icr=1 + number * 10**9,
        )
    results.put((dict(meter.stages), meter.rsa_count, meter.rsa_time))


def run_workers(pki: ThrowawayPKI, path: Path, count: int, workers: int, meter: Meter) -> float:
    """``count`` in-process round trips shared by ``workers`` processes on one SQLite ledger."""
    ctx = multiprocessing.get_context("fork")
    done, results = ctx.Value("i", 0), ctx.Queue()
    shares = [count // workers + (n < count % workers) for n in range(workers)]
    procs = [
        ctx.Process(target=_worker, args=(pki, str(path), share, n, done, results))
        for n, share in enumerate(shares)
    ]
    bar = Progress(f"{workers} processes", count)
    start = time.perf_counter()
    for proc in procs:
        proc.start()
    gathered: list[tuple[dict[str, float], int, float]] = []
    while len(gathered) < workers:
        bar.update(done.value, force=True)
        try:
            gathered.append(results.get(timeout=0.2))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                raise RuntimeError("a worker died") from None
    elapsed = time.perf_counter() - start
    bar.update(count, force=True)
    for proc in procs:
        proc.join()
    for stages, rsa_count, rsa_time in gathered:
        for name, seconds in stages.items():
            meter.stages[name] += seconds
        meter.rsa_count += rsa_count
        meter.rsa_time += rsa_time
    return elapsed


def run_smtp(pki: ThrowawayPKI, store: Store, count: int, meter: Meter) -> float:
    """``count`` round trips over loopback SMTP, one at a time, servers in this process."""
    clock = ManualClock(pki.now)
    gateway = SimulatedCCF.for_pki(pki, clock=clock)
    client = LodgementClient.for_pki(pki, store, clock=clock)
    inbox = SmtpInbox()
    bar = Progress("loopback SMTP", count)
    with SmtpCCF(gateway, inbox=inbox) as server, server.sender() as smtp:
        start = time.perf_counter()
        for i in range(count):
            with meter.stage("client: lodge (build, sign, encrypt, record)"):
                out = client.lodge(report(f"HAWB{i:07d}"))
            with meter.stage("SMTP send + gateway (open, check, CONTRL + CUSRES, deliver)"):
                smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
            with meter.stage("client: record sends"):
                client.sent(out)
            if inbox.messages:
                waiting = [raw for _, _, raw in inbox.messages]
                del inbox.messages[: len(waiting)]
                with meter.stage("client: open + read CONTRL/CUSRES"):
                    batch = client.receive_many(waiting)
                for event in (event for events in batch for event in events):
                    if isinstance(event, SendEmail):
                        ack = event.outgoing
                        with meter.stage("SMTP send + gateway (open ICONTRL)"):
                            smtp.send(ack.email, mail_from=ack.mail_from, rcpt_to=ack.mail_to)
                        with meter.stage("client: record sends"):
                            client.sent(ack)
            bar.update(i + 1)
        elapsed = time.perf_counter() - start
    return elapsed


class _TimedCCF(SimulatedCCF):
    """The simulated CCF, timing what it does for each e-mail (in the network process)."""

    meter = Meter()

    def receive_records(self, raw_email: bytes) -> list[Sent]:
        """As :meth:`SimulatedCCF.receive_records`, timed."""
        with self.meter.stage("gateway process: open, check, answer or read ICONTRL"):
            return super().receive_records(raw_email)


def _network(pki: ThrowawayPKI, maildir: str, ready: Any, stop: Any, results: Any) -> None:
    """The network side in its own process: the CCF on SMTP, and the client's mail server."""
    gateway = _TimedCCF.for_pki(pki, clock=ManualClock(pki.now))
    with counting_rsa(_TimedCCF.meter), SmtpCCF(gateway, inbox=SmtpInbox(maildir)) as server:
        ready.put(server.port)
        stop.wait()
        meter = _TimedCCF.meter
        acknowledged = len(gateway.events("acknowledged"))
    results.put((dict(meter.stages), meter.rsa_count, meter.rsa_time, acknowledged))


def run_smtp_pipelined(
    pki: ThrowawayPKI, store: Store, count: int, meter: Meter, window: int, maildir: Path
) -> float:
    """``count`` round trips over loopback SMTP with ``window`` lodgements in flight.

    The CCF and the client's inbound mail server run in another process (as they would on
    a network); here, the client lodges and reads the Maildir while a thread hands its
    e-mails to the CCF by SMTP.
    """
    ctx = multiprocessing.get_context("fork")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    network = ctx.Process(target=_network, args=(pki, str(maildir), ready, stop, results))
    network.start()
    port = ready.get(timeout=30)
    client = LodgementClient.for_pki(pki, store, clock=ManualClock(pki.now))
    outbox: queue.Queue[Outgoing | None] = queue.Queue()
    handed: queue.Queue[Outgoing] = queue.Queue()

    def sender() -> None:
        with SmtpSender("127.0.0.1", port) as smtp:
            while (out := outbox.get()) is not None:
                smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
                handed.put(out)

    thread = threading.Thread(target=sender, daemon=True)
    reader = MaildirReader(maildir)
    bar = Progress(f"SMTP window {window}", count)
    start = time.perf_counter()
    thread.start()
    lodged = answered = 0
    while answered < count:
        refill = range(lodged, min(count, answered + window))
        if refill:
            with meter.stage("client: lodge (build, sign, encrypt, record)"):
                outs = client.lodge_many([report(f"HAWB{n:07d}") for n in refill])
            for out in outs:
                outbox.put(out)
            lodged += len(outs)
        if not handed.empty():
            with meter.stage("client: record sends"), client.store.transaction(durable=False):
                while not handed.empty():
                    client.sent(handed.get_nowait())
        waiting = list(iter(reader))  # (list(reader) would list the Maildir twice: len())
        if waiting:
            with meter.stage("client: open + read CONTRL/CUSRES"):
                batch = client.receive_many([raw for _, raw in waiting])
                for key, _ in waiting:
                    reader.done(key)
            for event in (event for events in batch for event in events):
                if isinstance(event, SendEmail):
                    outbox.put(event.outgoing)
                elif isinstance(event, ResponseReceived):
                    answered += 1
        bar.update(answered)
        if not waiting:
            with meter.stage("client: idle, waiting for mail"):
                time.sleep(0.0005)
    outbox.put(None)
    thread.join()
    elapsed = time.perf_counter() - start
    while not handed.empty():
        client.sent(handed.get_nowait())
    stop.set()
    stages, rsa_count, rsa_time, acknowledged = results.get(timeout=30)
    network.join()
    assert acknowledged == count, f"the CCF saw {acknowledged} acknowledgements"
    for name, seconds in stages.items():
        meter.stages[name] += seconds
    meter.rsa_count += rsa_count
    meter.rsa_time += rsa_time
    return elapsed


def print_result(label: str, count: int, elapsed: float, meter: Meter, floor: float) -> float:
    """Print the rate, the work by stage and the RSA share; return the rate.

    Shares are of the total work (the sum of the stage times, across processes when
    several ran side by side), so they add up to 100 % whatever the parallelism; time
    spent waiting is listed apart.
    """
    per_second = count / elapsed
    print(f"\n{label}")
    print(f"  {count} round trips in {elapsed:.2f} s = {per_second:.1f} lodgements/s")
    waiting = {k: v for k, v in meter.stages.items() if "idle" in k}
    work = {k: v for k, v in meter.stages.items() if k not in waiting}
    total = sum(work.values())
    print(f"  work per round trip: {total / count * 1000:.2f} ms, by stage (ms, share):")
    for name, seconds in sorted(work.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<62} {seconds / count * 1000:6.2f} {seconds / total:6.1%}")
    for name, seconds in waiting.items():
        print(f"    ({name}: {seconds / count * 1000:.2f} ms)")
    ops = meter.rsa_count / count
    print(
        f"  RSA private-key operations: {ops:.1f} per round trip; the sign/decrypt "
        f"calls doing them take {meter.rsa_time / count * 1000:.2f} ms "
        f"({meter.rsa_time / total:.1%} of the work), the bare RSA operations "
        f"{ops * floor * 1000:.2f} ms ({ops * floor * count / total:.1%})"
    )
    return per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="round trips per measurement")
    parser.add_argument(
        "--mode", choices=("inprocess", "smtp", "both"), default="both", help="what to measure"
    )
    parser.add_argument(
        "--store", choices=("sqlite", "memory"), default="sqlite", help="the client's ledger"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="lodging processes for the parallel in-process run (0: skip the parallel runs)",
    )
    parser.add_argument("--window", type=int, default=16, help="lodgements in flight over SMTP")
    _ab.add_options(parser)
    args = parser.parse_args()
    theirs = _ab.baseline(args.against) if args.against else None
    pki = make_test_pki(now=T0)
    print(f"bare RSA-2048 private-key operation: {rsa_floor(pki) * 1000:.3f} ms")
    # (label, rate, bare RSA time just before and just after the run): this host's speed
    # drifts by a third within minutes, and the bare RSA time shows where it stood
    rates: list[tuple[str, float, float, float]] = []

    def ledger(tmp: str, name: str) -> Store:
        return SqliteStore(Path(tmp) / f"{name}.db") if args.store == "sqlite" else MemoryStore()

    def measure(label: str, run: Callable[[Store, Meter], float], store: Store) -> None:
        meter = Meter()
        before = rsa_floor(pki, 100)
        with counting_rsa(meter):
            elapsed = run(store, meter)
        after = rsa_floor(pki, 100)
        settle(pki, store, args.count)
        rate = print_result(label, args.count, elapsed, meter, (before + after) / 2)
        rates.append((label, rate, before, after))
        store.close()

    with tempfile.TemporaryDirectory() as tmp:
        run_inprocess(pki, MemoryStore(), 5, Meter())  # warm up: imports, caches
        if args.mode in ("inprocess", "both"):
            bar = Progress("in-process", args.count)
            measure(
                f"in-process, 1 process ({args.store} ledger)",
                lambda store, meter: run_inprocess(
                    pki, store, args.count, meter, progress=bar.update
                ),
                ledger(tmp, "inprocess"),
            )
            if args.workers > 1 and args.store == "sqlite":
                path = Path(tmp) / "workers.db"
                SqliteStore(path).close()
                measure(
                    f"in-process, {args.workers} processes sharing the sqlite ledger",
                    lambda store, meter: run_workers(pki, path, args.count, args.workers, meter),
                    SqliteStore(path),
                )
        if args.mode in ("smtp", "both"):
            measure(
                f"loopback SMTP, one at a time, servers in this process ({args.store} ledger)",
                lambda store, meter: run_smtp(pki, store, args.count, meter),
                ledger(tmp, "smtp"),
            )
            if args.workers > 0:
                maildir = Path(tmp) / "inbox"
                measure(
                    f"loopback SMTP, {args.window} in flight, CCF in another process "
                    f"({args.store} ledger)",
                    lambda store, meter: run_smtp_pipelined(
                        pki, store, args.count, meter, args.window, maildir
                    ),
                    ledger(tmp, "pipelined"),
                )
    print("\nlodgements per second (targets: 60 in-process, 40 over loopback SMTP)")
    print(f"  {'':<76} {'rate':>7}  bare RSA before/after (ms)")
    for label, rate, before, after in rates:
        print(f"  {label:<76} {rate:7.1f}  {before * 1000:.2f} / {after * 1000:.2f}")
    _ab.report({label: rate for label, rate, _, _ in rates}, theirs, "lodgements per second")


if __name__ == "__main__":
    main()
