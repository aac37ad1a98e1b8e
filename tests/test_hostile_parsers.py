"""Hostile input to the envelope check, CONTRL and CUSRES readers: time linear in the
input, numbers read as ASCII digits only, only library errors (issue 16, items 4, 5, 8, 9)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from icsclient import ReceivedError, Segment, parse_interchange
from icsclient.edifact import envelope
from icsclient.edifact.charsets import ascii_number
from icsclient.edifact.envelope import Message
from icsclient.ics.contrl import parse_contrl
from icsclient.ics.cusres import parse_cusres

WHEN = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
UNB = "UNB+UNOC:3+AAA336C+AAA676Y+240101:1200+{icr}'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("00042", 42),
        ("9" * 14, 10**14 - 1),
        ("", None),
        ("¹²³", None),
        ("١٢٣", None),
        ("12a", None),
        (" 1", None),
        ("-1", None),
        ("9" * 15, None),
        ("1" * 5000, None),
    ],
)
def test_a_number_is_one_to_n_ascii_digits(text: str, expected: int | None) -> None:
    assert ascii_number(text, 14) == expected


def test_each_message_with_a_character_outside_the_repertoire_is_reported() -> None:
    messages = "".join(f"UNH+{i}+CUSCAR:D:95B:UN'BGM+X\x01'UNT+3+{i}'" for i in range(1, 51))
    data = (UNB.format(icr=1) + messages + "UNZ+50+1'").encode("latin-1")
    interchange = parse_interchange(data, strict=False)
    bad = [f for f in interchange.issues if f.code == 21]
    assert [f.message_reference for f in bad] == [str(i) for i in range(1, 51)]
    assert {(f.segment_tag, f.message_position, f.element) for f in bad} == {("BGM", 2, 2)}


def test_findings_beyond_the_limit_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope, "MAX_FINDINGS", 5)
    data = (UNB.format(icr=1) + "FTX+a'" * 20 + "UNZ+0+1'").encode()
    issues = parse_interchange(data, strict=False).issues
    assert len(issues) == 5
    assert all(f.code == 33 for f in issues)  # the first ones found: FTX outside a message


@pytest.mark.parametrize("icr", ["¹²³", "1" * 5000])
def test_an_unb_icr_that_is_not_ascii_digits_is_a_finding_not_an_exception(icr: str) -> None:
    data = (UNB.format(icr=icr) + "UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNZ+1+" + icr + "'").encode()
    issues = parse_interchange(data, strict=False).issues
    assert [(f.code, f.segment_tag, f.element) for f in issues] == [
        (12 if len(icr) < 14 else 39, "UNB", 6)
    ]


def _contrl(body: str) -> bytes:
    return (
        (UNB.format(icr=7) + "UNH+1+CONTRL:D:3:UN'" + body + "UNT+{n}+1'UNZ+1+7'")
        .format(n=2 + body.count("'"))
        .encode("latin-1")
    )


@pytest.mark.parametrize("icr", ["¹²³", "1" * 5000])
def test_a_contrl_quoting_an_icr_that_is_no_number_raises_a_received_error(icr: str) -> None:
    with pytest.raises(ReceivedError, match=r"segment 2 \(UCI\), element 2: .*35 ASCII digits"):
        parse_contrl(_contrl(f"UCI+{icr}+AAA676Y+AAA336C+4'"))


def test_a_contrl_may_quote_an_icr_the_gateway_could_not_read() -> None:
    assert (
        parse_contrl(_contrl("UCI+A0001+AAA676Y+AAA336C+4+12+UNB+6'")).control_reference == "A0001"
    )


@pytest.mark.parametrize("value", ["¹", "4" * 5000])
def test_a_contrl_action_that_is_no_ascii_number_raises_a_received_error(value: str) -> None:
    with pytest.raises(ReceivedError, match="action .* is not a number"):
        parse_contrl(_contrl(f"UCI+1+AAA676Y+AAA336C+{value}'"))


def test_many_segment_and_element_errors_are_all_kept_in_order() -> None:
    groups = "".join(f"UCS+{i}+13'UCD+12+{i % 9 + 1}'UCD+37+2:1'" for i in range(3, 2003))
    report = parse_contrl(_contrl("UCI+1+AAA676Y+AAA336C+4'UCM+1+CUSCAR:D:95B:UN+4'" + groups))
    (message,) = report.messages
    assert [s.position for s in message.segment_errors] == list(range(3, 2003))
    assert all(
        [(e.error, e.element, e.component) for e in s.element_errors]
        == [(12, s.position % 9 + 1, None), (37, 2, 1)]
        for s in message.segment_errors
    )


@pytest.mark.parametrize("count", ["¹²", "1" * 5000])
def test_a_cusres_count_that_is_no_ascii_number_is_a_note(count: str) -> None:
    body = [Segment("BGM", "962"), Segment("CNT", ("55", count))]
    response = parse_cusres(Message.create("1", "CUSRES", body))
    assert response.count is None
    assert any("CNT+55 count" in note for note in response.notes)
