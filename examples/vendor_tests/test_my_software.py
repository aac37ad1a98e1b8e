"""A vendor's test suite: the software's behaviour against the simulated CCF.

Run it with ``pytest examples/vendor_tests``. The ``ccf`` fixture is a fresh simulated
gateway for each test: tell it how "the ICS" answers (``ccf.verdicts``), make replies
vanish (``ccf.lose_next``), move its clock (``ccf.clock.advance``), and check what it
saw (``ccf.log``, ``ccf.processed``, ``ccf.pending``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import Wire
from my_software import CargoDesk, Consignment

from icsclient import BuildError, Outcome, Segment, parse_interchange
from icsclient.mail import open_email
from icsclient.testing import SimulatedCCF, SmtpCCF, ThrowawayPKI, Verdict

FISH = Consignment("HAWB0001", "SMITH & SONS EXPORTS", "FROZEN FISH", Decimal("240.5"))


def test_accepted_report(desk: CargoDesk, wire: Wire, ccf: SimulatedCCF) -> None:
    desk.lodge(FISH)
    wire.deliver_all(desk)
    assert desk.status["HAWB0001"] == Outcome.ACCEPTED.value
    assert [r.sender_reference for r in ccf.processed] == ["HAWB0001"]


def test_every_response_is_acknowledged(desk: CargoDesk, wire: Wire, ccf: SimulatedCCF) -> None:
    desk.lodge(FISH)
    wire.deliver_all(desk)
    assert ccf.pending == []  # the gateway will not send anything again
    assert len(ccf.events("acknowledged")) == 1
    assert not ccf.events("violation")  # e.g. acknowledging a CONTRL


def test_rejection_by_the_ics_keeps_its_reasons(
    desk: CargoDesk, wire: Wire, ccf: SimulatedCCF
) -> None:
    ccf.verdicts["HAWB0001"] = Verdict.rejected(
        ("ERROR", "AC1234", "Consignor name must be supplied")
    )
    desk.lodge(FISH)
    wire.deliver_all(desk)
    assert desk.status["HAWB0001"] == Outcome.REJECTED.value
    assert desk.problems["HAWB0001"] == ["AC1234: Consignor name must be supplied"]


def test_warnings_are_kept(desk: CargoDesk, wire: Wire, ccf: SimulatedCCF) -> None:
    ccf.verdicts["HAWB0001"] = Verdict.accepted(("WARNING", "AC5678", "Vague description"))
    desk.lodge(FISH)
    wire.deliver_all(desk)
    assert desk.status["HAWB0001"] == Outcome.ACCEPTED_WITH_WARNINGS.value
    assert desk.problems["HAWB0001"] == ["AC5678: Vague description"]


def test_lost_contrl_is_resent_with_the_same_icr(
    desk: CargoDesk, wire: Wire, ccf: SimulatedCCF
) -> None:
    ccf.lose_next("contrl")
    icr = desk.lodge(FISH)
    wire.deliver_all(desk)
    assert desk.status["HAWB0001"] == Outcome.ACCEPTED.value  # the CUSRES still came

    ccf.clock.advance(minutes=31)  # past the client's resend_after (30 minutes)
    desk.tick()
    wire.deliver_all(desk)
    assert [e.icr for e in ccf.events("duplicate")] == [icr]  # recognised, not reprocessed
    assert len(ccf.processed) == 1


def test_report_data_is_cleaned_before_sending(desk: CargoDesk, ccf: SimulatedCCF) -> None:
    desk.lodge(Consignment("HAWB0002", "  ACME   PTY LTD Ł", "BOOKS", Decimal("35.555")))
    segments = ccf.processed[0].message.segments  # BGM, RFF, NAD, FTX, MEA
    assert segments[2].get(3) == "ACME PTY LTD"  # spaces collapsed, Ł (not in UNOC) dropped
    assert segments[4].get(2, 1) == "35.56"  # ICS rounding: a third decimal 5 rounds up


def test_the_library_refuses_what_the_ccf_cannot_carry(desk: CargoDesk) -> None:
    """Without the clean-up, icsclient refuses the text instead of transliterating it."""
    with pytest.raises(BuildError, match="UNOC"):
        desk.client.lodge(("CUSCAR", [Segment("FTX", "AAA", "", "", "ŁÓDŹ")]))
    assert desk.client.store.peek_icr("AAA676Y") == 1  # and no ICR was used


def test_over_smtp(ics_pki: ThrowawayPKI, ccf_smtp: SmtpCCF) -> None:
    """The same gateway on loopback SMTP: its replies land in a Maildir."""
    from icsclient import MemoryStore
    from icsclient.lodgement import LodgementClient

    client = LodgementClient.for_pki(ics_pki, MemoryStore(), clock=ccf_smtp.gateway.clock)
    with ccf_smtp.sender() as smtp:
        desk = CargoDesk(
            client, lambda out: smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
        )
        desk.lodge(FISH)
        reader = ccf_smtp.inbox.reader()
        for key, raw in reader:
            desk.on_email(raw)
            reader.done(key)
    assert desk.status["HAWB0001"] == Outcome.ACCEPTED.value
    first = open_email(
        ccf_smtp.inbox.messages[0][2], recipient=ics_pki.client, trust=ics_pki.trust_for_client()
    )
    assert first.interchange is not None
    assert parse_interchange(first.interchange).messages[0].type == "CONTRL"
