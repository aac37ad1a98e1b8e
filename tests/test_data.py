"""ICS data representation rules (icsclient.ics.data)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icsclient import BuildError
from icsclient.edifact.charsets import invalid_char_pattern
from icsclient.ics.data import (
    ChangeKind,
    check_time,
    format_number,
    format_time,
    is_valid_time,
    normalise_text,
    round2,
    round_decimals,
    significant_length,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5.555", "5.56"),
        ("5.554", "5.55"),
        ("5.5549999", "5.55"),
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("-5.555", "-5.56"),
        ("-5.554", "-5.55"),
        ("12", "12.00"),
    ],
)
def test_round2_half_up(value: str, expected: str) -> None:
    assert str(round2(Decimal(value))) == expected


def test_round2_takes_ints_and_refuses_floats_and_the_rest() -> None:
    assert round2(7) == Decimal("7.00")
    with pytest.raises(BuildError, match="float"):
        round2(5.555)  # type: ignore[arg-type]
    for bad in ("5.5", True, Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(BuildError):
            round2(bad)  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="decimal places"):
        round_decimals(Decimal(1), -1)
    with pytest.raises(BuildError, match="too many digits"):
        round2(Decimal("1E+30"))
    assert round_decimals(Decimal("2.5"), 0) == 3


@given(st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, places=6))
def test_round2_is_within_half_a_cent_and_has_two_places(value: Decimal) -> None:
    rounded = round2(value)
    assert rounded.as_tuple().exponent == -2
    assert abs(rounded - value) <= Decimal("0.005")
    third = abs(value).scaleb(3) % 10 // 1  # the third decimal digit
    if abs(rounded) > abs(value):
        assert third >= 5


def test_format_number_minus_sign_and_decimal_mark_do_not_count() -> None:
    assert format_number(-112, max_length=3) == "-112"
    assert format_number(Decimal("-112.50"), max_length=5) == "-112.50"
    assert significant_length("-112.50") == 5
    with pytest.raises(BuildError, match="gross weight -1234 has 4 digits, more than the 3"):
        format_number(-1234, max_length=3, what="gross weight")


def test_format_number_writes_plain_significant_digits() -> None:
    assert format_number(Decimal("1E+3")) == "1000"
    assert format_number(Decimal(".5")) == "0.5"
    assert format_number(Decimal("-0.00")) == "0.00"
    assert format_number(Decimal("5.555"), decimals=2) == "5.56"
    assert format_number(Decimal("5.5"), decimal_mark=",") == "5,5"
    with pytest.raises(BuildError):
        format_number(1.5)  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="decimal mark"):
        format_number(1, decimal_mark=";")
    with pytest.raises(BuildError, match="max_length"):
        format_number(1, max_length=0)


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    )
)
def test_format_number_round_trips(value: Decimal) -> None:
    text = format_number(value)
    assert "E" not in text and Decimal(text) == value
    assert not text.startswith("-") or value < 0


@pytest.mark.parametrize("text", ["0000", "0959", "1200", "2359"])
def test_valid_times(text: str) -> None:
    assert check_time(text) == text and is_valid_time(text)


@pytest.mark.parametrize("text", ["2400", "2360", "1260", "930", "09:30", "", "12345", "１２００"])
def test_invalid_times(text: str) -> None:
    assert not is_valid_time(text)
    with pytest.raises(BuildError, match="time"):
        check_time(text)


def test_2400_is_refused_with_advice() -> None:
    with pytest.raises(BuildError, match="midnight as 0000"):
        check_time("2400")


def test_format_time() -> None:
    assert format_time(time(7, 5, 59)) == "0705"
    assert format_time(datetime(2024, 1, 2, 23, 59)) == "2359"
    assert format_time("0000") == "0000"
    with pytest.raises(BuildError):
        format_time(705)  # type: ignore[arg-type]


def test_normalise_text_reports_what_it_changed() -> None:
    text, changes = normalise_text("  Fresh\tfish   €10  ")
    assert text == "Freshfish 10"
    assert [c.kind for c in changes] == [
        ChangeKind.DROPPED_CHARACTERS,
        ChangeKind.COLLAPSED_SPACES,
        ChangeKind.TRIMMED,
    ]
    assert "'€' (U+20AC)" in str(changes[0]) and "2 character(s)" in str(changes[0])
    result = normalise_text("Plain text, ÄÖÜ ok")
    assert not result.changed
    assert result == ("Plain text, ÄÖÜ ok", ())


def test_normalise_text_per_syntax_level() -> None:
    assert normalise_text("Café", "UNOB").text == "Caf"
    assert normalise_text("ABC def", "UNOA").text == "ABC"
    with pytest.raises(BuildError, match="syntax level"):
        normalise_text("x", "UNOZ")
    with pytest.raises(BuildError, match="str"):
        normalise_text(b"x")  # type: ignore[arg-type]


@given(st.text(max_size=40), st.sampled_from(["UNOA", "UNOB", "UNOC"]))
def test_normalised_text_is_clean_and_stable(text: str, syntax: str) -> None:
    result = normalise_text(text, syntax)
    assert not invalid_char_pattern(syntax).search(result.text)
    assert "  " not in result.text and result.text == result.text.strip(" ")
    assert normalise_text(result.text, syntax) == (result.text, ())
    assert result.changed == (result.text != text)
