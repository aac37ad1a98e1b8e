"""parse_interchange: the model and the catalogue of envelope faults."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icsclient import EnvelopeError, IcsError, Segment, parse_interchange
from icsclient.edifact import ACTIONS, SYNTAX_ERRORS, syntax_error_meaning

GOOD = (
    b"UNA:+.? 'UNB+UNOC:3+AAA676Y::AAA676Y+AAA336C+040127:0730+1234++++1++1'"
    b"UNH+1+CUSCAR:D:99B:UN'BGM+933:::AIRCR+X1???++9'UNT+3+1'"
    b"UNH+2+CUSCAR:D:99B:UN'BGM+933:::AIRCR+X2+9'FTX+AAA+++hello'UNT+4+2'"
    b"UNZ+2+1234'"
)


def test_model_of_a_good_interchange() -> None:
    ic = parse_interchange(GOOD)
    assert ic.issues == ()
    assert (ic.syntax_id, ic.syntax_version) == ("UNOC", "3")
    assert (ic.sender, ic.owner, ic.recipient) == ("AAA676Y", "AAA676Y", "AAA336C")
    assert ic.prepared == datetime(2004, 1, 27, 7, 30)
    assert ic.control_reference == "1234"
    assert ic.ack_requested and ic.test
    assert [m.reference for m in ic.messages] == ["1", "2"]
    m = ic.messages[0]
    assert (m.type, m.version, m.release, m.agency) == ("CUSCAR", "D", "99B", "UN")
    assert m.segments == (Segment("BGM", ("933", "", "", "AIRCR"), "X1?+", "9"),)
    assert ic.to_bytes() == GOOD


def test_zero_padded_icr_kept_as_written() -> None:
    data = GOOD.replace(b"+1234+", b"+00000000001234+").replace(
        b"UNZ+2+1234", b"UNZ+2+00000000001234"
    )
    assert parse_interchange(data).control_reference == "00000000001234"


def _codes(data: bytes) -> list[tuple[int, str, int | None, int | None, str | None, int | None]]:
    ic = parse_interchange(data, strict=False)
    return [
        (
            f.code,
            f.segment_tag,
            f.segment_number,
            f.element,
            f.message_reference,
            f.message_position,
        )
        for f in ic.issues
    ]


FAULTS = [
    # (name, data, expected (code, tag, segment number, element, message ref, position))
    ("UNZ reference", GOOD.replace(b"UNZ+2+1234", b"UNZ+2+1235"), (28, "UNZ", 9, 3, None, None)),
    ("UNT reference", GOOD.replace(b"UNT+3+1", b"UNT+3+9"), (28, "UNT", 4, 3, "1", None)),
    ("UNZ count", GOOD.replace(b"UNZ+2+", b"UNZ+3+"), (29, "UNZ", 9, 2, None, None)),
    ("UNT count", GOOD.replace(b"UNT+4+2", b"UNT+5+2"), (29, "UNT", 8, 2, "2", None)),
    ("missing UNZ", GOOD.replace(b"UNZ+2+1234'", b""), (13, "UNZ", None, None, None, None)),
    ("missing UNT", GOOD.replace(b"UNT+3+1'", b""), (13, "UNT", None, None, "1", None)),
    (
        "missing UNB",
        GOOD.replace(b"UNB+UNOC:3+AAA676Y::AAA676Y+AAA336C+040127:0730+1234++++1++1'", b""),
        (13, "UNB", 1, None, None, None),
    ),
    (
        "segment outside message",
        GOOD.replace(b"UNZ", b"FTX+x'UNZ"),
        (33, "FTX", 9, None, None, None),
    ),
    ("segment after UNZ", GOOD + b"FTX+x'", (33, "FTX", 10, None, None, None)),
    ("syntax level", GOOD.replace(b"UNOC:3", b"UNOY:4"), (2, "UNB", 1, 2, None, None)),
    ("invalid character", GOOD.replace(b"hello", b"he\x07llo"), (21, "FTX", 7, 5, "2", 3)),
    (
        "empty interchange",
        b"UNB+UNOC:3+AAA676Y+AAA336C+040127:0730+1'UNZ+0+1'",
        (32, "UNB", 1, None, None, None),
    ),
    (
        "groups mixed",
        GOOD.replace(b"UNH+2", b"UNG+CUSCAR'UNH+2").replace(b"UNZ", b"UNE+1'UNZ"),
        (30, "UNG", None, None, None, None),
    ),
    ("time 2400", GOOD.replace(b"0730", b"2400"), (12, "UNB", 1, 5, None, None)),
    ("bad date", GOOD.replace(b"040127", b"041327"), (12, "UNB", 1, 5, None, None)),
    (
        "ICR not numeric",
        GOOD.replace(b"+1234+", b"+12A4+").replace(b"UNZ+2+1234", b"UNZ+2+12A4"),
        (12, "UNB", 1, 6, None, None),
    ),
    ("ICR too long", GOOD.replace(b"1234", b"123456789012345"), (39, "UNB", 1, 6, None, None)),
    (
        "UNH without type",
        GOOD.replace(b"UNH+2+CUSCAR:D:99B:UN", b"UNH+2+:D:99B:UN"),
        (13, "UNH", 5, 3, "2", 1),
    ),
    ("missing sender", GOOD.replace(b"AAA676Y::AAA676Y", b""), (13, "UNB", 1, 3, None, None)),
]


@pytest.mark.parametrize("name, data, expected", FAULTS, ids=[f[0] for f in FAULTS])
def test_envelope_fault_catalogue(name: str, data: bytes, expected: tuple[object, ...]) -> None:
    assert expected in _codes(data)
    with pytest.raises(EnvelopeError) as info:
        parse_interchange(data)
    assert expected[0] in [f.code for f in info.value.issues]


def test_finding_records_carry_meaning_and_level() -> None:
    ic = parse_interchange(GOOD.replace(b"he", b"h\x01"), strict=False)
    (f,) = ic.issues
    assert f.meaning == "invalid character(s)"
    assert f.level == "element"
    assert (f.element, f.component) == (5, 1)
    assert "FTX" in str(f) and "21" in str(f)


def test_strict_raises_with_all_findings() -> None:
    bad = GOOD.replace(b"UNZ+2+1234", b"UNZ+5+99").replace(b"UNT+3+1", b"UNT+9+1")
    with pytest.raises(EnvelopeError) as info:
        parse_interchange(bad)
    assert sorted(f.code for f in info.value.issues) == [28, 29, 29]


def test_code_tables() -> None:
    assert SYNTAX_ERRORS[29].startswith("control count")
    assert SYNTAX_ERRORS[2] == "syntax version or level not supported"
    assert ACTIONS[4] == "this level and all lower levels rejected"
    assert syntax_error_meaning(999) == "unknown syntax error code 999"
    for code in (2, 7, *range(12, 34), *range(35, 41)):
        assert code in SYNTAX_ERRORS


@given(st.binary(max_size=300))
def test_parse_never_raises_foreign_errors(data: bytes) -> None:
    try:
        parse_interchange(b"UNB+UNOC:3+A+B+200101:1200+1'" + data, strict=False)
    except IcsError:
        pass


@given(
    st.lists(
        st.sampled_from(
            [
                "UNB+UNOC:3+A+B+200101:1200+1'",
                "UNH+1+X:D:99B:UN'",
                "UNT+2+1'",
                "UNZ+1+1'",
                "UNG+X'",
                "UNE+1'",
                "FTX+a'",
                "UNH'",
                "UNT'",
                "UNZ'",
            ]
        ),
        max_size=12,
    )
)
def test_any_order_of_service_segments_is_reported_not_crashed(parts: list[str]) -> None:
    ic = parse_interchange("".join(parts), strict=False)
    clean = parts == []
    assert clean or ic.issues or ic.messages


def test_unoa_repertoire_is_checked_element_by_element() -> None:
    data = GOOD.replace(b"UNOC:3", b"UNOA:3").replace(b"hello", b"HELLO").replace(b"X2", b"x2")
    findings = parse_interchange(data, strict=False).issues
    assert [
        (f.code, f.segment_tag, f.segment_number, f.element, f.message_position) for f in findings
    ] == [(21, "BGM", 6, 3, 2)]


def test_segments_built_elsewhere_are_checked_the_same() -> None:
    from icsclient.edifact import iter_segments
    from icsclient.edifact.envelope import interchange_from_segments

    segs = list(iter_segments(GOOD.replace(b"hello", b"h\x02llo")))
    ic = interchange_from_segments(segs, strict=False)
    assert [(f.code, f.segment_number, f.element) for f in ic.issues] == [(21, 7, 5)]
    assert interchange_from_segments(list(iter_segments(GOOD))).issues == ()


@given(
    st.from_regex(r"[0-9]{6}|[0-9]{8}", fullmatch=True), st.from_regex(r"[0-9]{4}", fullmatch=True)
)
def test_unb_date_time_reading_agrees_with_strptime(date: str, time: str) -> None:
    from icsclient.edifact.envelope import _parse_datetime

    fmt = "%y%m%d%H%M" if len(date) == 6 else "%Y%m%d%H%M"
    try:
        expected: datetime | None = datetime.strptime(date + time, fmt)
    except ValueError:
        expected = None
    assert _parse_datetime(date, time) == expected


def test_crlf_between_segments_is_fine_but_not_inside_one() -> None:
    lines = GOOD.replace(b"'", b"'\r\n")
    assert parse_interchange(lines).issues == ()
    inside = lines.replace(b"hello", b"hel\r\nlo")
    assert [
        (f.code, f.segment_tag, f.segment_number, f.element)
        for f in parse_interchange(inside, strict=False).issues
    ] == [(21, "FTX", 7, 5)]
