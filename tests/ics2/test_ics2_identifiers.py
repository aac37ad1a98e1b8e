"""EORI, AS4 party id, LRN and MRN rules (ICS2-RULES §1)."""

from __future__ import annotations

import itertools

import pytest

from icsclient.errors import BuildError
from icsclient.ics2 import (
    EoriError,
    LrnGenerator,
    PartyId,
    PartyIdError,
    ReferenceNumberError,
    check_eori,
    check_lrn,
    check_mrn,
    eori_notes,
    format_party_id,
    is_eori,
    parse_party_id,
)


def test_eori_is_normalised() -> None:
    assert check_eori(" de 1234 5678 ") == "DE12345678"
    assert check_eori("xi123456789000") == "XI123456789000"
    assert is_eori("FR12345678901234") and not is_eori("FR")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("D", "3 to 17"),
        ("DE1234567890123456", "18 characters"),
        ("GB123456789000", "GB is not an EU EORI"),
        ("US123456", "not an EU-27"),
        ("12345678", "two-letter country prefix"),
        ("DE12-456", "characters other than"),
        ("DEÄ12345", "characters other than"),
    ],
)
def test_eori_errors_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(EoriError, match=says) as info:
        check_eori(text)
    assert isinstance(info.value, BuildError)


def test_greece_both_prefixes_with_a_note() -> None:
    assert check_eori("EL123456789") == "EL123456789"
    assert eori_notes("EL123456789") and not eori_notes("GR123456789")
    assert eori_notes("GR1", greece="EL") and not eori_notes("EL1", greece="EL")


def test_party_id_forms() -> None:
    assert parse_party_id("DE123456") == PartyId("DE123456")
    assert parse_party_id("sys01@DE123456") == PartyId("DE123456", "sys01")
    assert parse_party_id("DE123456@FR") == PartyId("DE123456", None, "FR")
    assert parse_party_id("s@DE123456@FR") == PartyId("DE123456", "s", "FR")
    assert str(PartyId("DE123456", "s", "FR")) == "s@DE123456@FR"
    assert format_party_id("de 123456", system="AB1") == "AB1@DE123456"


@pytest.mark.parametrize(
    "text",
    ["", "@DE123456", "DE123456@", "a@b@c@d", "GB123456", "toolongsystemid1@DE123456",
     "s@DE123456@US", "de123456", "sys-1@DE123456"],
)  # fmt: skip
def test_party_id_refused(text: str) -> None:
    with pytest.raises(PartyIdError):
        parse_party_id(text)


def test_lrn_and_mrn() -> None:
    assert check_lrn("ABC123") == "ABC123"
    for bad in ("", "A" * 23, "AB-12"):
        with pytest.raises(ReferenceNumberError):
            check_lrn(bad)
    assert check_mrn("26DE12345678901234") == "26DE12345678901234"
    for bad in ("26DE1234567890123", "2XDE12345678901234", "26D112345678901234"):
        with pytest.raises(ReferenceNumberError, match="MRN"):
            check_mrn(bad)


def test_lrn_generator_unique_and_bounded() -> None:
    gen = LrnGenerator("FWD", itertools.count(1), width=8)
    assert [gen(), gen()] == ["FWD00000001", "FWD00000002"]
    numbers = iter([7, 7 + 10**8])
    gen2 = LrnGenerator("FWD", lambda: next(numbers), width=8)
    assert gen2() == "FWD00000007" and gen2() == "FWD100000007"
    with pytest.raises(ReferenceNumberError):
        LrnGenerator("X" * 15, itertools.count(), width=10)
    with pytest.raises(ReferenceNumberError):
        LrnGenerator("A-B", itertools.count())
    big = LrnGenerator("P" * 12, iter([10**10]), width=10)
    with pytest.raises(ReferenceNumberError, match="23 characters"):
        big()
    assert "FWD" in repr(gen)
