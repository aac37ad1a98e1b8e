"""Crash safety: lodging processes killed with SIGKILL at any point, then restarted.

Forked children share one SQLite ledger.  Each recovers what its predecessor left (and
"sends" what recovery offers), then lodges interchanges and receives responses and CONTRLs
(prepared by the gateway's test credentials) until it is killed: at random moments, and
deterministically just before or just after each ledger write.  A last recovery runs here
and then the ledger must show that:

- no ICR was used twice and none was skipped (the outbox holds exactly 1..n, the sequence
  is at n + 1, every interchange carries the ICR it is filed under);
- nothing lodged was lost (every ICR a child reported lodged is in the outbox, and nothing
  is left queued: recovery offered it);
- every interchange received was acknowledged (an ICONTRL sent for it) and read, including
  those stored just before a kill; and no ICONTRL acknowledges anything not stored;
- nothing was left stored but unread (storing and reading are one commit).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from icsclient.edifact import Segment, iter_segments, parse_interchange
from icsclient.ics import CCF_SITE, build_interchange
from icsclient.ics.contrl import build_contrl_interchange
from icsclient.lodgement import Event, LodgementClient, SendEmail
from icsclient.mail import compose_email, open_email
from icsclient.store import OutboxState, SqliteStore
from icsclient.testing.ccf import ManualClock
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
    pytest.mark.skipif(
        "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()"
    ),
]

WRITES = (
    "allocate_and_record",
    "mark_sent",
    "mark_state",
    "record_attempt",
    "store_received",
    "mark_acknowledged",
    "mark_processed",
    "set_meta",
    "quarantine",
    "set_email",
)


class DyingStore(SqliteStore):
    """A SQLite ledger whose process kills itself at step ``kill_at``.

    Steps are counted just before and just after each write, so every gap between two
    writes of the client is a place to die.
    """

    def __init__(self, path: Path, kill_at: int) -> None:
        super().__init__(path)
        self.kill_at = kill_at
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        if self.steps == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


def _dying(name: str) -> Callable[..., Any]:
    def write(self: DyingStore, *args: Any, **kwargs: Any) -> Any:
        self.step()
        result = getattr(SqliteStore, name)(self, *args, **kwargs)
        self.step()
        return result

    write.__name__ = name
    return write


for _name in WRITES:
    setattr(DyingStore, _name, _dying(_name))


def report(ref: str) -> tuple[str, list[Segment]]:
    return ("CUSCAR", [Segment("BGM", ("933", "", "", "AIRCR"), (ref, "1"), "9")])


def from_gateway(pki: ThrowawayPKI, data: bytes) -> bytes:
    return compose_email(
        data,
        signer=pki.gateway,
        gateway=pki.client.certificate,
        mail_from=pki.gateway_email,
        mail_to=pki.client_email,
        date=pki.now,
        validate=False,
    )


def responses(pki: ThrowawayPKI, count: int) -> list[tuple[str, bytes]]:
    """``count`` CUSRES e-mails from the gateway, with their ICRs."""
    out = []
    for n in range(1, count + 1):
        icr = f"{n:014d}"
        body = [
            Segment("BGM", ("962", "", "", "AIRCRR"), (f"T{n}", "1"), "11"),
            Segment("RFF", ("ABO", f"REF{n}", "", "1")),
        ]
        data = build_interchange(
            CCF_SITE, [("CUSRES", body)], icr, recipient=pki.client_site, prepared=pki.now
        )
        out.append((icr, from_gateway(pki, data)))
    return out


def _handle(client: LodgementClient, events: list[Event]) -> None:
    for event in events:
        if isinstance(event, SendEmail):
            client.sent(event.outgoing)  # "sending" always works here


def _lodger(
    pki: ThrowawayPKI,
    path: Path,
    mails: list[tuple[str, bytes]],
    log: Path,
    kill_at: int | None,
    seed: int,
    steps: int,
) -> None:
    """A child: recover, then lodge and receive, logging each completed action."""
    store = SqliteStore(path) if kill_at is None else DyingStore(path, kill_at)
    client = LodgementClient.for_pki(pki, store, clock=ManualClock(pki.now))
    rng = random.Random(seed)
    with open(log, "a", buffering=1) as out:
        _handle(client, client.recover())
        for n in range(steps):
            choice = rng.random()
            waiting = [(icr, m) for icr, m in mails if store.get_inbox(CCF_SITE, icr) is None]
            if choice < 0.3 and waiting:
                icr, mail = waiting[0]
                events = client.receive(mail)
                out.write(f"received {icr}\n")
                _handle(client, events)
            elif choice < 0.4 and waiting:  # what waits, taken together: one commit
                taken = waiting[:3]
                batch = client.receive_many([mail for _, mail in taken])
                for (icr, _), events in zip(taken, batch, strict=True):
                    out.write(f"received {icr}\n")
                    _handle(client, events)
            elif choice < 0.6 and store.outbox(OutboxState.SENT):
                awaiting = store.outbox(OutboxState.SENT)[-1]
                answer = build_contrl_interchange(
                    parse_interchange(awaiting.interchange),
                    [],
                    icr=f"{90000 + seed * 1000 + n:014d}",
                    prepared=pki.now,
                )
                _handle(client, client.receive(from_gateway(pki, answer)))
            elif choice < 0.8:
                lodged = client.lodge(report(f"R{seed}-{n}"))
                out.write(f"lodged {lodged.icr}\n")
                client.sent(lodged)
            else:
                several = client.lodge_many([report(f"R{seed}-{n}-{k}") for k in range(3)])
                for lodged in several:
                    out.write(f"lodged {lodged.icr}\n")
                for lodged in several:
                    client.sent(lodged)
    store.close()


def _run(ctx: Any, *args: Any, kill_after: float | None = None) -> int | None:
    child = ctx.Process(target=_lodger, args=args)
    child.start()
    if kill_after is not None:
        time.sleep(kill_after)
        os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert not child.is_alive()
    return child.exitcode  # type: ignore[no-any-return]


def _left_behind(path: Path, seen: dict[str, int]) -> None:
    """Count what a killed child left for the next one to recover."""
    with SqliteStore(path) as store:
        seen["unacknowledged"] += len(store.unacknowledged())
        seen["unprocessed"] += len(store.unprocessed())
        seen["queued"] += len(store.outbox(OutboxState.QUEUED))


def _ucis(interchange: bytes) -> list[tuple[str, str]]:
    return [(s.get(1, 0), s.get(0, 0)) for s in iter_segments(interchange) if s.tag == "UCI"]


def test_sigkill_at_any_point_loses_nothing_and_reuses_nothing(tmp_path: Path) -> None:
    pki = make_test_pki()
    path, log = tmp_path / "ledger.db", tmp_path / "actions.log"
    mails = responses(pki, 40)
    SqliteStore(path).close()  # create the file before the children race for it
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(20240102)
    killed = 0
    seen = {"unacknowledged": 0, "unprocessed": 0, "queued": 0}
    for kill_at in range(1, 41):  # deterministic: before/after each write of a short run
        code = _run(ctx, pki, path, mails, log, kill_at, kill_at, 6)
        killed += code == -signal.SIGKILL
        assert code in (0, -signal.SIGKILL)
        _left_behind(path, seen)
    for seed in range(100, 112):  # random moments, inside writes and the crypto too
        pause = rng.uniform(0.01, 0.25)
        code = _run(ctx, pki, path, mails, log, None, seed, 10_000, kill_after=pause)
        assert code == -signal.SIGKILL
        killed += 1
        _left_behind(path, seen)
    assert killed >= 40
    # the kills did leave half-done work behind for the next process to finish: ICONTRLs
    # recorded but not sent, lodgements queued but not sent.  An interchange is stored,
    # acknowledged (ICONTRL recorded) and read in one commit, so none is ever left
    # stored but unread.
    assert seen["unacknowledged"] > 0 and seen["queued"] > 0, seen
    assert seen["unprocessed"] == 0, seen

    with SqliteStore(path) as store:
        client = LodgementClient.for_pki(pki, store, clock=ManualClock(pki.now))
        offered = client.recover()
        _handle(client, offered)
        assert client.recover() == []
        lines = log.read_text().split("\n")
        lodged = {line.split()[1] for line in lines if line.startswith("lodged ")}
        received = {line.split()[1] for line in lines if line.startswith("received ")}

        # no ICR used twice, none skipped
        entries = store.outbox()
        numbers = sorted(int(e.icr) for e in entries)
        assert numbers == list(range(1, len(entries) + 1))
        assert store.peek_icr(pki.client_site) == len(entries) + 1
        for entry in entries:
            assert parse_interchange(entry.interchange).control_reference == entry.icr
            assert entry.email is not None
            opened = open_email(entry.email, recipient=pki.gateway, trust=pki.trust_for_gateway())
            assert opened.control_reference == entry.icr

        # nothing lodged lost; nothing left queued
        assert lodged and lodged <= {e.icr for e in entries}
        assert store.outbox(OutboxState.QUEUED) == []

        # everything received acknowledged and read; no acknowledgement without storage
        inbox = [store.get_inbox(CCF_SITE, icr) for icr, _ in mails]
        stored = {e.icr for e in inbox if e is not None}
        assert received <= stored and len(stored) >= 10
        assert store.unacknowledged() == [] and store.unprocessed() == []
        icontrls = [e for e in entries if b"CONTRL:D:3:UN" in e.interchange]
        acknowledged = [pair for e in icontrls for pair in _ucis(e.interchange)]
        assert {icr for _, icr in acknowledged} == stored
        assert all(sender == CCF_SITE for sender, _ in acknowledged)
        assert all(e.state is OutboxState.ACKNOWLEDGED and e.last_sent for e in icontrls)
        assert client.summary().lodged == len(entries) - len(icontrls)
