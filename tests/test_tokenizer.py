"""The streaming tokenizer and the serializer."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icsclient import (
    EdifactSyntaxError,
    IcsError,
    Segment,
    build_interchange,
    iter_segments,
    parse_interchange,
)
from icsclient.edifact import ServiceChars, serialize, serialize_segment, serializer, tokenizer
from icsclient.errors import BuildError

# graphic Latin-1: what UNOC can carry, every service character included
latin1 = st.characters(codec="latin-1", exclude_categories=("Cc",), include_characters=":+.?' ")
components = st.text(latin1, max_size=12)
elements = st.lists(components, min_size=1, max_size=4).map(tuple)
tags = st.from_regex(r"[A-Z][A-Z0-9]{2}", fullmatch=True).filter(lambda t: t != "UNA")
segments = st.builds(lambda tag, els: Segment(tag, *els), tags, st.lists(elements, max_size=6))


def test_segment_construction_and_accessors() -> None:
    seg = Segment("BGM", ("933", "", "", "AIRCR"), ("S1", "1"), "9")
    assert seg.tag == "BGM"
    assert seg.elements == (("933", "", "", "AIRCR"), ("S1", "1"), ("9",))
    assert seg.get(0, 3) == "AIRCR"
    assert seg.get(2) == "9"
    assert seg.get(7, default="x") == "x"
    assert seg.element(1) == ("S1", "1")
    assert str(seg) == "BGM+933:::AIRCR+S1:1+9'"
    assert repr(seg) == "Segment('BGM', ('933', '', '', 'AIRCR'), ('S1', '1'), '9')"
    assert seg == Segment("BGM", ["933", "", "", "AIRCR"], ("S1", "1"), ("9",))
    assert hash(seg) == hash(Segment("BGM", ("933", "", "", "AIRCR"), ("S1", "1"), "9"))
    with pytest.raises(AttributeError):
        seg.tag = "XXX"  # type: ignore[misc]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("bgm",), "tag"),
        (("BG",), "tag"),
        (("BGM", ()), "element 1"),
        (("BGM", ("a", 1)), "component 2"),
    ],
)
def test_segment_refuses_bad_values(args: tuple[object, ...], fragment: str) -> None:
    with pytest.raises(BuildError, match=fragment):
        Segment(*args)  # type: ignore[arg-type]


def significant(segs: list[Segment]) -> list[Segment]:
    """The segments as they read back: trailing empty components and elements are not
    written (ISO 9735: only significant characters)."""
    return [Segment(s.tag, *serializer._trimmed(s.elements)) for s in segs]


def test_trailing_empty_components_and_elements_are_not_written() -> None:
    seg = Segment("NAD", "CN", ("", "", ""), ("A", "", ""), "X", ("", ""), "")
    assert serialize_segment(seg) == "NAD+CN++A+X'"
    assert serialize([seg, Segment("UNS", ""), Segment("FTX", "?:", ("+", ""))], una=False) == (
        b"NAD+CN++A+X'UNS'FTX+???:+?+'"
    )


def test_release_characters_exactly() -> None:
    data = b"UNA:+.? 'FTX+a?+b?:c??d?'e+x:'"
    (seg,) = list(iter_segments(data))
    assert seg == Segment("FTX", "a+b:c?d'e", ("x", ""))
    # a trailing empty component is not significant: it is not written back (ISO 9735)
    assert serialize([seg], una=False) == b"FTX+a?+b?:c??d?'e+x'"


def test_crlf_between_segments_and_bom_before_una() -> None:
    data = b"\xef\xbb\xbf\r\nUNA:+.? 'UNB+UNOC:3'\r\nUNH+1'\nUNT+2+1'\r\n"
    reader = iter_segments(data)
    assert [s.tag for s in reader] == ["UNB", "UNH", "UNT"]
    assert reader.una == "UNA:+.? '"
    assert reader.skipped_prefix == 5


def test_any_six_service_characters() -> None:
    data = "UNA|*,! ~UNB*UNOC|3~FTX*a!*b!|c!!!~*x~"
    reader = iter_segments(data)
    segs = list(reader)
    assert reader.service_chars == ServiceChars("|", "*", ",", "!", " ", "~")
    assert segs[1] == Segment("FTX", "a*b|c!~", "x")
    assert serialize(segs, chars=reader.service_chars) == data.encode()


def test_streams_from_a_file_object_in_small_chunks() -> None:
    body = b"".join(b"FTX+line ?'%d?'+x:y'\r\n" % i for i in range(500))
    reader = iter_segments(io.BytesIO(b"UNA:+.? '" + body), chunk_size=7)
    segs = list(reader)
    assert len(segs) == 500
    assert segs[499] == Segment("FTX", "line '499'", ("x", "y"))


def test_latin1_decoding() -> None:
    (seg,) = iter_segments("FTX+Café Zürich'".encode("latin-1"))
    assert seg.get(0) == "Café Zürich"


@pytest.mark.parametrize(
    "data, reason, offset, number",
    [
        (b"UNB+UNOC:3'UNH+1", "after the last segment terminator", 11, 2),
        (b"UNB+UNOC:3''", "empty segment", 11, 2),
        (b"UNB+1'un+2'", "invalid segment tag", 6, 2),
        (b"UNB+1'FTX+?x'", "not a service character", 10, 2),
        (b"UNB+1'FTX+a?'", "after the last segment terminator", 6, 2),
        (b"UNB+1'UNA:+.? '", "only allowed at the start", 6, 2),
        (b"UNA:+", "cut short", 0, 0),
        (b"UNB+1'\r\nFTX+a??b?'c'XX+1'", "invalid segment tag 'XX'", 20, 3),
        (b"UNB+1'FTX+a?''FTX+b?x'", "not a service character", 19, 3),
        (b"UNA::::::UNB'", "invalid UNA", 0, 0),
    ],
)
def test_malformed_input_names_offset_and_segment(
    data: bytes, reason: str, offset: int, number: int
) -> None:
    with pytest.raises(EdifactSyntaxError, match=reason) as info:
        list(iter_segments(data))
    assert info.value.offset == offset
    assert info.value.segment_number == number
    assert f"byte offset {offset}" in str(info.value)


def test_control_and_private_use_characters_are_data_next_to_escapes() -> None:
    # the tokenizer folds escaped pairs into characters absent from the block: any
    # character the data does hold stays data
    text = "UNB+1'FTX+\x01\x02\x03\x04\ue000?+a?:b??c?'d'"
    segs = list(iter_segments(text))
    assert segs[1] == Segment("FTX", "\x01\x02\x03\x04\ue000+a:b?c'd")


def test_serializer_refuses_what_unoc_cannot_carry() -> None:
    with pytest.raises(BuildError, match=r"segment FTX, element 2, component 3: .*U\+20AC.*UNOC"):
        serialize([Segment("FTX", "ok", ("a", "b", "price €5"))])
    with pytest.raises(BuildError, match="UNOA"):
        serialize([Segment("FTX", "lower case")], syntax="UNOA")


def test_serializer_writes_no_line_breaks() -> None:
    out = serialize([Segment("UNB", ("UNOC", "3")), Segment("FTX", "a")])
    assert b"\n" not in out and b"\r" not in out
    assert out == b"UNA:+.? 'UNB+UNOC:3'FTX+a'"


@given(st.lists(segments, min_size=1, max_size=8))
def test_round_trip(segs: list[Segment]) -> None:
    data = serialize(segs)
    assert list(iter_segments(data)) == significant(segs)
    assert list(iter_segments(data, chunk_size=3)) == significant(segs)


@given(st.lists(segments, min_size=1, max_size=5), st.sampled_from(list("|*!~#")))
def test_round_trip_other_service_characters(segs: list[Segment], _: str) -> None:
    chars = ServiceChars("|", "*", ",", "!", " ", "~")
    assert list(iter_segments(serialize(segs, chars=chars))) == significant(segs)


any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@given(
    st.lists(
        st.builds(
            lambda tag, els: Segment(tag, *els),
            tags,
            st.lists(st.lists(any_text, min_size=1, max_size=3).map(tuple), max_size=4),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_tokenizer_round_trip_for_any_characters(segs: list[Segment]) -> None:
    # control and private-use characters in the data never collide with the tokenizer's
    # stand-ins for escaped service characters
    text = "".join(serialize_segment(s, charset=None) for s in segs)
    assert list(iter_segments(text, chunk_size=7)) == significant(segs)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_our_error(data: bytes) -> None:
    try:
        list(iter_segments(data, chunk_size=16))
    except IcsError:
        pass


@given(
    st.lists(
        st.sampled_from(
            [b"UNA:+.? '", b"UNB+", b"?", b"'", b"+", b":", b"\r\n", b"A", b"\xff", b"FTX"]
        ),
        max_size=30,
    )
)
def test_service_character_soup_raises_only_our_error(parts: list[bytes]) -> None:
    try:
        list(iter_segments(b"".join(parts), chunk_size=5))
    except IcsError:
        pass


# --- the fast paths and their fallbacks ----------------------------------------------


def test_reader_next_and_iteration_share_one_stream() -> None:
    reader = iter_segments(b"UNA:+.? 'AAA+1'BBB+2'CCC+3'", chunk_size=8)
    first = next(reader)
    assert first == Segment("AAA", "1") and type(first) is Segment and first.tag == "AAA"
    assert reader.segment_number >= 1
    assert list(reader) == [Segment("BBB", "2"), Segment("CCC", "3")]
    assert reader.segment_number == 3 and reader.offset == 27


def test_element_texts_are_shared_across_blocks_and_forgotten_past_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = b"".join(b"DTM+137:202611221030:203'FTX+A?+B'" for _ in range(40))
    segs = list(iter_segments(data, chunk_size=64, share=True))
    assert len(segs) == 80 and {s.elements for s in segs[::2]} == {
        (("137", "202611221030", "203"),)
    }
    assert segs[0].elements[0] is segs[-2].elements[0]  # one reader, one cache
    unshared = list(iter_segments(data, chunk_size=64))
    assert unshared == segs
    assert unshared[0].elements[0] is not unshared[-2].elements[0]  # streaming's default
    dtm = Segment("DTM", ("137", "202611221030", "203"))
    built = build_interchange("AAA676Y", [("CUSDEC", [dtm, dtm])] * 2, 1)
    kept = [s for m in parse_interchange(built).messages for s in m.segments]
    assert len(kept) == 4 and all(s.elements[0] is kept[0].elements[0] for s in kept)
    monkeypatch.setattr(tokenizer, "_CACHE_LIMIT", 1)
    again = list(iter_segments(data, chunk_size=64, share=True))
    assert again == segs
    assert again[0].elements[0] is not again[-2].elements[0]  # started afresh on the way


@given(
    st.lists(
        st.builds(
            lambda tag, els: Segment(tag, *els),
            st.sampled_from(["FTX", "GID", "MEA"]),
            st.lists(
                st.lists(
                    st.sampled_from(["a", "b?", "c:", "\x01", "\x02+", "'", ""]),
                    min_size=1,
                    max_size=3,
                ).map(tuple),
                max_size=3,
            ),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 40),
    st.integers(0, 3),
    st.booleans(),
)
def test_repeated_elements_round_trip_whatever_the_blocks_and_cache_limit(
    segs: list[Segment], chunk_size: int, limit: int, share: bool
) -> None:
    # the same element text in many blocks, with and without escapes next to control
    # characters that serve as the blocks' stand-ins for escaped characters
    text = "".join(serialize_segment(s, charset=None) for s in segs)
    saved = tokenizer._CACHE_LIMIT
    tokenizer._CACHE_LIMIT = limit
    try:
        assert list(iter_segments(text, chunk_size=chunk_size, share=share)) == significant(segs)
    finally:
        tokenizer._CACHE_LIMIT = saved


@given(st.lists(segments, max_size=12), st.integers(1, 5))
def test_serialize_is_the_segments_serialized_one_by_one(segs: list[Segment], batch: int) -> None:
    saved = serializer._BATCH
    serializer._BATCH = batch
    try:
        out = serialize(segs, una=False)
    finally:
        serializer._BATCH = saved
    assert out == "".join(serialize_segment(s) for s in segs).encode("latin-1")


def test_serializer_escapes_only_the_segments_of_a_batch_that_need_it() -> None:
    segs = [Segment("GID", str(i), ("1", "CT")) for i in range(serializer._BATCH * 2 + 5)]
    for i in (0, 7, serializer._BATCH - 1, serializer._BATCH, len(segs) - 1):
        segs[i] = Segment("FTX", f"O'BRIEN {i}", ("A+B", "1:2", "WHAT?"))
    segs[9] = Segment("UNS")
    out = serialize(segs, una=False)
    assert out == "".join(serialize_segment(s) for s in segs).encode("latin-1")
    assert out.count(b"O?'BRIEN") == 5 and b"UNS'" in out
    assert list(iter_segments(out)) == significant(segs)


@pytest.mark.parametrize(
    "bad, where",
    [
        ("\u20ac", "segment FTX, element 2, component 1"),  # beyond Latin-1
        ("\x07", "segment FTX, element 2, component 1"),  # in Latin-1, not in UNOC
    ],
)
def test_serializer_names_the_first_segment_it_cannot_write(bad: str, where: str) -> None:
    segs = [Segment("GID", str(i), ("1", "CT")) for i in range(50)]
    segs[3] = Segment("MEA", "A+B")  # needs escaping, and comes first
    segs[10] = Segment("FTX", "1", f"x{bad}")
    segs[20] = Segment("NAD", "\u0100")  # a later fault is not the one named
    with pytest.raises(BuildError, match=where):
        serialize(segs)
    segs[10] = Segment("FTX", "1", "x")
    with pytest.raises(BuildError, match="segment NAD, element 1, component 1"):
        serialize(segs)


@given(st.lists(st.text(alphabet="ab", max_size=5), min_size=1, max_size=8), st.data())
def test_pieces_at_names_the_piece_each_position_falls_in(
    pieces: list[str], data: st.DataObject
) -> None:
    from icsclient.edifact._pieces import pieces_at

    joined = "'".join(pieces)
    positions = data.draw(st.lists(st.integers(0, len(joined) + 1), max_size=6))
    # naive: walk the joined text; a separator (or the end) belongs to the piece before it
    owner: list[int] = []
    for i, piece in enumerate(pieces):
        owner.extend([i] * (len(piece) + 1))
    owner.append(len(pieces))  # one past the end
    assert pieces_at(pieces, positions) == {owner[k] for k in positions}


def test_without_a_release_character_a_separator_in_the_data_is_refused_by_name() -> None:
    chars = ServiceChars(release=" ")
    segs = [Segment("GID", str(i), ("1", "CT")) for i in range(30)]
    assert serialize(segs, chars=chars, una=False).startswith(b"GID+0+1:CT'GID+1+1:CT'")
    segs[12] = Segment("FTX", "AAA", ("ok", "A+B"))
    for call in (lambda: serialize(segs, chars=chars), lambda: serialize_segment(segs[12], chars)):
        with pytest.raises(BuildError, match=r"segment FTX, element 2, component 2: .*no release"):
            call()


def test_escaping_releases_first_so_each_escape_stays_single() -> None:
    seg = Segment("FTX", "?+", "a?:b'")
    assert serialize_segment(seg) == "FTX+???++a???:b?''"
    assert serialize([seg], una=False) == b"FTX+???++a???:b?''"


def test_escapes_are_restored_in_what_errors_and_flags_show() -> None:
    with pytest.raises(EdifactSyntaxError) as info:
        list(iter_segments(b"UNB+1'FTX+a?'"))
    assert "FTX+a'" in str(info.value)  # the escaped terminator, not its stand-in
    reader = iter_segments(b"UNB+1'FTX+a?+b'FTX+a?+\x07'FTX+c'")
    assert len(list(reader)) == 4
    # the stand-ins for escaped pairs are control characters: only the real one is flagged
    assert reader.flagged == {3}
