"""ICONTRL: acknowledging what the Department sends (icsclient.ics.icontrl)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from icsclient import BuildError, Interchange, Segment, parse_interchange
from icsclient.ics.contrl import parse_contrl
from icsclient.ics.envelope import build_interchange
from icsclient.ics.icontrl import build_icontrl, icontrl_segments, needs_acknowledgement

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
WHEN = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)  # 14:04 in Sydney


def received(name: str) -> Interchange:
    return parse_interchange((FIXTURES / name).read_bytes())


def test_needs_acknowledgement() -> None:
    assert needs_acknowledgement(received("aircrr_accepted.edi"))
    assert needs_acknowledgement(received("multi_message.edi"))
    assert not needs_acknowledgement(received("contrl_accepted.edi"))


def test_business_message_needs_acknowledgement_even_without_0031() -> None:
    data = build_interchange(
        "AAA336C",
        [("CUSRES", [Segment("BGM", ("", "", "", "CARST"))])],
        7,
        recipient="AAA676Y",
        prepared=WHEN,
        ack_request=False,
    )
    interchange = parse_interchange(data)
    assert not interchange.ack_requested and needs_acknowledgement(interchange)


def test_icontrl_bytes_quote_the_received_unb_exactly() -> None:
    data = build_icontrl(received("aircrr_accepted.edi"), sender="AAA676Y", icr=57, prepared=WHEN)
    assert data == (
        b"UNA:+.? 'UNB+UNOC:3+AAA676Y::AAA676Y+AAA336C+240102:1404+57'"
        b"UNH+1+CONTRL:D:3:UN'"
        b"UCI+00000000000048+AAA336C::AAA336C+AAA676Y+8'"
        b"UNT+3+1'UNZ+1+57'"
    )


def test_icontrl_reads_back_as_received() -> None:
    original = received("multi_message.edi")
    ack = parse_interchange(build_icontrl(original, sender="AAA676Y", icr="0042", prepared=WHEN))
    assert (ack.sender, ack.recipient, ack.control_reference) == ("AAA676Y", "AAA336C", "0042")
    assert not ack.ack_requested and not ack.test
    report = parse_contrl(ack)
    assert report.action == 8 and report.accepted
    assert report.control_reference == original.control_reference == "00000000000051"
    assert (report.sender, report.owner, report.recipient) == ("AAA336C", "AAA336C", "AAA676Y")


def test_owner_differing_from_creator_and_test_indicator_are_kept() -> None:
    data = build_interchange(
        "AAA336C",
        [("CUSRES", [Segment("BGM", ("", "", "", "IDL"))])],
        "00000000000003",
        recipient="TST676Y",
        owner="AAA999Z",
        test=True,
        prepared=WHEN,
    )
    original = parse_interchange(data)
    assert str(icontrl_segments(original)[0]) == ("UCI+00000000000003+AAA336C::AAA999Z+TST676Y+8'")
    ack = parse_interchange(build_icontrl(original, sender="TST676Y", icr=1, clock=lambda: WHEN))
    assert ack.test and ack.prepared == datetime(2024, 1, 2, 14, 4)
    assert not parse_interchange(
        build_icontrl(original, sender="TST676Y", icr=2, prepared=WHEN, test=False)
    ).test


def test_never_acknowledges_a_contrl() -> None:
    with pytest.raises(BuildError, match="needs no acknowledgement.*CONTRL"):
        build_icontrl(received("contrl_accepted.edi"), sender="AAA676Y", icr=1, prepared=WHEN)


def test_refuses_to_acknowledge_for_another_site() -> None:
    with pytest.raises(BuildError, match="addressed to 'AAA676Y', not to 'BBB111X'"):
        build_icontrl(received("erm_ccferror.edi"), sender="BBB111X", icr=1, prepared=WHEN)


def test_refuses_an_interchange_without_control_reference() -> None:
    data = (FIXTURES / "erm_ccferror.edi").read_bytes().replace(b"+00000000000049", b"+")
    broken = parse_interchange(data, strict=False)
    with pytest.raises(BuildError, match="control reference"):
        build_icontrl(broken, sender="AAA676Y", icr=1, prepared=WHEN)
