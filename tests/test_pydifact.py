"""Differential test against pydifact and the adapter."""

from __future__ import annotations

import warnings

from hypothesis import given
from hypothesis import strategies as st
from pydifact.segmentcollection import Interchange as PInterchange

from icsclient import Segment, build_interchange, iter_segments, parse_interchange
from icsclient.edifact.pydifact_adapter import (
    from_pydifact_interchange,
    from_pydifact_segment,
    to_pydifact_interchange,
    to_pydifact_segment,
)

text = st.text(st.characters(codec="latin-1", exclude_categories=("Cc",)), min_size=1, max_size=10)
body_segment = st.builds(
    lambda tag, els: Segment(tag, *els),
    st.sampled_from(["BGM", "FTX", "RFF", "NAD", "LOC", "DTM", "MEA"]),
    st.lists(st.lists(text, min_size=1, max_size=3).map(tuple), min_size=1, max_size=5),
)
messages = st.lists(
    st.tuples(
        st.sampled_from(["CUSCAR", "CUSDEC"]), st.lists(body_segment, min_size=1, max_size=5)
    ),
    min_size=1,
    max_size=3,
)


def _norm(elements: list[object]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(e) if isinstance(e, list) else (e,) for e in elements)  # type: ignore[misc]


@given(messages, st.integers(1, 99999999999999))
def test_same_segments_as_pydifact(msgs: list[tuple[str, list[Segment]]], icr: int) -> None:
    data = build_interchange("AAA676Y", msgs, icr)
    ours = list(iter_segments(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = PInterchange.from_str(data.decode("latin-1"))
        their_segments = [
            theirs.get_header_segment(),
            *theirs.segments,
            theirs.get_footer_segment(),
        ]
    # pydifact keeps a one-component element as a str and drops nothing we write
    assert [(s.tag, s.elements) for s in ours[1:-1]] == [
        (s.tag, _norm(s.elements)) for s in their_segments[1:-1]
    ]
    assert ours[0].get(4) == their_segments[0].elements[4]


@given(messages)
def test_adapter_round_trip(msgs: list[tuple[str, list[Segment]]]) -> None:
    ic = parse_interchange(build_interchange("AAA676Y", msgs, 7))
    back = from_pydifact_interchange(to_pydifact_interchange(ic))
    assert back == ic
    for seg in ic.messages[0].segments:
        assert from_pydifact_segment(to_pydifact_segment(seg)) == seg
