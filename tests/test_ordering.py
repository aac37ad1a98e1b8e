"""Which response stands when two about the same report arrive (icsclient.ics.ordering)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icsclient import BuildError, parse_interchange
from icsclient.ics.cusres import parse_cusres
from icsclient.ics.ordering import (
    ResponseArrival,
    compare_responses,
    content_digest,
    newer_response,
)

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
T0 = datetime(2024, 1, 2, 14, 0)
A0 = datetime(2024, 1, 2, 3, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def arrival(
    prepared: datetime | None, arrived: datetime, content: object, ref: str | None = "R1"
) -> ResponseArrival:
    return ResponseArrival(prepared, arrived, content, ref)


def test_later_unb_stamp_wins_even_when_it_arrived_first() -> None:
    newer = arrival(T0 + MIN, A0, "accepted")
    older = arrival(T0, A0 + 5 * MIN, "rejected")
    assert newer_response(newer, older) is newer
    assert newer_response(older, newer) is newer
    verdict = compare_responses(newer, older)
    assert verdict.superseded is older and not verdict.duplicate
    assert verdict.reason == "later UNB date/time"


def test_equal_stamps_later_arrival_wins() -> None:
    first = arrival(T0, A0, "one")
    second = arrival(T0, A0 + MIN, "two")
    assert newer_response(first, second) is second
    assert newer_response(second, first) is second
    assert compare_responses(first, second).reason == "equal UNB date/times: later arrival"


def test_unreadable_stamp_falls_back_to_arrival() -> None:
    first = arrival(None, A0 + MIN, "one")
    second = arrival(T0, A0, "two")
    assert newer_response(second, first) is first
    assert "unreadable" in compare_responses(second, first).reason


def test_full_tie_goes_to_the_incoming_response() -> None:
    first, second = arrival(T0, A0, "one"), arrival(T0, A0, "two")
    assert newer_response(first, second) is second


def test_resent_duplicate_with_new_stamp_does_not_stand() -> None:
    original = arrival(T0, A0, "same body")
    resent = arrival(T0 + 30 * MIN, A0 + 30 * MIN, "same body")
    verdict = compare_responses(original, resent)
    assert verdict.duplicate and verdict.standing is original
    assert newer_response(original, resent) is original


def test_resent_older_response_is_recognised_through_history() -> None:
    old = arrival(T0, A0, "status HELD")
    new = arrival(T0 + MIN, A0 + MIN, "status CLEAR")
    assert newer_response(old, new) is new
    resent_old = arrival(T0 + 10 * MIN, A0 + 10 * MIN, "status HELD")
    assert newer_response(new, resent_old) is resent_old  # without history: looks newer
    assert newer_response(new, resent_old, history=[old.content]) is new


def test_responses_about_different_reports_are_refused() -> None:
    with pytest.raises(BuildError, match="different reports"):
        compare_responses(arrival(T0, A0, "a", "R1"), arrival(T0, A0, "b", "R2"))
    assert newer_response(arrival(T0, A0, "a", None), arrival(T0, A0 + MIN, "b", "R2"))


def test_naive_and_aware_arrivals_are_refused() -> None:
    with pytest.raises(BuildError, match="time zone"):
        compare_responses(arrival(T0, A0, "a"), arrival(T0, T0, "b"))


def test_from_an_interchange_and_digest_ignores_the_envelope() -> None:
    data = (FIXTURES / "carst_status.edi").read_bytes()
    first = parse_interchange(data)
    again = parse_interchange(
        data.replace(b"240102:1405+00000000000050", b"240102:1500+00000000000099").replace(
            b"UNZ+1+00000000000050", b"UNZ+1+00000000000099"
        )
    )
    a = ResponseArrival.of(first, parse_cusres(first), A0)
    b = ResponseArrival.of(again, parse_cusres(again), A0 + MIN)
    assert a.sender_reference == "HAWB123456" and a.prepared == datetime(2024, 1, 2, 14, 5)
    assert a.content == b.content == content_digest(first.messages[0].segments)
    assert compare_responses(a, b).duplicate
    assert a.label == parse_cusres(first)


STAMPS = st.integers(0, 5).map(lambda n: T0 + n * MIN)
ARRIVALS = st.integers(0, 5).map(lambda n: A0 + n * MIN)


@given(STAMPS, ARRIVALS, STAMPS, ARRIVALS)
def test_the_verdict_does_not_depend_on_argument_order(
    p1: datetime, a1: datetime, p2: datetime, a2: datetime
) -> None:
    x, y = arrival(p1, a1, "x"), arrival(p2, a2, "y")
    if (p1, a1) != (p2, a2):
        assert newer_response(x, y) is newer_response(y, x)
        winner = newer_response(x, y)
        assert (winner.prepared, winner.arrived) == max((p1, a1), (p2, a2))
