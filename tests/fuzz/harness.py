"""Seeded mutation fuzzing of everything that reads received bytes.

Each *target* takes bytes as they could arrive from the gateway (an interchange, a CONTRL,
a CUSRES, a whole S/MIME e-mail, or the signed entity or interchange inside one, signed and
encrypted afresh so the mutation reaches the layers behind the crypto) and calls the
library.  The contract checked: the library raises nothing but
:class:`~icsclient.errors.IcsError` subclasses, and no call takes more than a second.

* a **crash** is any other exception; a **hang** is a call over :data:`SLOW_SECONDS` of
  processor time (measured twice, so a busy shared machine does not count) or cut at
  ``deadline`` seconds of wall time (``SIGALRM``: a true hang becomes a report);
* both are saved as reproducers in ``out`` (``<target>-<kind>-<sha1>.bin`` with a ``.txt``
  beside it: target, seed, iteration, traceback or time), and can be replayed with
  ``--replay FILE``;
* the run is seeded: the same seed and iterations give the same inputs.

A short run is part of ``python -m pytest`` (``tests/fuzz/test_fuzz.py``).  A long one::

    nice python -m tests.fuzz.harness --iterations 1000000 --seed 7 --out /tmp/fuzz

prints progress every few seconds and a summary: inputs, calls, crashes, hangs, peak
memory.  ``LodgementClient.receive()`` gets its target with :func:`register` once it
quarantines what it cannot read (issue 16 item 9): see :func:`receive_target`.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from types import FrameType

from icsclient.edifact import Segment, iter_segments, parse_interchange
from icsclient.errors import IcsError
from icsclient.ics.contrl import build_contrl_interchange, parse_contrl
from icsclient.ics.cusres import parse_cusres
from icsclient.ics.envelope import build_interchange
from icsclient.mail import compose_email, open_email
from icsclient.smime import encrypt_envelope, enveloped_entity, signed_entity
from icsclient.smime._mime import b64_lines
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

SLOW_SECONDS = 1.0
"""A call taking more processor time than this is reported as a hang (not asserted)."""

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "responses"
WHEN = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)

# text the fuzzer splices in: the shapes of issue 16 and their siblings
TOKENS: tuple[bytes, ...] = (
    b"?'",
    b"??",
    b"?",
    b"'",
    b"+",
    b":",
    b"UNA:+.? '",
    b"UNA",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xb9\xb2\xb3",
    b"9" * 5000,
    b"UNH+1+CONTRL:D:3:UN'",
    b"UCS+3+13'",
    b"UCD+12+2'",
    b"UNT+2+1'",
    b"UNZ+1+1'",
    b"\x00",
    b"\xff",
    b"--",
    b'boundary="\xe9"',
    b"\r\n\r\n",
    b"Content-Type: multipart/signed; boundary=x\r\n",
    b"=?utf-8?b?w6k=?=",
)


@dataclass
class Target:
    """A library entry point fed with mutations of its ``seeds``."""

    name: str
    seeds: Callable[[], list[bytes]]
    call: Callable[[bytes, random.Random], object]


TARGETS: dict[str, Target] = {}


def register(
    name: str, seeds: Callable[[], list[bytes]], call: Callable[[bytes, random.Random], object]
) -> None:
    """Add a target (a new reader of received data: ICS2 XML, AS4, ``receive()``)."""
    TARGETS[name] = Target(name, seeds, call)


# ------------------------------------------------------------------------------ seeds


@cache
def pki() -> ThrowawayPKI:
    """One throw-away PKI for every e-mail target."""
    return make_test_pki()


def _cuscar(n: int = 2) -> bytes:
    body = [
        Segment("BGM", ("933", "", "", "AIRCR"), "X1", "9"),
        Segment("FTX", "AAA", "", "", "a?b"),
    ]
    return build_interchange("AAA676Y", [("CUSCAR", body)] * n, "00000000001234", prepared=WHEN)


@cache
def interchange_seeds() -> list[bytes]:
    return [_cuscar(1), _cuscar(3), *(p.read_bytes() for p in sorted(FIXTURES.glob("*.edi")))]


@cache
def contrl_seeds() -> list[bytes]:
    broken = parse_interchange(_cuscar(3).replace(b"UNT+4", b"UNT+9", 1), strict=False)
    made = build_contrl_interchange(broken, icr=7, prepared=WHEN)
    return [made, *(p.read_bytes() for p in sorted(FIXTURES.glob("contrl_*.edi")))]


@cache
def cusres_seeds() -> list[bytes]:
    names = ("aircrr_accepted.edi", "aircrr_mixed.edi", "carst_status.edi", "erm_ccferror.edi")
    return [(FIXTURES / n).read_bytes() for n in names]


def _response(icr: str = "00000000000042") -> bytes:
    body = [
        Segment("BGM", ("962", "", "", "AIRCRR"), "X1", "11"),
        Segment("FTX", "AAO", "", "", "OK"),
    ]
    return build_interchange("AAA336C", [("CUSRES", body)], icr, recipient="AAA676Y", prepared=WHEN)


def _inner(interchange: bytes) -> bytes:
    name = b"AAA676Y_00000000000042.edi"
    return (
        b'Content-Type: application/EDIFACT; name="' + name + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="'
        + name
        + b'"\r\n\r\n'
        + b64_lines(interchange)
    )


def _wrap(signed: bytes) -> bytes:
    p = pki()
    body = enveloped_entity(encrypt_envelope(signed, [p.client.certificate]))
    subject = "Subject: AAA336C_00000000000042_AAA676Y\r\n"
    head = f"From: {p.gateway_email}\r\nTo: {p.client_email}\r\n{subject}"
    return head.encode() + b"MIME-Version: 1.0\r\n" + body


@cache
def email_seeds() -> list[bytes]:
    p = pki()
    options = {"signer": p.gateway, "gateway": p.client.certificate}
    return [
        compose_email(_response(), mail_from=p.gateway_email, mail_to=p.client_email, **options),  # type: ignore[arg-type]
        _wrap(signed_entity(_inner(_response()), p.gateway)),
    ]


@cache
def signed_seeds() -> list[bytes]:
    return [signed_entity(_inner(_response()), pki().gateway)]


# ------------------------------------------------------------------------------ calls


def _tokenize(data: bytes, rng: random.Random) -> object:
    return sum(1 for _ in iter_segments(data, chunk_size=rng.choice((1, 7, 64, 4096, 1 << 14))))


def _open(data: bytes, rng: random.Random) -> object:
    p = pki()
    return open_email(data, recipient=p.client, trust=p.trust_for_client())


register("tokenize", interchange_seeds, _tokenize)
register("parse_interchange", interchange_seeds, lambda d, r: parse_interchange(d, strict=False))
register("parse_contrl", contrl_seeds, lambda d, r: parse_contrl(d))
register("parse_cusres", cusres_seeds, lambda d, r: parse_cusres(d))
register("open_email", email_seeds, _open)
register("open_email_signed", signed_seeds, lambda d, r: _open(_wrap(d), r))
register(
    "open_email_interchange",
    lambda: [_response()],
    lambda d, r: _open(_wrap(signed_entity(_inner(d), pki().gateway)), r),
)


def receive_target() -> None:
    """The hook for ``LodgementClient.receive()``: once it quarantines what it cannot read
    (issue 16 item 9, the store engineer's change), register a target that drops each
    mutated e-mail into a Maildir inbox and calls ``receive()`` on a client over a fresh
    ledger, checking it never raises (events or quarantine only)::

        register("receive", email_seeds, _receive)

    Until then ``receive()`` is covered through ``open_email`` and the parsers it calls.
    """


# ------------------------------------------------------------------------------ mutation


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits of ``data``: byte flips, inserts, deletes, spliced tokens,
    a slice repeated (up to a few hundred KB: the shapes whose cost grows), truncation."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out) + 1)
        op = rng.random()
        if op < 0.25 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op < 0.4:
            out[at:at] = bytes([rng.randrange(256)])
        elif op < 0.5 and out:
            del out[at : at + rng.randint(1, 16)]
        elif op < 0.75:
            out[at:at] = rng.choice(TOKENS)
        elif op < 0.9:
            piece = bytes(out[at : at + rng.randint(1, 12)]) or rng.choice(TOKENS)
            out[at:at] = piece * rng.choice((2, 10, 100, 1000, 20_000 // len(piece) + 1))
        else:
            del out[at:]
    return bytes(out)


# ------------------------------------------------------------------------------ running


class _Deadline(BaseException):
    """Raised in the fuzzed call by SIGALRM: a call that never returns."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: FrameType | None) -> None:
        raise _Deadline

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Report:
    """What a run found."""

    inputs: int = 0
    calls: int = 0
    crashes: list[Path] = field(default_factory=list)
    hangs: list[Path] = field(default_factory=list)
    slowest: float = 0.0
    slowest_target: str = ""
    seconds: float = 0.0

    @property
    def peak_mib(self) -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def summary(self) -> str:
        return (
            f"inputs {self.inputs}, calls {self.calls}, non-library exceptions "
            f"{len(self.crashes)}, calls over {SLOW_SECONDS:g} s {len(self.hangs)}, slowest "
            f"{self.slowest * 1000:.0f} ms ({self.slowest_target}), peak memory "
            f"{self.peak_mib:.0f} MiB, {self.seconds:.0f} s"
        )


def _save(out: Path, target: str, kind: str, data: bytes, note: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{target}-{kind}-{hashlib.sha1(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(f"target {target}\n{note}\n")
    return path


def run_one(
    target: Target, data: bytes, rng: random.Random, deadline: float
) -> tuple[str, str, float]:
    """Call ``target`` on ``data``: ``("ok" | "crash" | "hang", detail, seconds)``."""
    start = time.process_time()
    try:
        with _deadline(deadline):
            target.call(data, rng)
    except IcsError:
        pass
    except _Deadline:
        return "hang", f"still running after {deadline:g} s", time.process_time() - start
    except Exception:  # the finding: anything not the library's own
        return "crash", traceback.format_exc(), time.process_time() - start
    took = time.process_time() - start
    if took > SLOW_SECONDS:  # timed again: a shared machine's pause is not the input's
        start = time.process_time()
        try:
            with _deadline(deadline):
                target.call(data, rng)
        except (IcsError, _Deadline):
            pass
        again = time.process_time() - start
        if again > SLOW_SECONDS:
            return "hang", f"took {took:.2f} s, then {again:.2f} s", min(took, again)
        took = again
    return "ok", "", took


def fuzz(
    iterations: int,
    seed: int,
    out: Path,
    *,
    targets: Sequence[str] | None = None,
    deadline: float = 10.0,
    progress: Callable[[str], None] | None = None,
    every: float = 10.0,
    seconds: float | None = None,
) -> Report:
    """``iterations`` mutated inputs spread over ``targets`` (all by default), stopping
    early after ``seconds`` if given."""
    chosen = [TARGETS[name] for name in (targets or list(TARGETS))]
    seeds = {t.name: t.seeds() for t in chosen}
    rng = random.Random(seed)
    report = Report()
    began = last = time.perf_counter()
    for i in range(iterations):
        target = chosen[i % len(chosen)]
        data = mutate(rng.choice(seeds[target.name]), rng)
        report.inputs += 1
        report.calls += 1
        kind, detail, took = run_one(target, data, random.Random(rng.random()), deadline)
        if took > report.slowest:
            report.slowest, report.slowest_target = took, target.name
        if kind != "ok":
            path = _save(out, target.name, kind, data, f"seed {seed}, iteration {i}\n{detail}")
            (report.crashes if kind == "crash" else report.hangs).append(path)
        now = time.perf_counter()
        if seconds is not None and now - began > seconds:
            break
        if progress is not None and now - last >= every:
            last = now
            report.seconds = now - began
            progress(f"[{i + 1}/{iterations}] {report.summary()}")
    report.seconds = time.perf_counter() - began
    return report


def replay(path: Path) -> tuple[str, str, float]:
    """Run a saved reproducer again through its target."""
    name = path.with_suffix(".txt").read_text().split("\n", 1)[0].removeprefix("target ")
    return run_one(TARGETS[name], path.read_bytes(), random.Random(0), 60.0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz.harness", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    parser.add_argument(
        "--target", action="append", choices=sorted(TARGETS), help="repeatable; all by default"
    )
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds before a call is cut")
    parser.add_argument("--seconds", type=float, help="stop after this long (a bounded run)")
    parser.add_argument("--replay", type=Path, help="run one saved reproducer and exit")
    args = parser.parse_args(argv)
    if args.replay is not None:
        kind, detail, took = replay(args.replay)
        print(f"{kind} in {took:.3f} s\n{detail}")
        return 0 if kind == "ok" else 1
    print(f"fuzzing {args.iterations} inputs, seed {args.seed}, findings to {args.out}", flush=True)
    report = fuzz(
        args.iterations,
        args.seed,
        args.out,
        targets=args.target,
        deadline=args.deadline,
        seconds=args.seconds,
        progress=lambda line: print(line, flush=True),
    )
    print(report.summary(), flush=True)
    for path in report.crashes + report.hangs:
        print(f"  {path}")
    return 1 if report.crashes or report.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
