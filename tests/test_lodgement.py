"""The sans-I/O lodgement client (icsclient.lodgement): lodging, receiving, resending, recovery.

Replies are built here from the gateway's test credentials (CONTRL with
``build_contrl_interchange``, CUSRES interchanges by hand, ``compose_email`` signed by the
gateway), or taken from the simulated CCF where its behaviour is what is being relied on.
Full round trips live in ``test_lifecycle.py``; crashes in ``test_crash.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from icsclient import lodgement
from icsclient.edifact import Segment, parse_interchange
from icsclient.edifact.envelope import Finding, Message
from icsclient.errors import BuildError, StoreError
from icsclient.ics import CCF_SITE, build_interchange
from icsclient.ics.contrl import build_contrl_interchange
from icsclient.ics.cusres import Outcome
from icsclient.lodgement import (
    ICONTRL_DETAIL,
    AcknowledgementToSend,
    ContrlAccepted,
    ContrlDuplicate,
    ContrlRejected,
    ContrlUnmatched,
    DuplicateReceived,
    Event,
    GaveUp,
    LodgementClient,
    NotUnderstood,
    OpenFailed,
    OutgoingKind,
    PendingSend,
    PlainTextReceived,
    ResendDue,
    ResponseReceived,
    SendEmail,
    Superseded,
)
from icsclient.mail import compose_email, open_email
from icsclient.smime import Credentials, sign_and_encrypt
from icsclient.store import MemoryStore, OutboxState, SqliteStore, Store
from icsclient.testing.ccf import ManualClock, SimulatedCCF
from icsclient.testing.pki import ThrowawayPKI, make_test_pki

T0 = datetime(2024, 1, 2, 3, 0, tzinfo=timezone.utc)
SITE = "AAA676Y"
RESEND = timedelta(minutes=30)


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki(now=T0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "l.db")
    with s:
        yield s


def make_client(
    pki: ThrowawayPKI, store: Store, clock: ManualClock, **options: Any
) -> LodgementClient:
    return LodgementClient.for_pki(pki, store, clock=clock, resend_after=RESEND, **options)


@pytest.fixture
def client(pki: ThrowawayPKI, store: Store, clock: ManualClock) -> LodgementClient:
    return make_client(pki, store, clock)


@pytest.fixture
def ccf(pki: ThrowawayPKI, clock: ManualClock) -> SimulatedCCF:
    return SimulatedCCF.for_pki(pki, clock=clock)


def report(ref: str = "HAWB1", version: str = "1") -> tuple[str, list[Segment]]:
    """An air cargo report (CUSCAR AIRCR) with sender reference ``ref``."""
    return (
        "CUSCAR",
        [
            Segment("BGM", ("933", "", "", "AIRCR"), (ref, version), "9"),
            Segment("RFF", ("ABO", ref, "", version)),
        ],
    )


def from_gateway(pki: ThrowawayPKI, data: bytes, signer: Credentials | None = None) -> bytes:
    """``data`` as the CCF e-mails it to the client."""
    return compose_email(
        data,
        signer=signer or pki.gateway,
        gateway=pki.client.certificate,
        mail_from=pki.gateway_email,
        mail_to=pki.client_email,
        date=T0,
        validate=False,
    )


def cusres(
    icr: int,
    ref: str = "HAWB1",
    *,
    prepared: datetime = T0,
    code: str = "MS5203",
    text: str = "Report accepted",
    recipient: str = SITE,
) -> bytes:
    """A CUSRES interchange from the CCF answering report ``ref``."""
    body = [
        Segment("BGM", ("962", "", "", "AIRCRR"), (f"AIRCR-{ref}", "1"), "11"),
        Segment("RFF", ("ACW", "AIRCR")),
        Segment("RFF", ("ABO", ref, "", "1")),
        Segment("NAD", "MR", recipient),
        Segment("ERP", "1"),
        Segment("ERC", ("ADVICE", "80", "95")),
        Segment("ERC", (code, "6", "95")),
        Segment("FTX", "AAO", "", "", text),
        Segment("CNT", ("55", "1")),
    ]
    return build_interchange(
        CCF_SITE, [("CUSRES", body)], f"{icr:014d}", recipient=recipient, prepared=prepared
    )


def contrl(lodged: bytes, icr: int, findings: list[Finding] | None = None) -> bytes:
    """The CCF's CONTRL interchange for our ``lodged`` interchange."""
    return build_contrl_interchange(
        parse_interchange(lodged), findings or [], icr=f"{icr:014d}", prepared=T0
    )


def of(events: list[Event], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def send_all(client: LodgementClient, events: list[Event]) -> list[bytes]:
    """ "Send" every e-mail the events ask for; return them."""
    out = []
    for event in events:
        if isinstance(event, SendEmail):
            out.append(event.outgoing.email)
            client.sent(event.outgoing)
    return out


def _watch(client: LodgementClient, store: SqliteStore) -> tuple[list[str], list[str]]:
    """The ICRs of the interchanges ``client`` composes, and the SQL ``store`` runs."""
    composed: list[str] = []
    compose = client._compose

    def counting(interchange: bytes, now: datetime) -> bytes:
        composed.append(parse_interchange(interchange).control_reference)
        return compose(interchange, now)

    client._compose = counting  # type: ignore[method-assign]
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    return composed, statements


# ---------------------------------------------------------------------- lodging


def test_lodge_records_the_interchange_queued_and_sent_starts_the_wait(
    client: LodgementClient, store: Store, pki: ThrowawayPKI, clock: ManualClock
) -> None:
    out = client.lodge(report())
    assert (out.site, out.icr, out.kind, out.attempt) == (SITE, "1", OutgoingKind.LODGEMENT, 1)
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.QUEUED
    assert entry.email == out.email and entry.interchange == out.interchange

    opened = open_email(out.email, recipient=pki.gateway, trust=pki.trust_for_gateway())
    assert opened.interchange == out.interchange
    assert opened.subject.text == "AAA676Y_1_AAA336C"
    parsed = parse_interchange(out.interchange)
    assert (parsed.sender, parsed.recipient, parsed.control_reference) == (SITE, CCF_SITE, "1")
    assert parsed.ack_requested and not parsed.test

    clock.advance(minutes=1)
    client.sent(out)
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.SENT and entry.attempts == 1
    assert entry.next_resend == clock.now + RESEND


def test_several_lodgements_take_consecutive_icrs_with_one_commit(
    pki: ThrowawayPKI, clock: ManualClock, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "l.db")
    client = make_client(pki, store, clock)
    client.lodge(report("HAWB0"))
    composed, statements = _watch(client, store)
    outs = client.lodge_many([report("HAWB1"), [report("HAWB2"), report("HAWB3")], report("HAWB4")])
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    assert composed == ["2", "3", "4"]  # built ahead, each once, for the ICR it got
    assert [o.icr for o in outs] == ["2", "3", "4"]
    assert {o.kind for o in outs} == {OutgoingKind.LODGEMENT}
    for out, refs in zip(outs, (["HAWB1"], ["HAWB2", "HAWB3"], ["HAWB4"]), strict=True):
        parsed = parse_interchange(out.interchange)
        assert parsed.control_reference == out.icr
        assert [m.segments[0].get(1, 0) for m in parsed.messages] == refs
        entry = store.get_outbox(SITE, out.icr)
        assert entry is not None and entry.email == out.email
        assert entry.state is OutboxState.QUEUED and entry.message_count == len(refs)
    assert client.lodge_many([]) == [] and store.peek_icr(SITE) == 5
    store.close()


def test_a_batch_that_cannot_be_lodged_uses_no_icr(client: LodgementClient, store: Store) -> None:
    unsendable = ("CUSCAR", [Segment("BGM", ("933", "", "", "AIRCR"), ("Ω", "1"), "9")])
    for bad in (("CONTRL", [Segment("UCI", "1")]), unsendable):
        with pytest.raises(BuildError):
            client.lodge_many([report("HAWB1"), bad, report("HAWB2")])
        assert store.outbox() == [] and store.peek_icr(SITE) == 1
    assert [o.icr for o in client.lodge_many([report("HAWB1"), report("HAWB2")])] == ["1", "2"]


def test_icrs_follow_the_ledger_sequence(client: LodgementClient, store: Store) -> None:
    assert [client.lodge(report(f"R{i}")).icr for i in range(3)] == ["1", "2", "3"]
    assert store.peek_icr(SITE) == 4


def test_padded_icrs_and_test_indicator(
    pki: ThrowawayPKI, store: Store, clock: ManualClock
) -> None:
    client = make_client(pki, store, clock, pad=True, test=True)
    out = client.lodge(report())
    assert out.icr == "00000000000001"
    assert parse_interchange(out.interchange).test


@pytest.mark.parametrize("form", ["message", "pair", "pairs", "bytes", "interchange"])
def test_lodge_takes_messages_or_an_interchange(client: LodgementClient, form: str) -> None:
    pair = report("A")
    other = build_interchange(SITE, [pair, report("B")], 777, prepared=T0)
    source: Any = {
        "message": Message.create("9", "CUSCAR", pair[1]),
        "pair": pair,
        "pairs": [pair, report("B")],
        "bytes": other,
        "interchange": parse_interchange(other),
    }[form]
    out = client.lodge(source)
    parsed = parse_interchange(out.interchange)
    assert parsed.control_reference == "1"  # the ledger's ICR, never the caller's
    assert [m.reference for m in parsed.messages] == ["1", "2"][: len(parsed.messages)]
    assert parsed.messages[0].segments == tuple(pair[1])


@pytest.mark.parametrize(
    "bad",
    [
        [],
        ("CONTRL", [Segment("UCI", "1", "AAA336C", SITE, "8")]),
        build_interchange("AAA999Z", [report()], 5, prepared=T0),
        [("CUSCAR", [Segment("FTX", "AAA", "", "", "caf\u00e9 \u20ac")])],
    ],
    ids=["nothing", "contrl", "another-site", "not-latin-1"],
)
def test_what_cannot_be_lodged_uses_no_icr(client: LodgementClient, store: Store, bad: Any) -> None:
    with pytest.raises(BuildError):
        client.lodge(bad)
    assert store.peek_icr(SITE) == 1 and store.outbox() == []


# ---------------------------------------------------------------------- CONTRL


def test_an_accepted_contrl_acknowledges_our_interchange(
    client: LodgementClient, store: Store, ccf: SimulatedCCF
) -> None:
    out = client.lodge(report())
    client.sent(out)
    contrl_mail, _response = ccf.receive(out.email)
    events = client.receive(contrl_mail)
    assert [type(e) for e in events] == [ContrlAccepted]
    event = events[0]
    assert isinstance(event, ContrlAccepted)
    assert (event.site, event.icr, event.state) == (SITE, "1", OutboxState.ACKNOWLEDGED)
    assert event.report.accepted and "accepted" in event.explanation
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.ACKNOWLEDGED
    assert entry.next_resend is None
    inbox = store.get_inbox(CCF_SITE, event.contrl_icr)
    # a CONTRL needs no acknowledgement: it is marked so, and nothing is sent back
    assert inbox is not None and inbox.acknowledged and inbox.processed
    assert inbox.kind == "CONTRL"


def test_a_contrl_before_sent_is_not_undone_by_sent(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    out = client.lodge(report())
    client.receive(from_gateway(pki, contrl(out.interchange, 1)))
    client.sent(out)
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.ACKNOWLEDGED
    assert entry.next_resend is None and entry.attempts == 1


def test_a_rejected_message_is_explained(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    out = client.lodge(report())
    client.sent(out)
    finding = Finding(29, "UNT", None, 2, None, message_reference="1")
    (event,) = client.receive(from_gateway(pki, contrl(out.interchange, 9, [finding])))
    assert isinstance(event, ContrlRejected)
    assert event.state is OutboxState.REJECTED
    assert event.rejected_messages == ("1",)
    assert any("control count does not match" in e for e in event.errors), event.errors
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.REJECTED
    assert entry.detail == event.explanation


def test_a_partly_rejected_interchange_stays_acknowledged(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    out = client.lodge([report("A"), report("B")])
    client.sent(out)
    finding = Finding(13, "", None, None, None, message_reference="2", message_position=3)
    (event,) = client.receive(from_gateway(pki, contrl(out.interchange, 9, [finding])))
    assert isinstance(event, ContrlRejected)
    assert event.rejected_messages == ("2",)
    assert event.state is OutboxState.ACKNOWLEDGED  # message 1 reached the ICS


def test_an_unregistered_signatory_is_rejected_with_error_23(
    client: LodgementClient, store: Store, pki: ThrowawayPKI, clock: ManualClock
) -> None:
    gateway = SimulatedCCF.for_pki(pki, clock=clock, register={})
    out = client.lodge(report())
    client.sent(out)
    replies = gateway.receive(out.email)
    assert len(replies) == 1
    (event,) = client.receive(replies[0])
    assert isinstance(event, ContrlRejected) and event.state is OutboxState.REJECTED
    assert event.report.error == 23
    assert "unknown interchange sender" in event.explanation


def test_a_contrl_about_an_unknown_interchange(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    stranger = build_interchange(SITE, [report()], 4242, prepared=T0)
    (event,) = client.receive(from_gateway(pki, contrl(stranger, 3)))
    assert isinstance(event, ContrlUnmatched)
    assert (event.icr, event.state) == ("4242", None)
    assert store.outbox() == []


# ---------------------------------------------------------------------- CUSRES, ICONTRL


def test_a_response_is_acknowledged_then_delivered(
    client: LodgementClient, store: Store, ccf: SimulatedCCF
) -> None:
    out = client.lodge(report("HAWB7"))
    client.sent(out)
    contrl_mail, response_mail = ccf.receive(out.email)
    client.receive(contrl_mail)
    events = client.receive(response_mail)
    assert [type(e) for e in events] == [AcknowledgementToSend, ResponseReceived]
    ack, response = events
    assert isinstance(ack, AcknowledgementToSend) and isinstance(response, ResponseReceived)

    # the ICONTRL is an interchange of ours: the next ICR, recorded before it is handed out
    assert ack.outgoing.kind is OutgoingKind.ACKNOWLEDGEMENT
    assert ack.outgoing.icr == "2" and ack.outgoing.acknowledges == (ack.sender, ack.icr)
    icontrl = parse_interchange(ack.outgoing.interchange)
    assert [m.type for m in icontrl.messages] == ["CONTRL"] and not icontrl.ack_requested
    uci = icontrl.messages[0].segments[0]
    assert (uci.get(0), uci.get(1), uci.get(3)) == (ack.icr, CCF_SITE, "8")
    queued = store.get_outbox(SITE, "2")
    assert queued is not None and queued.state is OutboxState.QUEUED
    inbox = store.get_inbox(ack.sender, ack.icr)
    assert inbox is not None and inbox.processed and not inbox.acknowledged

    assert response.sender_reference == "HAWB7" and response.outcome is Outcome.ACCEPTED
    assert response.document_name == "AIRCRR" and response.response.accepted

    assert ccf.receive(ack.outgoing.email) == []  # CCF never answers an ICONTRL
    client.sent(ack.outgoing)
    inbox = store.get_inbox(ack.sender, ack.icr)
    assert inbox is not None and inbox.acknowledged
    sent_ack = store.get_outbox(SITE, "2")
    assert sent_ack is not None and sent_ack.state is OutboxState.ACKNOWLEDGED
    assert sent_ack.detail == ICONTRL_DETAIL and sent_ack.attempts == 1
    assert [e.event for e in ccf.log if e.event in ("acknowledged", "violation")] == [
        "acknowledged"
    ]
    assert client.due(T0 + 10 * RESEND) == []  # an ICONTRL is never re-sent


class _FailingStore(MemoryStore):
    def store_received(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreError("disk full")


def test_no_acknowledgement_before_safe_storage(pki: ThrowawayPKI, clock: ManualClock) -> None:
    store = _FailingStore()
    client = make_client(pki, store, clock)
    with pytest.raises(StoreError):
        client.receive(from_gateway(pki, cusres(5)))
    assert store.outbox() == [] and store.peek_icr(SITE) == 1


def test_several_e_mails_are_received_with_one_commit(
    pki: ThrowawayPKI, clock: ManualClock, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "l.db")
    client = make_client(pki, store, clock)
    out = client.lodge(report("HAWB7"))
    client.sent(out)
    mails = [
        from_gateway(pki, contrl(out.interchange, 4)),
        from_gateway(pki, cusres(5, "HAWB7")),
        b"Subject: hello\r\n\r\nnot an S/MIME message\r\n",
        _plain_text_mail(pki),
        from_gateway(pki, cusres(6, "HAWB8")),
    ]
    composed, statements = _watch(client, store)
    batch = client.receive_many(mails)
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    # the two ICONTRLs were composed ahead, each once, for the ICRs they were given
    assert composed == ["2", "3"]
    assert [[type(e) for e in events] for events in batch] == [
        [ContrlAccepted],
        [AcknowledgementToSend, ResponseReceived],
        [OpenFailed],
        [PlainTextReceived],
        [AcknowledgementToSend, ResponseReceived],
    ]
    acks = [e for events in batch for e in events if isinstance(e, AcknowledgementToSend)]
    assert [(a.outgoing.icr, a.icr) for a in acks] == [
        ("2", "00000000000005"),
        ("3", "00000000000006"),
    ]
    for ack in acks:
        sent = store.get_outbox(SITE, ack.outgoing.icr)
        assert sent is not None and sent.email == ack.outgoing.email
    assert len(store.quarantined()) == 2 and store.peek_icr(SITE) == 4

    # the same e-mails one by one give the same events
    other = make_client(pki, MemoryStore(), clock)
    other.lodge(report("HAWB7"))
    one_by_one = [[type(e) for e in other.receive(m)] for m in mails]
    assert one_by_one == [[type(e) for e in events] for events in batch]
    store.close()


def test_a_batch_is_stored_whole_or_not_at_all(pki: ThrowawayPKI, clock: ManualClock) -> None:
    class FailsAtTheSecond(MemoryStore):
        calls = 0

        def store_received(self, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == 2:
                raise StoreError("disk full")
            return super().store_received(*args, **kwargs)

    store = FailsAtTheSecond()
    client = make_client(pki, store, clock)
    mails = [from_gateway(pki, cusres(5, "HAWB1")), from_gateway(pki, cusres(6, "HAWB2"))]
    with pytest.raises(StoreError):
        client.receive_many(mails)
    assert store.outbox() == [] and store.unacknowledged() == [] and store.peek_icr(SITE) == 1
    assert [[type(e) for e in events] for events in client.receive_many(mails)] == [
        [AcknowledgementToSend, ResponseReceived]
    ] * 2


def test_a_repeated_interchange_is_acknowledged_again_not_delivered_again(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    mail = from_gateway(pki, cusres(5))
    first = client.receive(mail)
    assert [type(e) for e in first] == [AcknowledgementToSend, ResponseReceived]
    send_all(client, first)
    again = client.receive(mail)
    assert [type(e) for e in again] == [AcknowledgementToSend, DuplicateReceived]
    dup = again[1]
    assert isinstance(dup, DuplicateReceived)
    assert dup.first == (CCF_SITE, "00000000000005") and dup.acknowledged_again
    assert dup.first_received == T0
    assert again[0].outgoing.icr == "2"  # type: ignore[attr-defined]


def test_a_repeated_contrl_is_neither_acknowledged_nor_applied_twice(
    client: LodgementClient, pki: ThrowawayPKI
) -> None:
    out = client.lodge(report())
    mail = from_gateway(pki, contrl(out.interchange, 1))
    assert [type(e) for e in client.receive(mail)] == [ContrlAccepted]
    assert [type(e) for e in client.receive(mail)] == [DuplicateReceived]


def test_the_newest_response_stands_whatever_the_arrival_order(
    client: LodgementClient, store: Store, pki: ThrowawayPKI, clock: ManualClock
) -> None:
    newer = from_gateway(pki, cusres(8, prepared=T0 + timedelta(minutes=5), code="MS5201"))
    older = from_gateway(pki, cusres(7, prepared=T0, code="MS5203"))
    events = client.receive(newer)
    assert of(events, ResponseReceived)[0].outcome is Outcome.REJECTED
    clock.advance(minutes=1)
    events = client.receive(older)
    # still acknowledged (it was received), but not delivered: the newer one stands
    assert [type(e) for e in events] == [AcknowledgementToSend, Superseded]
    superseded = events[1]
    assert isinstance(superseded, Superseded) and superseded.ignored
    assert superseded.superseded[:2] == (CCF_SITE, "00000000000007")
    assert superseded.standing[:2] == (CCF_SITE, "00000000000008")
    assert superseded.reason == "later UNB date/time"
    assert client.summary().responses == {Outcome.REJECTED: 1}


def test_a_newer_response_replaces_the_one_standing(
    client: LodgementClient, pki: ThrowawayPKI, clock: ManualClock
) -> None:
    client.receive(from_gateway(pki, cusres(7, prepared=T0)))
    clock.advance(minutes=1)
    events = client.receive(from_gateway(pki, cusres(8, prepared=T0, code="MS5202")))
    # equal UNB stamps: the later arrival stands
    assert [type(e) for e in events] == [AcknowledgementToSend, Superseded, ResponseReceived]
    assert not events[1].ignored  # type: ignore[attr-defined]
    assert events[1].reason == "equal UNB date/times: later arrival"  # type: ignore[attr-defined]
    assert events[2].outcome is Outcome.ACCEPTED_WITH_WARNINGS  # type: ignore[attr-defined]
    assert client.summary().responses == {Outcome.ACCEPTED_WITH_WARNINGS: 1}


def test_a_response_re_sent_in_a_new_interchange_is_a_duplicate(
    client: LodgementClient, pki: ThrowawayPKI, clock: ManualClock
) -> None:
    client.receive(from_gateway(pki, cusres(7, prepared=T0)))
    clock.advance(minutes=3)
    events = client.receive(from_gateway(pki, cusres(9, prepared=T0 + timedelta(minutes=3))))
    assert [type(e) for e in events] == [AcknowledgementToSend, DuplicateReceived]
    assert events[1].first == (CCF_SITE, "00000000000007")  # type: ignore[attr-defined]
    assert not events[1].acknowledged_again  # type: ignore[attr-defined]


def test_the_standing_response_survives_a_restart(
    pki: ThrowawayPKI, tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "l.db"
    with SqliteStore(path) as store:
        make_client(pki, store, clock).receive(from_gateway(pki, cusres(8, prepared=T0)))
    with SqliteStore(path) as store:
        client = make_client(pki, store, clock)
        older = cusres(7, prepared=T0 - timedelta(minutes=1), code="MS5201")
        events = client.receive(from_gateway(pki, older))
        assert [type(e) for e in events] == [AcknowledgementToSend, Superseded]


def test_a_response_without_sender_reference_is_delivered(
    client: LodgementClient, pki: ThrowawayPKI
) -> None:
    body = [Segment("BGM", ("962", "", "", "PAYREC"), "P1", "14"), Segment("NAD", "MR", SITE)]
    data = build_interchange(CCF_SITE, [("CUSRES", body)], 12, recipient=SITE, prepared=T0)
    events = client.receive(from_gateway(pki, data))
    assert [type(e) for e in events] == [AcknowledgementToSend, ResponseReceived]
    assert events[1].sender_reference is None  # type: ignore[attr-defined]


def test_a_message_the_client_does_not_read_is_kept(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    data = build_interchange(
        CCF_SITE,
        [("GENRAL", [Segment("FTX", "AAI", "", "", "hello")])],
        13,
        recipient=SITE,
        prepared=T0,
    )
    events = client.receive(from_gateway(pki, data))
    assert [type(e) for e in events] == [AcknowledgementToSend, NotUnderstood]
    assert "GENRAL" in events[1].reason  # type: ignore[attr-defined]
    entry = store.get_inbox(CCF_SITE, "13")
    assert entry is not None and entry.processed and "GENRAL" in (entry.detail or "")


# ---------------------------------------------------------------------- what cannot be opened


def hand_made_mail(pki: ThrowawayPKI, subject: str, entity: bytes) -> bytes:
    """An e-mail from the gateway around ``entity``, signed and encrypted, made by hand."""
    body = sign_and_encrypt(entity, signer=pki.gateway, recipients=[pki.client.certificate])
    head = (
        f"From: {pki.gateway_email}\r\nTo: {pki.client_email}\r\n"
        f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
    )
    return head.encode("ascii") + body


def _plain_text_mail(pki: ThrowawayPKI) -> bytes:
    entity = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nReport HAWB1 accepted\r\n"
    return hand_made_mail(pki, "Response for AAA676Y report HAWB1", entity)


def _broken_edifact_mail(pki: ThrowawayPKI) -> bytes:
    data = base64.encodebytes(cusres(5) + b"garbage").replace(b"\n", b"\r\n")
    entity = (
        b'Content-Type: application/EDIFACT; name="AAA676Y_00000000000005.edi"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="AAA676Y_00000000000005.edi"\r\n\r\n'
    ) + data
    return hand_made_mail(pki, "AAA336C_00000000000005_AAA676Y", entity)


@pytest.mark.parametrize(
    "case", ["garbage", "untrusted-signer", "not-for-us", "another-site", "bad-edifact"]
)
def test_what_cannot_be_opened_is_kept_in_quarantine(
    client: LodgementClient, store: Store, pki: ThrowawayPKI, case: str
) -> None:
    if case == "garbage":
        raw = b"Subject: hello\r\n\r\nnot an S/MIME message\r\n"
    elif case == "untrusted-signer":
        raw = from_gateway(pki, cusres(5), signer=pki.untrusted_client)
    elif case == "not-for-us":
        raw = compose_email(
            cusres(5),
            signer=pki.gateway,
            gateway=pki.gateway.certificate,
            mail_from=pki.gateway_email,
            mail_to=pki.client_email,
            validate=False,
        )
    elif case == "another-site":
        raw = from_gateway(pki, cusres(5, recipient="AAA999Z"))
    else:
        raw = _broken_edifact_mail(pki)
    (event,) = client.receive(raw)
    assert isinstance(event, OpenFailed), event
    assert event.reason and event.error
    (kept,) = store.quarantined()
    assert (kept.id, kept.raw, kept.reason) == (event.quarantine_id, raw, event.reason)
    assert store.outbox() == [] and store.unacknowledged() == []
    assert client.summary().open_failures == 1


def test_a_plain_text_response_is_reported_and_kept(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    raw = _plain_text_mail(pki)
    (event,) = client.receive(raw)
    assert isinstance(event, PlainTextReceived)
    assert event.subject == "Response for AAA676Y report HAWB1"
    assert "Report HAWB1 accepted" in event.text
    assert [q.raw for q in store.quarantined()] == [raw]
    assert store.outbox() == []  # nothing to acknowledge


# ---------------------------------------------------------------------- resending


def test_an_overdue_contrl_means_a_resend_with_the_same_icr_then_giving_up(
    client: LodgementClient, store: Store, clock: ManualClock, pki: ThrowawayPKI
) -> None:
    out = client.lodge(report())
    client.sent(out)
    assert client.due() == []
    clock.advance(RESEND - timedelta(seconds=1))
    assert client.due() == []
    for attempt in (2, 3):
        clock.advance(seconds=1)
        (event,) = client.due()
        assert isinstance(event, ResendDue)
        assert (event.outgoing.icr, event.outgoing.email) == ("1", out.email)
        assert event.outgoing.attempt == attempt and event.last_sent is not None
        assert client.due() == [event]  # offered until reported sent
        client.sent(event.outgoing)
        assert client.due() == []
        clock.advance(RESEND - timedelta(seconds=1))
    clock.advance(seconds=1)
    (gave_up,) = client.due()
    assert isinstance(gave_up, GaveUp) and (gave_up.icr, gave_up.attempts) == ("1", 3)
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.GAVE_UP
    assert client.due(clock.now + 10 * RESEND) == []
    assert client.summary().resends == 2

    # a CONTRL that comes after all still counts
    (late,) = client.receive(from_gateway(pki, contrl(out.interchange, 1)))
    assert isinstance(late, ContrlAccepted) and late.state is OutboxState.ACKNOWLEDGED


def test_a_failed_send_is_offered_again(
    client: LodgementClient, store: Store, clock: ManualClock
) -> None:
    out = client.lodge(report())
    client.send_failed(out, "connection refused", retry_after=timedelta(minutes=2))
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.QUEUED
    assert entry.attempts == 1 and entry.detail == "connection refused"
    clock.advance(minutes=1)
    assert client.due() == []
    clock.advance(minutes=1)
    (event,) = client.due()
    assert isinstance(event, PendingSend) and event.outgoing.attempt == 2
    client.sent(event.outgoing.icr)  # by ICR works too
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.SENT


def test_a_lodgement_never_reported_sent_is_offered_after_the_timeout(
    client: LodgementClient, clock: ManualClock
) -> None:
    out = client.lodge(report())
    clock.advance(RESEND)
    (event,) = client.due()
    assert isinstance(event, PendingSend) and event.outgoing.email == out.email


def test_the_ccf_duplicate_report_acknowledges_a_resent_interchange(
    client: LodgementClient, store: Store, ccf: SimulatedCCF, clock: ManualClock
) -> None:
    ccf.lose_next("contrl")
    out = client.lodge(report())
    client.sent(out)
    (response,) = ccf.receive(out.email)  # the CONTRL was lost on the way
    clock.advance(RESEND)
    (resend,) = client.due()
    assert isinstance(resend, ResendDue)
    (duplicate_contrl,) = ccf.receive(resend.outgoing.email)
    client.sent(resend.outgoing)
    (event,) = client.receive(duplicate_contrl)
    assert isinstance(event, ContrlDuplicate) and event.report.error == 26
    assert event.state is OutboxState.ACKNOWLEDGED
    entry = store.get_outbox(SITE, "1")
    assert entry is not None and entry.state is OutboxState.ACKNOWLEDGED and entry.attempts == 2
    events = client.receive(response)
    assert len(of(events, ResponseReceived)) == 1
    assert len(ccf.processed) == 1


# ---------------------------------------------------------------------- recovery


def test_recover_offers_the_unsent_icontrl_and_lodgement_once(
    pki: ThrowawayPKI, store: Store, clock: ManualClock
) -> None:
    first = make_client(pki, store, clock)
    out = first.lodge(report())
    (ack, _) = first.receive(from_gateway(pki, cusres(5)))
    assert isinstance(ack, AcknowledgementToSend)
    # "crash": neither e-mail was reported sent

    client = make_client(pki, store, clock)
    events = client.recover()
    assert sorted(type(e).__name__ for e in events) == ["AcknowledgementToSend", "PendingSend"]
    again = of(events, AcknowledgementToSend)[0]
    assert again.outgoing.icr == ack.outgoing.icr  # the ICONTRL already recorded, not a new one
    assert of(events, PendingSend)[0].outgoing.icr == out.icr
    assert client.recover() == events  # nothing happens until they are sent
    send_all(client, events)
    assert client.recover() == []
    assert store.unacknowledged() == [] and store.peek_icr(SITE) == 3


def test_recover_acknowledges_and_reads_what_was_stored_but_not_acknowledged(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    # "crash" right after the interchange was stored
    store.store_received(CCF_SITE, "00000000000005", cusres(5), now=T0)
    events = client.recover()
    assert [type(e) for e in events] == [AcknowledgementToSend, ResponseReceived]
    send_all(client, events)
    assert store.unacknowledged() == [] and store.unprocessed() == []
    assert client.recover() == []


def test_recover_finishes_an_icontrl_sent_just_before_a_crash(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    (ack, _) = client.receive(from_gateway(pki, cusres(5)))
    assert isinstance(ack, AcknowledgementToSend)
    store.mark_sent(SITE, ack.outgoing.icr, now=T0, next_resend=None)  # then the crash
    assert client.recover() == []
    assert store.unacknowledged() == []
    entry = store.get_outbox(SITE, ack.outgoing.icr)
    assert entry is not None and entry.state is OutboxState.ACKNOWLEDGED


def test_recover_reads_a_stored_contrl(
    client: LodgementClient, store: Store, pki: ThrowawayPKI
) -> None:
    out = client.lodge(report())
    client.sent(out)
    store.store_received(CCF_SITE, "00000000000001", contrl(out.interchange, 1), now=T0)
    events = client.recover()
    assert [type(e) for e in events] == [ContrlAccepted]
    assert store.unacknowledged() == [] and store.unprocessed() == []


# ---------------------------------------------------------------------- summary, API


def test_the_summary_counts_where_everything_stands(
    client: LodgementClient, ccf: SimulatedCCF, clock: ManualClock
) -> None:
    for ref in ("A", "B", "C"):
        out = client.lodge(report(ref))
        replies = ccf.receive(out.email) if ref != "C" else []
        client.sent(out)
        for mail in replies:
            send_all(client, client.receive(mail))
    clock.advance(RESEND)
    send_all(client, client.due())
    client.receive(b"junk")
    summary = client.summary()
    assert summary.lodged == 3 and summary.pending == 1 and not summary.settled
    assert summary.count(OutboxState.ACKNOWLEDGED) == 2
    assert summary.count(OutboxState.SENT) == 1 and summary.resends == 1
    assert summary.acknowledgements == summary.acknowledgements_sent == 2
    assert summary.responses == {Outcome.ACCEPTED: 2}
    assert summary.quarantined == summary.open_failures == 1
    text = str(summary)
    assert "lodged" in text and "acknowledged" in text and "resends" in text
    assert ("responses accepted", 2) in summary.rows()


def test_times_must_be_aware_and_settings_sane(
    pki: ThrowawayPKI, store: Store, clock: ManualClock
) -> None:
    client = make_client(pki, store, clock)
    with pytest.raises(BuildError):
        client.lodge(report(), now=datetime(2024, 1, 1))
    with pytest.raises(BuildError):
        make_client(pki, store, clock, max_attempts=0)
    with pytest.raises(TypeError):
        LodgementClient(
            {},  # type: ignore[arg-type]
            SITE,
            pki.client,
            pki.gateway.certificate,
            pki.trust_for_client(),
            mail_from="a@b.c",
            mail_to="d@e.f",
        )
    assert "AAA676Y" in repr(client)


def test_events_are_frozen_values(client: LodgementClient) -> None:
    out = client.lodge(report())
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        out.icr = "2"  # type: ignore[misc]
    assert "bytes>" in repr(out) and str(len(out.email)) in repr(out)


def test_public_api_is_documented() -> None:
    public: list[Any] = [lodgement]
    for name in lodgement.__all__:
        obj = getattr(lodgement, name)
        if name.isupper() or not callable(obj) and not isinstance(obj, type):
            continue
        public.append(obj)
        if isinstance(obj, type):
            public += [v for k, v in vars(obj).items() if not k.startswith("_") and callable(v)]
    undocumented = [getattr(o, "__qualname__", o) for o in public if not (o.__doc__ or "").strip()]
    assert undocumented == []


# ---------------------------------------------------------------- composing ahead of the lock


def test_lodge_and_acknowledge_compose_once_outside_the_lock(
    pki: ThrowawayPKI, client: LodgementClient, ccf: SimulatedCCF, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icsclient.lodgement import _client

    composed: list[bool] = []  # whether the store was in a write at the time
    real = _client.compose_email
    store = client.store

    def counted(*args: Any, **kwargs: Any) -> bytes:
        inside = store._building if isinstance(store, MemoryStore) else store._writing  # type: ignore[attr-defined]
        composed.append(bool(inside))
        return real(*args, **kwargs)

    monkeypatch.setattr(_client, "compose_email", counted)
    out = client.lodge(report())
    replies = ccf.receive(out.email)
    client.sent(out)
    events = [e for raw in replies for e in client.receive(raw)]
    assert any(isinstance(e, AcknowledgementToSend) for e in events)
    assert composed == [False, False]  # the lodgement and the ICONTRL, each once, ahead


def test_an_icr_taken_meanwhile_is_built_again_inside(
    pki: ThrowawayPKI, client: LodgementClient, ccf: SimulatedCCF, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = client.store
    real_peek = store.peek_icr
    # another process takes the number between our look and our allocation
    monkeypatch.setattr(store, "peek_icr", lambda site: real_peek(site) - 1 or 99)
    store.allocate_icr(SITE)
    out = client.lodge(report())
    assert out.icr == "2"
    assert parse_interchange(out.interchange).control_reference == "2"
    opened = open_email(out.email, recipient=pki.gateway, trust=pki.trust_for_gateway())
    assert opened.control_reference == "2" and opened.interchange == out.interchange
    [contrl, response] = ccf.receive(out.email)
    events = client.receive(response)
    [ack] = [e for e in events if isinstance(e, AcknowledgementToSend)]
    assert ack.outgoing.icr == "3"
    assert parse_interchange(ack.outgoing.interchange).control_reference == "3"
    assert [e.icr for e in store.outbox()] == ["2", "3"]
