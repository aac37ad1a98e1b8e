"""The ICR sequence: numbering, wrap-around at n14, per-site independence, format, validation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icsclient.errors import BuildError
from icsclient.ics.names import MAX_ICR
from icsclient.ics.sequence import IcrSequence, following, format_icr
from icsclient.store import MemoryStore, SqliteStore, Store

STORES: dict[str, Callable[[], Store]] = {
    "memory": MemoryStore,
    "sqlite": lambda: SqliteStore(":memory:"),
}


@pytest.fixture(params=sorted(STORES))
def seq(request: pytest.FixtureRequest) -> Iterator[IcrSequence]:
    with STORES[request.param]() as store:
        yield IcrSequence(store)


sites = st.text(alphabet="ABC123", min_size=1, max_size=3)


def test_starts_at_one_and_counts_up(seq: IcrSequence) -> None:
    assert [seq.next("AAA676Y") for _ in range(5)] == ["1", "2", "3", "4", "5"]


def test_peek_does_not_use_the_number(seq: IcrSequence) -> None:
    assert seq.peek("AAA676Y") == "1"
    assert seq.peek("AAA676Y") == "1"
    assert seq.next("AAA676Y") == "1"
    assert seq.peek("AAA676Y") == "2"
    assert seq.peek("AAA676Y", pad=True) == "00000000000002"


def test_reset_sets_the_next_number(seq: IcrSequence) -> None:
    seq.next("AAA676Y")
    seq.reset("AAA676Y", 1000)
    assert seq.next("AAA676Y") == "1000"
    assert seq.next("AAA676Y") == "1001"
    seq.reset("AAA676Y", MAX_ICR)
    assert [seq.next("AAA676Y"), seq.next("AAA676Y")] == [str(MAX_ICR), "1"]


def test_padded_format(seq: IcrSequence) -> None:
    padded = IcrSequence(seq.store, pad=True)
    assert padded.next("AAA676Y") == "00000000000001"
    assert padded.next("AAA676Y", pad=False) == "2"
    assert seq.next("AAA676Y", pad=True) == "00000000000003"
    seq.reset("AAA676Y", MAX_ICR)
    assert padded.next("AAA676Y") == "99999999999999"
    assert padded.next("AAA676Y") == "00000000000001"


@given(number=st.integers(1, MAX_ICR))
def test_format_icr(number: int) -> None:
    plain, padded = format_icr(number), format_icr(number, pad=True)
    assert plain.isdigit() and not plain.startswith("0") and int(plain) == number
    assert len(padded) == 14 and padded.isdigit() and int(padded) == number


@pytest.mark.parametrize("store_kind", sorted(STORES))
@given(start=st.integers(1, MAX_ICR), count=st.integers(1, 30))
def test_wraps_from_n14_to_one(store_kind: str, start: int, count: int) -> None:
    with STORES[store_kind]() as store:
        seq = IcrSequence(store)
        seq.reset("AAA676Y", start)
        drawn = [int(seq.next("AAA676Y")) for _ in range(count)]
    assert drawn == [(start - 1 + i) % MAX_ICR + 1 for i in range(count)]
    assert all(1 <= n <= MAX_ICR for n in drawn)


@given(start=st.integers(MAX_ICR - 5, MAX_ICR))
def test_wrap_near_the_top(start: int) -> None:
    seq = IcrSequence(MemoryStore())
    seq.reset("S", start)
    drawn = [int(seq.next("S")) for _ in range(MAX_ICR - start + 3)]
    assert drawn[-3:] == [MAX_ICR, 1, 2]
    assert following(MAX_ICR) == 1


@pytest.mark.parametrize("store_kind", sorted(STORES))
@given(ops=st.lists(st.tuples(sites, st.one_of(st.none(), st.integers(1, MAX_ICR))), max_size=40))
def test_each_site_has_its_own_sequence(store_kind: str, ops: list[tuple[str, int | None]]) -> None:
    """Draws and resets on interleaved sites behave like one independent counter per site."""
    model: dict[str, int] = {}
    with STORES[store_kind]() as store:
        seq = IcrSequence(store)
        for site, reset_to in ops:
            if reset_to is None:
                expected = model.get(site, 1)
                assert seq.next(site) == str(expected)
                model[site] = following(expected)
            else:
                seq.reset(site, reset_to)
                model[site] = reset_to
        for site in {s for s, _ in ops}:
            assert seq.peek(site) == str(model.get(site, 1))


@pytest.mark.parametrize(
    "site", ["", "aaa676y", "AAA 676", "AAA-676", "A" * 36, "ÄAA676Y", None, 7]
)
def test_invalid_site_ids_are_refused(seq: IcrSequence, site: Any) -> None:
    calls: list[Callable[[Any], object]] = [seq.next, seq.peek, lambda s: seq.reset(s, 1)]
    for call in calls:
        with pytest.raises(BuildError, match="site ID must be") as info:
            call(site)
        assert repr(site) in str(info.value)


@pytest.mark.parametrize("site", ["A", "AAA676Y", "Z" * 35, "0123456789"])
def test_valid_site_ids(seq: IcrSequence, site: str) -> None:
    assert seq.next(site) == "1"


@pytest.mark.parametrize("value", [0, -1, MAX_ICR + 1, True, 1.0, "5", None])
def test_reset_refuses_numbers_outside_n14(seq: IcrSequence, value: object) -> None:
    with pytest.raises(BuildError, match="invalid ICR number") as info:
        seq.reset("AAA676Y", value)  # type: ignore[arg-type]
    assert repr(value) in str(info.value)
    assert seq.peek("AAA676Y") == "1"


def test_store_methods_validate_too() -> None:
    store = MemoryStore()
    with pytest.raises(BuildError, match="'bad site'"):
        store.allocate_icr("bad site")
    with pytest.raises(BuildError, match="invalid ICR number 0"):
        store.set_next_icr("AAA676Y", 0)
