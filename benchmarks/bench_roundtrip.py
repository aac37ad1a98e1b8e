"""Round-trip benchmark: lodgements per second through the whole CCF exchange.

One round trip is: the client lodges (build, sign, encrypt, record) → the simulated
gateway opens the e-mail, checks it, answers with a CONTRL and a CUSRES → the client opens
both, applies the CONTRL, stores the CUSRES and records an ICONTRL → the gateway opens the
ICONTRL → the client records the sends.  Measured, side by side in one run:

- **in-process**: :class:`~icsclient.testing.ccf.SimulatedCCF` called directly;
- **loopback SMTP**: the client sends with :class:`~icsclient.transport.SmtpSender` to an
  :class:`~icsclient.testing.ccf.SmtpCCF` (aiosmtpd on 127.0.0.1), which delivers its
  replies by SMTP to an :class:`~icsclient.testing.ccf.SmtpInbox`; servers run in threads
  of this process.

For each: the rate, the time split by stage, and the share spent in RSA private-key
operations (the ``pkcs7`` sign and decrypt calls of ``cryptography`` are counted and timed;
the RSA operation itself is timed alone for the floor).  The client's ledger is a
:class:`~icsclient.store.SqliteStore` file (``--store memory`` for the in-memory store).

    python benchmarks/bench_roundtrip.py                 # 1,000 round trips each way
    python benchmarks/bench_roundtrip.py --count 200     # quicker
    python benchmarks/bench_roundtrip.py --mode inprocess --store memory
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs7

from icsclient.edifact import Segment
from icsclient.lodgement import LodgementClient, SendEmail
from icsclient.store import MemoryStore, SqliteStore, Store
from icsclient.testing.ccf import ManualClock, SimulatedCCF, SmtpCCF, SmtpInbox
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

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


@contextmanager
def counting_rsa(meter: Meter) -> Iterator[None]:
    """Count and time every PKCS#7 signing and decryption (one RSA private operation each)."""
    sign, decrypt = pkcs7.PKCS7SignatureBuilder.sign, pkcs7.pkcs7_decrypt_der
    pkcs7.PKCS7SignatureBuilder.sign = meter.wrap_rsa(sign)  # type: ignore[method-assign]
    pkcs7.pkcs7_decrypt_der = meter.wrap_rsa(decrypt)
    try:
        yield
    finally:
        pkcs7.PKCS7SignatureBuilder.sign = sign  # type: ignore[method-assign]
        pkcs7.pkcs7_decrypt_der = decrypt


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

    def update(self, done: int) -> None:
        """Show ``done`` of ``total``, redrawn every 2 %."""
        if done % self.step and done != self.total:
            return
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


def settle(client: LodgementClient, count: int) -> None:
    """Check that every lodgement was acknowledged and answered."""
    summary = client.summary()
    assert summary.lodged == count and summary.settled, summary
    assert summary.acknowledgements_sent == count, summary


def run_inprocess(pki: ThrowawayPKI, store: Store, count: int, meter: Meter) -> float:
    """``count`` round trips with the gateway called in-process; returns the elapsed time."""
    clock = ManualClock(pki.now)
    gateway = SimulatedCCF.for_pki(pki, clock=clock)
    client = LodgementClient.for_pki(pki, store, clock=clock)
    progress = Progress("in-process", count)
    start = time.perf_counter()
    for i in range(count):
        with meter.stage("client: lodge (build, sign, encrypt, record)"):
            out = client.lodge(report(f"HAWB{i:07d}"))
        with meter.stage("gateway: open, check, CONTRL + CUSRES"):
            replies = gateway.receive_records(out.email)
        with meter.stage("client: record sends"):
            client.sent(out)
        for reply in replies:
            with meter.stage(f"client: open + read {reply.kind.upper()}"):
                events = client.receive(reply.email)
            for event in events:
                if isinstance(event, SendEmail):
                    with meter.stage("gateway: open ICONTRL"):
                        gateway.receive(event.outgoing.email)
                    with meter.stage("client: record sends"):
                        client.sent(event.outgoing)
        progress.update(i + 1)
    elapsed = time.perf_counter() - start
    settle(client, count)
    return elapsed


def run_smtp(pki: ThrowawayPKI, store: Store, count: int, meter: Meter) -> float:
    """``count`` round trips over loopback SMTP; returns the elapsed time."""
    clock = ManualClock(pki.now)
    gateway = SimulatedCCF.for_pki(pki, clock=clock)
    client = LodgementClient.for_pki(pki, store, clock=clock)
    inbox = SmtpInbox()
    progress = Progress("loopback SMTP", count)
    with SmtpCCF(gateway, inbox=inbox) as server, server.sender() as smtp:
        start = time.perf_counter()
        for i in range(count):
            with meter.stage("client: lodge (build, sign, encrypt, record)"):
                out = client.lodge(report(f"HAWB{i:07d}"))
            with meter.stage("SMTP send + gateway (open, check, CONTRL + CUSRES, deliver)"):
                smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
            with meter.stage("client: record sends"):
                client.sent(out)
            while inbox.messages:
                _, _, raw = inbox.messages.pop(0)
                with meter.stage("client: open + read CONTRL/CUSRES"):
                    events = client.receive(raw)
                for event in events:
                    if isinstance(event, SendEmail):
                        ack = event.outgoing
                        with meter.stage("SMTP send + gateway (open ICONTRL)"):
                            smtp.send(ack.email, mail_from=ack.mail_from, rcpt_to=ack.mail_to)
                        with meter.stage("client: record sends"):
                            client.sent(ack)
            progress.update(i + 1)
        elapsed = time.perf_counter() - start
    settle(client, count)
    return elapsed


def print_result(label: str, count: int, elapsed: float, meter: Meter, floor: float) -> float:
    """Print the rate, the stages and the RSA share; return the rate."""
    per_second = count / elapsed
    print(f"{label}: {count} round trips in {elapsed:.2f} s = {per_second:.1f} lodgements/s")
    per_trip = elapsed / count * 1000
    print(f"  {per_trip:.2f} ms per round trip; by stage (ms per round trip, share):")
    for name, seconds in sorted(meter.stages.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<62} {seconds / count * 1000:6.2f}  {seconds / elapsed:6.1%}")
    ops = meter.rsa_count / count
    print(
        f"  RSA private-key operations: {ops:.1f} per round trip; PKCS#7 sign/decrypt calls "
        f"take {meter.rsa_time / count * 1000:.2f} ms ({meter.rsa_time / elapsed:.1%}); "
        f"the bare RSA operations {ops * floor * 1000:.2f} ms ({ops * floor * count / elapsed:.1%})"
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
    args = parser.parse_args()
    pki = make_test_pki(now=T0 - timedelta(days=1) + timedelta(days=1))
    floor = rsa_floor(pki)
    print(f"bare RSA-2048 private-key operation: {floor * 1000:.3f} ms")
    modes = ("inprocess", "smtp") if args.mode == "both" else (args.mode,)
    runners = {"inprocess": ("in-process", run_inprocess), "smtp": ("loopback SMTP", run_smtp)}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            label, run = runners[mode]
            store: Store = (
                SqliteStore(Path(tmp) / f"{mode}.db") if args.store == "sqlite" else MemoryStore()
            )
            warm = MemoryStore()
            run(pki, warm, 5, Meter())  # imports, caches, first connections
            meter = Meter()
            with counting_rsa(meter):
                elapsed = run(pki, store, args.count, meter)
            print_result(f"{label} ({args.store} ledger)", args.count, elapsed, meter, floor)
            store.close()


if __name__ == "__main__":
    main()
