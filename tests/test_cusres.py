"""CUSRES and ERM responses (icsclient.ics.cusres)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icsclient import IcsError, ReceivedError, Segment, parse_interchange
from icsclient.edifact.envelope import Message
from icsclient.ics.cusres import Outcome, parse_cusres, parse_cusres_all

FIXTURES = Path(__file__).parent / "fixtures" / "responses"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_aircrr_with_errors_and_advices() -> None:
    response = parse_cusres(fixture("aircrr_mixed.edi"))
    assert (response.document_name, response.document_code) == ("AIRCRR", "962")
    assert (response.transaction_id, response.version, response.function) == (
        "AIRCR0001234",
        "2",
        "11",
    )
    assert response.original_document == "AIRCR" and response.original_function == "9"
    assert (response.sender_reference, response.sender_version) == ("HAWB123456", "2")
    assert response.received == datetime(2024, 1, 2, 14, 4, 55)
    assert response.recipient_site == "AAA676Y"
    assert response.outcome is Outcome.ACCEPTED_WITH_WARNINGS and response.accepted
    assert response.outcome_code == "MS5202"
    assert [(e.error_class, e.code) for e in response.errors] == [
        ("ERROR", "AC1234"),
        ("ERROR", "AC2001"),
        ("ADVICE", "AC5678"),
        ("ADVICE", "MS5202"),
    ]
    assert response.errors[0].text == "Consignor name must be supplied"
    assert response.errors[1].references == (("AFB", "3"),)
    assert response.errors[1].location == ("1",)
    assert [e.code for e in response.problems] == ["AC1234", "AC2001"]
    assert [e.code for e in response.advices] == ["AC5678", "MS5202"]
    assert response.count == 4 and not response.count_mismatch
    assert response.references["ABO"] == ("HAWB123456",)
    assert response.unknown_segments == (Segment("LOC", "9", "SYD"),)
    assert response.explain().splitlines() == [
        "AIRCRR (response) for AIRCR HAWB123456 version 2: "
        "accepted with errors and/or warnings (MS5202)",
        "  ERROR AC1234: Consignor name must be supplied",
        "  ERROR AC2001: Weight exceeds the limit for line 3",
        "  ADVICE AC5678: Goods description is vague",
        "  ADVICE MS5202: Report accepted with errors and/or warnings",
    ]


def test_acceptance_is_decided_by_the_outcome_code_not_the_count() -> None:
    response = parse_cusres(fixture("aircrr_accepted.edi"))
    assert response.outcome is Outcome.ACCEPTED and response.outcome_code == "MS5203"
    assert response.count == 0 and len(response.errors) == 1
    assert response.count_mismatch
    assert response.explain().endswith("(CNT+55 says 0, 1 found)")


def test_erm_with_a_ccf_error() -> None:
    response = parse_cusres(fixture("erm_ccferror.edi"))
    assert response.is_erm and response.document_code == "963"
    assert response.transaction_id == "CCF_AAA676Y_1234_CUSCAR_1"
    assert (response.sender_reference, response.sender_version) == ("HAWB777", "1")
    assert (response.failed_message_type, response.failed_function) == ("CUSCAR", "9")
    assert response.raised_by == "CCF"
    (error,) = response.errors
    assert (error.error_class, error.code) == ("CCFERROR", "CCF0012")
    assert "already been used" in error.text
    assert response.outcome is Outcome.REJECTED and response.outcome_code is None
    assert response.unknown_segments == ()


def test_carst_status() -> None:
    response = parse_cusres(fixture("carst_status.edi"))
    assert response.document_name == "CARST" and response.function == "8"
    assert response.status == "HELD"
    assert response.status_text == "Held for inspection: see CCF advice"
    assert response.outcome is Outcome.UNKNOWN and not response.accepted
    assert response.errors == () and response.count is None and not response.count_mismatch
    assert response.references == {"ABO": ("HAWB123456",), "AWB": ("12345678901",)}
    assert "status HELD: Held for inspection" in response.explain()


def test_multi_message_interchange() -> None:
    data = fixture("multi_message.edi")
    exdr, aircrr, carst = parse_cusres_all(data)
    assert exdr.document_name == "EXDR" and exdr.status == "CLEAR"
    assert exdr.references["ED"] == ("AABBCC123",) and exdr.outcome is Outcome.ACCEPTED
    assert aircrr.rejected and aircrr.outcome_code == "MS5201"
    assert aircrr.original_function == "4" and aircrr.sender_version == "3"
    assert carst.message_reference == "3"
    with pytest.raises(ReceivedError, match="3 CUSRES messages"):
        parse_cusres(data)
    interchange = parse_interchange(data)
    assert parse_cusres(interchange.messages[1]) == aircrr


def test_refuses_what_is_not_a_cusres() -> None:
    with pytest.raises(ReceivedError, match="holds no CUSRES"):
        parse_cusres(fixture("contrl_accepted.edi"))
    with pytest.raises(ReceivedError, match="has no BGM"):
        parse_cusres(Message.create("4", "CUSRES", [Segment("RFF", ("ABO", "X"))]))


def body(*segments: Segment) -> Message:
    return Message.create("1", "CUSRES", [Segment("BGM", ("", "", "", "XR"), "T", "11"), *segments])


def erp(error_class: str, code: str, text: str = "") -> list[Segment]:
    return [
        Segment("ERP", "1"),
        Segment("ERC", (error_class, "80", "95")),
        Segment("ERC", (code, "6", "95")),
        Segment("FTX", "AAO", "", "", text),
    ]


@pytest.mark.parametrize(
    ("codes", "outcome"),
    [
        (["MS5203"], Outcome.ACCEPTED),
        (["MS5202"], Outcome.ACCEPTED_WITH_WARNINGS),
        (["MS5201"], Outcome.REJECTED),
        (["XX9999"], Outcome.REJECTED),
        (["AB0001"], Outcome.UNKNOWN),
        (["MS5203", "MS5201"], Outcome.REJECTED),
    ],
)
def test_outcome_codes(codes: list[str], outcome: Outcome) -> None:
    groups = [s for code in codes for s in erp("ADVICE", code)]
    response = parse_cusres(body(*groups))
    assert response.outcome is outcome
    assert bool(response.notes) == (len(set(codes) & {"MS5201", "MS5203"}) == 2)


def test_error_class_without_code_list_qualifiers_and_odd_values_are_noted() -> None:
    response = parse_cusres(
        body(
            Segment("DTM", ("310", "2024133", "204")),
            Segment("CNT", ("55", "x")),
            Segment("ERP", "1"),
            Segment("ERC", "ERROR"),
            Segment("ERC", "AB0001"),
            Segment("FTX", "AAO", "", "", ("part one", "part two")),
            Segment("FTX", "AHN", "", "", "CLEAR"),
            Segment("DTM", ("310", "20240102", "102")),
        )
    )
    (error,) = response.errors
    assert (error.error_class, error.code, error.text) == ("ERROR", "AB0001", "part one part two")
    assert response.received is None and response.count is None
    assert len(response.notes) == 2
    assert response.status == "CLEAR" and response.status_text is None
    # a second DTM+310 is not read into a field, so it is kept
    assert response.unknown_segments == (Segment("DTM", ("310", "20240102", "102")),)


SEGMENT = st.builds(
    lambda tag, elements: Segment(tag, *elements),
    st.sampled_from(["BGM", "RFF", "DTM", "NAD", "ERP", "ERC", "FTX", "CNT", "LOC", "UCI"]),
    st.lists(
        st.lists(
            st.sampled_from(["", "ABO", "AAY", "310", "204", "55", "AHN", "AAO", "MR", "80", "6"])
            | st.text("0123456789 X²", max_size=16),
            min_size=1,
            max_size=5,
        ).map(tuple),
        max_size=6,
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(SEGMENT, max_size=15))
def test_arbitrary_segments_raise_only_icsclient_errors(segments: list[Segment]) -> None:
    try:
        response = parse_cusres(Message.create("1", "CUSRES", segments))
    except IcsError:
        return
    response.explain()
    assert response.segments == tuple(segments)
    grouped = sum(len(e.segments) for e in response.errors)
    assert grouped + len(response.unknown_segments) < len(segments)  # the BGM is read


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200)
    | st.builds(lambda n: fixture("aircrr_mixed.edi")[:n], st.integers(0, 700))
)
def test_arbitrary_bytes_raise_only_icsclient_errors(data: bytes) -> None:
    try:
        parse_cusres(data)
    except IcsError:
        pass
