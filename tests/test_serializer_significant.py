"""Only significant characters are written: trailing empty components and elements are
left out (ISO 9735; the CCF asks for it), checked against pydifact's serializer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pydifact.segments import Segment as PSegment
from pydifact.serializer import Serializer

from icsclient import Segment, build_interchange, iter_segments
from icsclient.edifact import serialize
from icsclient.edifact.serializer import _trimmed

maybe_empty = st.text(st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=6)
non_empty = st.text(
    st.characters(codec="latin-1", exclude_categories=("Cc",)), min_size=1, max_size=6
)
element = st.lists(maybe_empty, min_size=1, max_size=4).map(tuple)
# the last element's first component is not empty: no trailing empty element to leave out
segment = st.builds(
    lambda tag, els, last: Segment(tag, *els, (last,)),
    st.sampled_from(["NAD", "FTX", "RFF", "LOC"]),
    st.lists(element, max_size=4),
    non_empty,
)


def _pydifact_text(segments: list[Segment]) -> str:
    theirs = [
        PSegment(s.tag, *[list(e) if len(e) > 1 else e[0] for e in s.elements]) for s in segments
    ]
    return Serializer().serialize(theirs, with_una_header=False)


def test_the_issue_example() -> None:
    seg = Segment("NAD", "CN", ("", "", ""), "SMITH")
    assert serialize([seg], una=False) == b"NAD+CN++SMITH'" == _pydifact_text([seg]).encode()


@given(st.lists(segment, min_size=1, max_size=5))
def test_empty_components_are_written_as_pydifact_writes_them(segs: list[Segment]) -> None:
    assert serialize(segs, una=False).decode("latin-1") == _pydifact_text(segs)


@given(st.lists(st.builds(lambda els: Segment("FTX", *els), st.lists(element, max_size=5))))
def test_trailing_empty_elements_are_left_out_and_read_back_the_same(
    segs: list[Segment],
) -> None:
    # pydifact writes a trailing empty element's separator (FTX+A++'); we leave it out;
    # both read back as the same significant data
    ours = list(iter_segments(serialize(segs, una=False)))
    theirs = list(iter_segments(_pydifact_text(segs)))
    assert ours == [Segment(s.tag, *_trimmed(s.elements)) for s in theirs]
    assert all(not s.elements or s.elements[-1] != ("",) for s in ours)


def test_an_interchange_holds_no_trailing_separator() -> None:
    data = build_interchange("AAA676Y", [("CUSCAR", [Segment("FTX", "AAA", "", ("", ""))])], 5)
    assert b"FTX+AAA'" in data
