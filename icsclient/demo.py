"""``python -m icsclient demo``: the whole lodgement job on one machine.

It makes a throw-away PKI and a SQLite ledger in a temporary folder, starts the simulated
CCF as a real SMTP server on loopback (its replies go by SMTP into a loopback inbox that
writes a Maildir), lodges a batch of sample air cargo reports, reads the CONTRLs and
CUSRES responses from the Maildir, sends the ICONTRLs, and prints a summary.  Some samples
are deliberately faulty (the simulated ICS rejects them or accepts them with an advice),
one has a faulty envelope (the CONTRL rejects it), and one CONTRL is lost on the way so the
re-send shows.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

import attrs

from .edifact.segment import Segment
from .ics.envelope import build_interchange
from .lodgement import (
    ContrlAccepted,
    ContrlDuplicate,
    ContrlRejected,
    Event,
    LodgementClient,
    ResponseReceived,
    SendEmail,
)
from .store import SqliteStore
from .testing.ccf import Request, SimulatedCCF, SmtpCCF, SmtpInbox, Verdict
from .testing.pki import make_test_pki
from .transport import MaildirReader, SmtpSender

MISSING_CONSIGNOR = ("ERROR", "AC1234", "Consignor name must be supplied")
VAGUE_GOODS = ("ADVICE", "AC5678", "Goods description is vague")


def sample_report(n: int, site: str) -> tuple[str, list[Segment]]:
    """Sample air cargo report ``n`` (an AIRCR, CUSCAR 933).

    Every fifth lacks its consignor (the simulated ICS rejects it); every seventh
    describes its goods only as ``GOODS`` (accepted with an advice).
    """
    reference = f"HAWB{n:06d}"
    body = [
        Segment("BGM", ("933", "", "", "AIRCR"), (reference, "1"), "9"),
        Segment("DTM", ("132", "202611221030", "203")),
        Segment("RFF", ("ABO", reference, "", "1")),
        Segment("RFF", ("AWB", f"081-{10_000_000 + n:08d}")),
        Segment("LOC", "9", "SIN"),
        Segment("LOC", "12", "SYD"),
        Segment("NAD", "CN", ("", "", ""), "BLUE GUM TRADING PTY LTD"),
    ]
    if n % 5 != 4:
        body.append(Segment("NAD", "CZ", ("", "", ""), "O'CONNOR & SONS (EXPORT) PTE"))
    goods = "GOODS" if n % 7 == 6 else f"MACHINE PARTS, {n % 9 + 1} CARTONS"
    body += [
        Segment("GID", "1", (str(n % 9 + 1), "CT")),
        Segment("FTX", "AAA", "", "", goods),
        Segment("MEA", "WT", "AAB", ("KGM", f"{12.5 + n:.1f}")),
    ]
    return "CUSCAR", body


def _verdict(request: Request) -> Verdict | None:
    """The simulated ICS: a report without consignor is rejected, vague goods advised."""
    body = request.message.segments
    if not any(s.tag == "NAD" and s.get(0) == "CZ" for s in body):
        return Verdict.rejected(MISSING_CONSIGNOR)
    if any(s.tag == "FTX" and s.get(3) == "GOODS" for s in body):
        return Verdict.accepted(VAGUE_GOODS)
    return None


@attrs.define
class _Progress:
    """A one-line progress bar on a terminal; a line every tenth of the way otherwise."""

    total: int
    stream: TextIO
    width: int = 30
    _last: int = -1

    def show(self, done: int, label: str) -> None:
        tty = self.stream.isatty()
        tenth = done * 10 // max(self.total, 1)
        if not tty and tenth == self._last and done != self.total:
            return
        self._last = tenth
        filled = self.width * done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        text = f"[{bar}] {done}/{self.total} {label}"
        if tty:
            self.stream.write(f"\r{text}\x1b[K")
            if done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


@attrs.frozen
class DemoResult:
    """What the demo did: the client's summary rows and how the interchanges ended."""

    rows: tuple[tuple[str, int | str], ...]
    settled: bool
    elapsed: float
    folder: str


def demo_dict(result: DemoResult) -> dict[str, object]:
    """The demo's result with fixed keys and numbers (the ``demo --json`` schema)."""
    labels = dict(result.rows)

    def number(*names: str) -> int:
        for name in names:
            value = labels.get(name)
            if isinstance(value, int):
                return value
        return 0

    return {
        "settled": result.settled,
        "elapsed_seconds": round(result.elapsed, 3),
        "counts": {key: number(*names) for key, names in _JSON_KEYS.items()},
    }


_JSON_KEYS: dict[str, tuple[str, ...]] = {
    "lodged": ("lodged",),
    "acknowledged": ("acknowledged",),
    "rejected": ("rejected",),
    "resends": ("resends",),
    "responses_rejected": ("responses rejected",),
    "responses_accepted_with_warnings": ("responses accepted with errors and/or warnings",),
    "responses_accepted": ("responses accepted",),
    "acknowledgements_sent": ("acknowledgements sent",),
    "contrl_accepted": ("CONTRL accepted",),
    "contrl_rejected": ("CONTRL rejected",),
    "contrl_duplicate": ("CONTRL duplicate (after a re-send)",),
}


@contextmanager
def _folder(keep: str | Path | None) -> Iterator[Path]:
    if keep is not None:
        path = Path(keep)
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{path} exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="icsclient-demo-") as tmp:
        yield Path(tmp)


def run_demo(
    count: int = 20,
    *,
    keep: str | Path | None = None,
    progress: TextIO | None = None,
    clock: Callable[[], datetime] | None = None,
) -> DemoResult:
    """Run the demo with ``count`` sample reports; ``keep`` keeps its folder there.

    Progress goes to ``progress`` (default stderr).  Returns the summary; everything runs
    on 127.0.0.1 only.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    started = time.perf_counter()
    stream = progress if progress is not None else sys.stderr
    offset = timedelta(0)
    base_clock = clock or (lambda: datetime.now(timezone.utc))

    def now() -> datetime:  # the demo's clock: real time, moved on to make a re-send due
        return base_clock() + offset

    with _folder(keep) as folder:
        pki = make_test_pki()
        if keep is not None:  # so that the kept e-mails can be opened (icsclient open)
            pki.write(folder / "pki")
        gateway = SimulatedCCF.for_pki(pki, rule=_verdict, clock=now)
        gateway.lose_next("contrl")  # the first CONTRL goes astray: watch the re-send
        inbox = SmtpInbox(maildir=folder / "inbox")
        with SqliteStore(folder / "ledger.sqlite") as store, SmtpCCF(gateway, inbox=inbox) as ccf:
            client = LodgementClient.for_pki(pki, store, clock=now)
            # kept: every e-mail the gateway sent, moved aside once processed
            reader = inbox.reader(processed=folder / "processed") if keep else inbox.reader()
            with ccf.sender() as smtp:
                bar = _Progress(count, stream)
                tally: Counter[str] = Counter()
                client.recover()
                for n in range(count):
                    report = sample_report(n, client.site)
                    if n % 10 == 8:  # a faulty envelope: the CCF's CONTRL rejects it
                        out = client.lodge_built(_miscounted(client, report))
                    else:
                        out = client.lodge(report)
                    smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
                    client.sent(out)
                    _drain(client, reader, smtp, tally)
                    bar.show(n + 1, "lodged")
                # the lost CONTRL: once the client's patience runs out, it sends again
                offset += client.resend_after + timedelta(seconds=1)
                for event in client.due():
                    if isinstance(event, SendEmail):
                        _send(client, smtp, event)
                        tally["resent"] += 1
                _drain(client, reader, smtp, tally)
            summary = client.summary()
    rows: list[tuple[str, int | str]] = list(summary.rows())
    rows.append(("CONTRL accepted", tally["contrl accepted"]))
    if tally["contrl rejected"]:
        rows.append(("CONTRL rejected", tally["contrl rejected"]))
    rows.append(("CONTRL duplicate (after a re-send)", tally["contrl duplicate"]))
    elapsed = time.perf_counter() - started
    rows.append(("elapsed", f"{elapsed:.2f} s"))
    return DemoResult(tuple(rows), summary.settled, elapsed, str(folder))


def _miscounted(
    client: LodgementClient, report: tuple[str, list[Segment]]
) -> Callable[[str], bytes]:
    """A builder of the interchange for ``report`` whose UNT miscounts its segments."""

    def build(icr: str) -> bytes:
        data = build_interchange(
            client.site,
            [report],
            icr,
            recipient=client.gateway_site,
            test=client.test,
            prepared=client.clock(),
        )
        good = f"UNT+{len(report[1]) + 2}+1'".encode()
        return data.replace(good, f"UNT+{len(report[1]) + 3}+1'".encode())

    return build


def _send(client: LodgementClient, smtp: SmtpSender, event: SendEmail) -> None:
    out = event.outgoing
    smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
    client.sent(out)


def _drain(
    client: LodgementClient, reader: MaildirReader, smtp: SmtpSender, tally: Counter[str]
) -> None:
    """Read every e-mail in the inbox; send what the client asks; only then delete it."""
    while True:
        batch = list(reader)
        if not batch:
            return
        for key, raw in batch:
            events: list[Event] = client.receive(raw)
            for event in events:
                if isinstance(event, SendEmail):
                    _send(client, smtp, event)
                    tally["acknowledged"] += 1
                elif isinstance(event, ContrlDuplicate):
                    tally["contrl duplicate"] += 1
                elif isinstance(event, ContrlAccepted):
                    tally["contrl accepted"] += 1
                elif isinstance(event, ContrlRejected):
                    tally["contrl rejected"] += 1
                elif isinstance(event, ResponseReceived):
                    tally[f"response {event.outcome.name}"] += 1
            reader.done(key)


def print_summary(result: DemoResult, out: TextIO) -> None:
    """The demo's summary table."""
    width = max(len(label) for label, _ in result.rows)
    print("\nicsclient demo: lodgement through the simulated CCF over loopback SMTP", file=out)
    print("-" * (width + 12), file=out)
    for label, value in result.rows:
        print(f"{label:<{width}}  {value:>8}", file=out)
    print("-" * (width + 12), file=out)
    verdict = "every interchange reached a final state" if result.settled else "NOT SETTLED"
    print(verdict, file=out)
