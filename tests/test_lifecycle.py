"""Whole lodgement lifecycles: LodgementClient against the simulated CCF.

In-process (the gateway is a function call) and over loopback SMTP (aiosmtpd servers, the
replies read from a Maildir), with e-mails lost on the way, responses out of order, a
restart in the middle, and a gateway that never answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from icsclient.edifact import Segment, parse_interchange
from icsclient.errors import BuildError
from icsclient.ics import build_interchange
from icsclient.ics.cusres import Outcome
from icsclient.lodgement import (
    AcknowledgementToSend,
    ContrlAccepted,
    ContrlDuplicate,
    ContrlRejected,
    DuplicateReceived,
    Event,
    GaveUp,
    LodgementClient,
    Outgoing,
    ResendDue,
    ResponseReceived,
    SendEmail,
    Superseded,
)
from icsclient.store import MemoryStore, OutboxState, SqliteStore, Store
from icsclient.testing.ccf import ManualClock, Request, SimulatedCCF, SmtpCCF, SmtpInbox, Verdict
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

RESEND = timedelta(minutes=30)


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


@pytest.fixture
def clock(pki: ThrowawayPKI) -> ManualClock:
    return ManualClock(pki.now)


@pytest.fixture
def gateway(pki: ThrowawayPKI, clock: ManualClock) -> SimulatedCCF:
    return SimulatedCCF.for_pki(pki, clock=clock, resend_after=RESEND, max_resends=3)


@pytest.fixture
def store() -> Store:
    return MemoryStore()


@pytest.fixture
def client(pki: ThrowawayPKI, store: Store, clock: ManualClock) -> LodgementClient:
    return LodgementClient.for_pki(pki, store, clock=clock, resend_after=RESEND, max_attempts=3)


def report(ref: str, version: str = "1") -> tuple[str, list[Segment]]:
    """An air cargo report (CUSCAR AIRCR) with sender reference ``ref``."""
    return (
        "CUSCAR",
        [
            Segment("BGM", ("933", "", "", "AIRCR"), (ref, version), "9"),
            Segment("RFF", ("ABO", ref, "", version)),
            Segment("TDT", "20", "QF1", "4"),
        ],
    )


class MailLoop:
    """Moves e-mails between a client and an in-process gateway, as a demo loop would.

    ``drop`` decides, per outgoing e-mail, whether it is lost on the way to the gateway.
    Every event the client produced is kept in ``events``.
    """

    def __init__(self, client: LodgementClient, gateway: SimulatedCCF) -> None:
        self.client, self.gateway = client, gateway
        self.inbox: list[bytes] = []
        self.events: list[Event] = []
        self.drop: Any = lambda out: False

    def send(self, out: Outgoing) -> None:
        if not self.drop(out):
            self.inbox.extend(self.gateway.receive(out.email))
        self.client.sent(out)

    def handle(self, events: list[Event]) -> None:
        self.events.extend(events)
        for event in events:
            if isinstance(event, SendEmail):
                self.send(event.outgoing)

    def deliver(self) -> None:
        while self.inbox:
            self.handle(self.client.receive(self.inbox.pop(0)))

    def lodge(self, *messages: tuple[str, list[Segment]]) -> Outgoing:
        out = self.client.lodge(list(messages))
        self.send(out)
        return out

    def later(self, delta: timedelta = RESEND) -> None:
        """Let ``delta`` pass: the gateway's re-sends arrive, the client's are due."""
        self.gateway.clock.advance(delta)  # type: ignore[attr-defined]
        self.inbox.extend(self.gateway.tick())
        self.deliver()
        self.handle(self.client.due())
        self.deliver()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def no_violations(gateway: SimulatedCCF) -> None:
    assert gateway.events("violation") == [] and gateway.events("unmatched-acknowledgement") == []
    assert gateway.dropped == []


def rule(request: Request) -> Verdict | None:
    if request.sender_reference == "BAD1":
        return Verdict.rejected(("ERROR", "AC1234", "The flight is not known"))
    if request.sender_reference == "WARN1":
        return Verdict.accepted(("WARNING", "AC2000", "The weight looks high"))
    return None


def test_round_trips_in_process(
    client: LodgementClient, gateway: SimulatedCCF, store: Store
) -> None:
    gateway.rule = rule
    loop = MailLoop(client, gateway)
    refs = ["HAWB1", "BAD1", "HAWB2", "WARN1", "HAWB3"]
    for ref in refs:
        loop.lodge(report(ref))
        loop.deliver()

    assert len(loop.of(ContrlAccepted)) == 5
    responses = {e.sender_reference: e.outcome for e in loop.of(ResponseReceived)}
    assert responses == {
        "HAWB1": Outcome.ACCEPTED,
        "BAD1": Outcome.REJECTED,
        "HAWB2": Outcome.ACCEPTED,
        "WARN1": Outcome.ACCEPTED_WITH_WARNINGS,
        "HAWB3": Outcome.ACCEPTED,
    }
    bad = next(e for e in loop.of(ResponseReceived) if e.sender_reference == "BAD1")
    assert "The flight is not known" in bad.response.explain()
    # every response acknowledged once, with an interchange of our own
    assert len(gateway.events("acknowledged")) == 5 and gateway.pending == []
    assert [e.outgoing.icr for e in loop.of(AcknowledgementToSend)] == ["2", "4", "6", "8", "10"]
    no_violations(gateway)
    assert store.unacknowledged() == [] and store.unprocessed() == []

    summary = client.summary()
    assert summary.lodged == 5 and summary.settled and summary.resends == 0
    assert summary.count(OutboxState.ACKNOWLEDGED) == 5
    assert summary.responses == {
        Outcome.ACCEPTED: 3,
        Outcome.REJECTED: 1,
        Outcome.ACCEPTED_WITH_WARNINGS: 1,
    }
    assert summary.acknowledgements_sent == 5
    loop.later(4 * RESEND)
    assert gateway.events("resent") == [] and loop.of(ResendDue) == []


def test_a_lost_contrl_is_answered_by_a_resend_and_a_duplicate_report(
    client: LodgementClient, gateway: SimulatedCCF, store: Store
) -> None:
    loop = MailLoop(client, gateway)
    gateway.lose_next("contrl")
    out = loop.lodge(report("HAWB1"))
    loop.deliver()
    assert loop.of(ContrlAccepted) == [] and len(loop.of(ResponseReceived)) == 1

    loop.later()
    (resend,) = loop.of(ResendDue)
    assert resend.outgoing.icr == out.icr and resend.outgoing.email == out.email
    (duplicate,) = loop.of(ContrlDuplicate)
    assert duplicate.icr == out.icr and duplicate.report.error == 26
    entry = store.get_outbox(client.site, out.icr)
    assert entry is not None and entry.state is OutboxState.ACKNOWLEDGED and entry.attempts == 2
    assert len(gateway.processed) == 1  # the CCF did not process the re-send
    assert len(loop.of(ResponseReceived)) == 1
    assert gateway.events("duplicate")[0].icr == out.icr
    no_violations(gateway)
    assert client.summary().resends == 1


def test_a_lost_icontrl_brings_the_response_again_acknowledged_not_delivered(
    client: LodgementClient, gateway: SimulatedCCF, store: Store
) -> None:
    loop = MailLoop(client, gateway)
    loop.drop = lambda out: out.kind.value == "acknowledgement" and not loop.of(DuplicateReceived)
    loop.lodge(report("HAWB1"))
    loop.deliver()
    assert gateway.pending  # the gateway never saw our ICONTRL

    loop.later()
    assert len(gateway.events("resent")) == 1
    (duplicate,) = loop.of(DuplicateReceived)
    assert duplicate.acknowledged_again
    first, second = loop.of(AcknowledgementToSend)
    assert first.icr == second.icr and first.outgoing.icr != second.outgoing.icr
    assert len(loop.of(ResponseReceived)) == 1
    assert gateway.pending == [] and len(gateway.events("acknowledged")) == 1
    assert store.unacknowledged() == []
    no_violations(gateway)


def test_a_lost_response_arrives_with_the_gateways_resend(
    client: LodgementClient, gateway: SimulatedCCF
) -> None:
    loop = MailLoop(client, gateway)
    gateway.lose_next("response")
    loop.lodge(report("HAWB1"))
    loop.deliver()
    assert len(loop.of(ContrlAccepted)) == 1 and loop.of(ResponseReceived) == []
    loop.later()
    assert len(loop.of(ResponseReceived)) == 1 and gateway.pending == []
    assert loop.of(ResendDue) == []  # our interchange was acknowledged: nothing to re-send


def test_responses_out_of_order_end_with_the_newest_standing(
    client: LodgementClient, gateway: SimulatedCCF, clock: ManualClock
) -> None:
    gateway.rule = lambda r: (
        Verdict.accepted(("WARNING", "AC2000", "v2")) if r.version == "2" else None
    )
    loop = MailLoop(client, gateway)
    loop.lodge(report("HAWB1", "1"))
    first_replies, loop.inbox = loop.inbox, []
    clock.advance(minutes=5)
    loop.lodge(report("HAWB1", "2"))
    loop.deliver()  # version 2's CONTRL and response arrive first
    loop.inbox = first_replies
    loop.deliver()  # then version 1's

    delivered = loop.of(ResponseReceived)
    assert [e.sender_version for e in delivered] == ["2"]
    (superseded,) = loop.of(Superseded)
    assert superseded.ignored and superseded.reason == "later UNB date/time"
    assert client.summary().responses == {Outcome.ACCEPTED_WITH_WARNINGS: 1}
    assert len(gateway.events("acknowledged")) == 2  # both acknowledged all the same
    no_violations(gateway)


def test_a_faulty_interchange_is_rejected_by_contrl(
    client: LodgementClient, gateway: SimulatedCCF, store: Store
) -> None:
    def faulty(icr: str) -> bytes:  # the UNT segment count says 9 instead of 5
        good = build_interchange(client.site, [report("HAWB1")], icr, prepared=gateway.clock())
        return good.replace(b"UNT+5+1'", b"UNT+9+1'")

    loop = MailLoop(client, gateway)
    out = client.lodge_built(faulty)
    loop.send(out)
    loop.deliver()
    (rejected,) = loop.of(ContrlRejected)
    assert rejected.icr == out.icr and rejected.state is OutboxState.REJECTED
    assert rejected.rejected_messages == ("1",)
    assert any("control count does not match" in line for line in rejected.errors)
    assert loop.of(ResponseReceived) == [] and gateway.processed == []
    summary = client.summary()
    assert summary.settled and summary.count(OutboxState.REJECTED) == 1


def test_lodge_built_checks_the_envelope_start(client: LodgementClient, store: Store) -> None:
    with pytest.raises(BuildError):
        client.lodge_built(lambda icr: build_interchange("AAA999Z", [report("X")], icr))
    with pytest.raises(BuildError):
        client.lodge_built(lambda icr: build_interchange(client.site, [report("X")], 77))
    with pytest.raises(BuildError):
        client.lodge_built(lambda icr: b"UNH+1+CUSCAR:D:99B:UN'")
    assert store.outbox() == [] and store.peek_icr(client.site) == 1


def test_a_silent_gateway_is_given_up_on(
    client: LodgementClient, gateway: SimulatedCCF, store: Store
) -> None:
    loop = MailLoop(client, gateway)
    loop.drop = lambda out: True
    out = loop.lodge(report("HAWB1"))
    for _ in range(3):
        loop.later()
    assert len(loop.of(ResendDue)) == 2
    (gave_up,) = loop.of(GaveUp)
    assert (gave_up.icr, gave_up.attempts) == (out.icr, 3)
    summary = client.summary()
    assert summary.settled and summary.count(OutboxState.GAVE_UP) == 1 and summary.resends == 2


def test_a_restart_between_storing_and_acknowledging(
    pki: ThrowawayPKI, gateway: SimulatedCCF, clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.db"
    with SqliteStore(path) as store:
        before = LodgementClient.for_pki(pki, store, clock=clock)
        out = before.lodge(report("HAWB1"))
        contrl, response = gateway.receive(out.email)
        before.sent(out)
        before.receive(contrl)
        events = before.receive(response)
        assert [type(e) for e in events] == [AcknowledgementToSend, ResponseReceived]
        # the process dies before the ICONTRL goes out

    with SqliteStore(path) as store:
        after = LodgementClient.for_pki(pki, store, clock=clock)
        loop = MailLoop(after, gateway)
        loop.handle(after.recover())
        (ack,) = loop.of(AcknowledgementToSend)
        assert ack.outgoing.email == events[0].outgoing.email  # type: ignore[attr-defined]
        assert loop.of(ResponseReceived) == []  # delivered before the crash: not again
        assert gateway.pending == [] and store.unacknowledged() == []
        assert after.recover() == []
        assert after.summary().settled
    no_violations(gateway)


# ---------------------------------------------------------------------- loopback SMTP


@pytest.fixture
def smtp_gateway(gateway: SimulatedCCF, tmp_path: Path) -> Iterator[SmtpCCF]:
    with SmtpCCF(gateway, inbox=SmtpInbox(tmp_path / "inbox")) as server:
        yield server


def test_round_trips_over_loopback_smtp(
    pki: ThrowawayPKI, smtp_gateway: SmtpCCF, clock: ManualClock, tmp_path: Path
) -> None:
    gateway = smtp_gateway.gateway
    gateway.rule = rule
    gateway.lose_next("contrl")
    assert smtp_gateway.inbox is not None
    reader = smtp_gateway.inbox.reader()
    events: list[Event] = []
    with SqliteStore(tmp_path / "ledger.db") as store, smtp_gateway.sender() as smtp:
        client = LodgementClient.for_pki(pki, store, clock=clock, resend_after=RESEND)

        def send(out: Outgoing) -> None:
            smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
            client.sent(out)

        def read_mailbox() -> None:
            for key, raw in reader:
                received = client.receive(raw)
                reader.done(key)  # only now: the client has stored it
                events.extend(received)
                for event in received:
                    if isinstance(event, SendEmail):
                        send(event.outgoing)

        for ref in ("HAWB1", "BAD1", "HAWB2"):
            send(client.lodge(report(ref)))
        read_mailbox()
        clock.advance(RESEND)
        for event in client.due():
            assert isinstance(event, ResendDue)
            send(event.outgoing)
        read_mailbox()

        assert len(reader) == 0
        kinds = [type(e).__name__ for e in events]
        assert kinds.count("ContrlAccepted") == 2 and kinds.count("ContrlDuplicate") == 1
        outcomes = sorted(e.outcome.value for e in events if isinstance(e, ResponseReceived))
        assert outcomes == ["accepted", "accepted", "rejected"]
        summary = client.summary()
        assert summary.settled and summary.lodged == 3 and summary.resends == 1
        assert store.unacknowledged() == []
    assert len(gateway.events("acknowledged")) == 3 and gateway.pending == []
    assert smtp_gateway.delivery_errors == []
    no_violations(gateway)
    assert all(parse_interchange(s.interchange).recipient == pki.client_site for s in gateway.sent)


def test_the_summary_is_the_same_after_a_restart(
    pki: ThrowawayPKI, gateway: SimulatedCCF, clock: ManualClock, tmp_path: Path
) -> None:
    gateway.rule = lambda r: (
        Verdict.accepted(("WARNING", "AC2000", "v2")) if r.version == "2" else rule(r)
    )
    path = tmp_path / "ledger.db"
    with SqliteStore(path) as store:
        before = LodgementClient.for_pki(pki, store, clock=clock, resend_after=RESEND)
        loop = MailLoop(before, gateway)
        loop.lodge(report("BAD1"))
        loop.deliver()
        loop.lodge(report("HAWB1", "1"))
        first_replies, loop.inbox = loop.inbox, []
        clock.advance(minutes=5)
        loop.lodge(report("HAWB1", "2"))
        loop.deliver()
        loop.inbox = first_replies
        loop.deliver()  # version 1's response arrives late: superseded
        gateway.lose_next("contrl")
        loop.lodge(report("HAWB2"))
        loop.deliver()
        loop.later()  # the re-send brings a duplicate report
        before.receive(b"Subject: not for us\r\n\r\nhello\r\n")
        summary = before.summary()
    assert summary.superseded == 1 and summary.open_failures == 1 and summary.resends == 1
    assert summary.responses == {
        Outcome.REJECTED: 1,
        Outcome.ACCEPTED_WITH_WARNINGS: 1,
        Outcome.ACCEPTED: 1,
    }
    with SqliteStore(path) as store:
        after = LodgementClient.for_pki(pki, store, clock=clock, resend_after=RESEND)
        assert after.summary() == summary
