"""Hostile input to the tokenizer: the first fault whatever the chunking, the limits, and
shapes that used to take time growing faster than the input (issue 16, items 1-3, 13)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from icsclient.edifact import iter_segments, tokenizer
from icsclient.errors import EdifactSyntaxError

UNB = "UNB+UNOC:3+AAA676Y+AAA336C+240101:1200+1'"


def _outcome(data: str, chunk_size: int) -> object:
    try:
        return [tuple(s) for s in iter_segments(data, chunk_size=chunk_size)]
    except EdifactSyntaxError as exc:
        return (str(exc), exc.offset, exc.segment_number)


_pieces = st.sampled_from(
    [
        "UNB",
        "UNH",
        "BGM",
        "UNA:+.? '",
        "UNA",
        "+",
        ":",
        "?",
        "'",
        "?'",
        "??",
        "?+",
        "?:",
        "ab",
        "x1",
        "u",
        "\r\n",
        " ",
        "\n",
        "\xef\xbb\xbf",
        "\x01",
        "é",
        "''",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=25).map("".join))
@example("UNB+a'bad+x?y'UNH?'")
@example("UNB+a'UNH+1'\r\nUNA:+.? 'x")
@example("UNB+?x'x y+1'")
def test_the_fault_reported_is_the_first_in_the_input_whatever_the_chunk_size(text: str) -> None:
    whole = _outcome(text, max(len(text), 1))
    for size in (1, 7, 4096):
        assert _outcome(text, size) == whole


@pytest.mark.parametrize("size", [1, 2, 3, 7, 4096])
def test_a_long_run_of_escaped_terminators_is_one_segment_at_any_chunk_size(size: int) -> None:
    text = UNB[:-1] + "+" + "?'" * 3000 + "'UNZ+0+1'"
    segments = list(iter_segments(text, chunk_size=size))
    assert [s.tag for s in segments] == ["UNB", "UNZ"]
    assert segments[0].get(5) == "'" * 3000


@pytest.mark.parametrize("run", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("size", [1, 2, 3, 16])
def test_release_runs_across_chunk_boundaries_pair_up_from_their_start(run: int, size: int) -> None:
    # an odd run ends in an escaped terminator, an even run in a released "?" and a real one
    text = UNB + "FTX+" + "?" * run + "'x'"
    whole = _outcome(text, len(text))
    assert _outcome(text, size) == whole
    if run % 2 == 0:
        assert whole == _outcome(UNB + "FTX+" + "?" * run + "'X'", len(text)) or isinstance(
            whole, tuple
        )


@pytest.mark.parametrize("size", [1, 2, 4096])
def test_a_long_prefix_of_whitespace_and_a_bom_is_skipped_and_counted(size: int) -> None:
    prefix = "\r\n" * 5000 + " \t" + "\xef\xbb\xbf" + "\n" * 3
    reader = iter_segments((prefix + UNB).encode("latin-1"), chunk_size=size)
    assert [s.tag for s in reader] == ["UNB"]
    assert reader.skipped_prefix == len(prefix)


def test_a_second_bom_is_not_part_of_the_prefix() -> None:
    with pytest.raises(EdifactSyntaxError, match="invalid segment tag") as info:
        list(iter_segments("\xef\xbb\xbf \xef\xbb\xbf" + UNB, chunk_size=2))
    assert info.value.offset == 4


def test_text_without_a_terminator_longer_than_the_limit_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tokenizer, "MAX_SEGMENT_BYTES", 10_000)
    with pytest.raises(EdifactSyntaxError, match="at most 10000 bytes") as info:
        list(iter_segments(UNB + "FTX+" + "?'" * 20_000, chunk_size=512))
    assert info.value.segment_number == 2
    # a long segment under the limit is read whole
    assert len(list(iter_segments(UNB + "FTX+" + "a" * 9_000 + "'", chunk_size=7))) == 2


def test_the_collector_is_left_alone_unless_the_caller_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(tokenizer.gc, "disable", lambda: calls.append("disable"))
    monkeypatch.setattr(tokenizer.gc, "enable", lambda: calls.append("enable"))
    monkeypatch.setattr(tokenizer.gc, "isenabled", lambda: True)
    list(iter_segments(UNB * 3))
    assert calls == []
    list(iter_segments(UNB * 3, pause_gc=True))
    assert calls == ["disable", "enable"]
