"""CONTRL: reading the CCF's syntax reports and writing them (icsclient.ics.contrl)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icsclient import IcsError, ReceivedError, Segment, parse_interchange
from icsclient.edifact.envelope import Finding, Message
from icsclient.errors import BuildError
from icsclient.ics.contrl import (
    ActionCode,
    ErrorCode,
    build_contrl,
    build_contrl_interchange,
    parse_contrl,
    parse_contrl_all,
)
from icsclient.ics.envelope import build_interchange

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
WHEN = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)
BGM = Segment("BGM", ("933", "", "", "AIRCR"), ("S1", "1"), "9")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def lodged(n: int = 2, icr: int | str = "00000000001234", *, test: bool = False) -> bytes:
    return build_interchange(
        "AAA676Y", [("CUSCAR", [BGM, Segment("FTX", "AAA")])] * n, icr, prepared=WHEN, test=test
    )


# ------------------------------------------------------------------ reading the fixtures


def test_accepted_contrl() -> None:
    report = parse_contrl(fixture("contrl_accepted.edi"))
    assert report.control_reference == "1234"
    assert (report.sender, report.owner, report.recipient) == ("AAA676Y", "AAA676Y", "AAA336C")
    assert report.action == 7 and report.error is None
    assert report.accepted and not report.rejected
    assert report.messages == () and report.rejected_messages == ()
    assert report.findings() == ()
    assert report.explain() == "interchange 1234 (AAA676Y to AAA336C) accepted"


def test_interchange_rejected_with_signature_error() -> None:
    report = parse_contrl(fixture("contrl_interchange_rejected.edi"))
    assert report.rejected and not report.accepted
    assert report.error == 27 and report.segment_tag == "UNB"
    assert report.error.meaning == "security function not supported"
    assert report.action.meaning == "this level and all lower levels rejected"
    assert report.explain() == (
        "interchange 1234 (AAA676Y to AAA336C) rejected: UNB: security function not supported (27)"
    )
    assert report.findings() == (Finding(27, "UNB"),)


def test_message_rejected_for_wrong_segment_count() -> None:
    report = parse_contrl(fixture("contrl_message_rejected.edi"))
    assert report.action == 7 and not report.accepted and not report.rejected
    (message,) = report.rejected_messages
    assert (message.reference, message.type, message.version, message.release) == (
        "2",
        "CUSCAR",
        "D",
        "99B",
    )
    assert (message.error, message.segment_tag, message.element) == (29, "UNT", 2)
    assert report.message("2") is message and report.message("1") is None
    assert report.explain().splitlines()[1] == (
        "message 2 (CUSCAR) rejected: UNT, element 2: "
        "control count does not match number of instances received (29)"
    )


def test_segment_and_element_errors() -> None:
    report = parse_contrl(fixture("contrl_segment_errors.edi"))
    first, second = report.messages
    assert first.rejected and not second.rejected and not second.has_errors
    assert [s.position for s in first.segment_errors] == [3, 5, 9]
    s3, s5, s9 = first.segment_errors
    assert s3.error == 13 and s3.element_errors == ()
    assert s5.error is None
    assert [(e.error, e.element, e.component) for e in s5.element_errors] == [
        (39, 3, None),
        (12, 4, 2),
    ]
    assert s9.error == 35 and s9.element_errors[0].error == 37
    assert report.explain().splitlines()[1:] == [
        "message 1 (CUSCAR) rejected: segment 3: missing (13); "
        "segment 5, element 3: data element too long (39); "
        "segment 5, element 4, component 2: invalid value (12); "
        "segment 9: too many data element or segment repetitions (35); "
        "segment 9, element 2: invalid type of character(s) (37)",
        "message 2 (CUSCAR) acknowledged",
    ]
    assert Finding(12, "", None, 4, 2, "1", 5) in report.findings()


def test_codes_are_ints_that_know_their_meaning() -> None:
    code = ErrorCode(39)
    assert code == 39 and isinstance(code, int) and str(code) == "39" and f"{code}" == "39"
    assert code.describe() == "data element too long (39)"
    assert "data element too long" in repr(code)
    assert ErrorCode(998).meaning == "unknown syntax error code 998"
    assert ActionCode(8).word == "received" and ActionCode(9).word == "action 9"


def test_accepts_interchange_message_or_bytes() -> None:
    data = fixture("contrl_message_rejected.edi")
    interchange = parse_interchange(data)
    assert parse_contrl(data) == parse_contrl(interchange) == parse_contrl(interchange.messages[0])


def test_refuses_what_is_not_one_contrl() -> None:
    cusres = parse_interchange(fixture("aircrr_accepted.edi"))
    with pytest.raises(ReceivedError, match="holds no CONTRL"):
        parse_contrl(cusres)
    with pytest.raises(ReceivedError, match="is a CUSRES, not a CONTRL"):
        parse_contrl(cusres.messages[0])
    body = [Segment("UCI", "1", "AAA676Y", "AAA336C", "7")]
    two = parse_interchange(build_interchange("AAA336C", [("CONTRL", body)] * 2, 9, prepared=WHEN))
    with pytest.raises(ReceivedError, match="2 CONTRL messages"):
        parse_contrl(two)
    assert len(parse_contrl_all(two)) == 2
    with pytest.raises(TypeError):
        parse_contrl("UNB+...")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "expected UCI as segment 2, found nothing"),
        ([Segment("UCM", "1", "CUSCAR", "4")], "expected UCI as segment 2, found UCM"),
        ([Segment("UCI", "", "A", "B", "7")], "segment 2 \\(UCI\\), element 2: .*missing"),
        ([Segment("UCI", "1", "A", "B", "X")], "segment 2 \\(UCI\\), element 5: .*'X' is not"),
        ([Segment("UCI", "1", "A", "B", "7"), Segment("UCS", "3")], "UCS outside a UCM"),
        (
            [
                Segment("UCI", "1", "A", "B", "7"),
                Segment("UCM", "1", "X", "4"),
                Segment("UCD", "12", "2"),
            ],
            "segment 4 \\(UCD\\), element 1: UCD without a preceding UCS",
        ),
        (
            [Segment("UCI", "1", "A", "B", "7"), Segment("UCM", "1", "X", "4"), Segment("UCS", "")],
            "segment position \\(0096\\) is missing",
        ),
        ([Segment("UCI", "1", "A", "B", "7"), Segment("BGM", "x")], "unexpected segment BGM"),
    ],
)
def test_malformed_contrl_names_the_place(body: list[Segment], message: str) -> None:
    msg = Message.create("7", "CONTRL", body, release="3")
    with pytest.raises(ReceivedError, match=message) as info:
        parse_contrl(msg)
    assert "CONTRL message '7'" in str(info.value)


# ------------------------------------------------------------------ writing


def test_clean_interchange_gets_action_7_quoting_the_padded_icr() -> None:
    received = parse_interchange(lodged())
    assert build_contrl(received) == (
        Segment("UCI", "00000000001234", ("AAA676Y", "", "AAA676Y"), "AAA336C", "7"),
    )
    listed = build_contrl(received, list_accepted=True)
    assert [str(s) for s in listed[1:]] == ["UCM+1+CUSCAR:D:99B:UN+7'", "UCM+2+CUSCAR:D:99B:UN+7'"]


def test_findings_go_to_their_level() -> None:
    received = parse_interchange(lodged(3))
    findings = [
        Finding(39, "BGM", None, 3, None, "2", 2, "too long"),
        Finding(13, "FTX", None, None, None, "2", 3),
        Finding(29, "UNT", 9, 2, None, "3"),
    ]
    text = [str(s) for s in build_contrl(received, findings)]
    assert text == [
        "UCI+00000000001234+AAA676Y::AAA676Y+AAA336C+7'",
        "UCM+2+CUSCAR:D:99B:UN+4'",
        "UCS+2'",
        "UCD+39+3'",
        "UCS+3+13'",
        "UCM+3+CUSCAR:D:99B:UN+4+29+UNT+2'",
    ]
    # an interchange-level finding rejects the interchange; only the first one fits in UCI
    both = [Finding(28, "UNZ", 9, 3), Finding(29, "UNZ", 9, 2), *findings]
    assert str(build_contrl(received, both, list_accepted=True)[0]) == (
        "UCI+00000000001234+AAA676Y::AAA676Y+AAA336C+4+28+UNZ+3'"
    )


def test_contrl_from_envelope_findings_of_a_broken_interchange() -> None:
    broken = lodged(2).replace(b"UNT+4+2", b"UNT+5+2")
    received = parse_interchange(broken, strict=False)
    report = parse_contrl(build_contrl_interchange(received, icr=77, prepared=WHEN))
    assert report.explain() == (
        "interchange 00000000001234 (AAA676Y to AAA336C) acknowledged\n"
        "message 2 (CUSCAR) rejected: UNT, element 2: "
        "control count does not match number of instances received (29)"
    )


def test_example_from_the_issue() -> None:
    received = parse_interchange(lodged(2))
    findings = [Finding(39, "BGM", None, 3, None, "2", 5)]
    report = parse_contrl(build_contrl_interchange(received, findings, icr=5, prepared=WHEN))
    assert report.rejected_messages[0].explain() == (
        "message 2 (CUSCAR) rejected: segment 5, element 3: data element too long (39)"
    )


def test_contrl_interchange_is_addressed_back_and_asks_no_acknowledgement() -> None:
    received = parse_interchange(lodged(1, test=True))
    data = build_contrl_interchange(received, icr="00000000000009", prepared=WHEN)
    reply = parse_interchange(data)
    assert (reply.sender, reply.owner, reply.recipient) == ("AAA336C", "AAA336C", "AAA676Y")
    assert reply.control_reference == "00000000000009"
    assert reply.test and not reply.ack_requested
    assert [(m.type, m.version, m.release) for m in reply.messages] == [("CONTRL", "D", "3")]
    assert not parse_interchange(
        build_contrl_interchange(received, icr=10, prepared=WHEN, test=False)
    ).test
    clocked = build_contrl_interchange(received, icr=11, clock=lambda: WHEN)
    assert parse_interchange(clocked).prepared == datetime(2024, 1, 2, 14, 4)


def test_at_most_99_element_errors_per_segment() -> None:
    received = parse_interchange(lodged(1))
    findings = [Finding(12, "FTX", None, n, None, "1", 3) for n in range(2, 150)]
    body = build_contrl(received, findings)
    assert sum(s.tag == "UCD" for s in body) == 99


def test_refuses_to_answer_without_a_control_reference() -> None:
    received = parse_interchange(lodged(1).replace(b"+00000000001234", b"+"), strict=False)
    with pytest.raises(BuildError, match="control reference"):
        build_contrl(received)
    with pytest.raises(BuildError, match="Finding"):
        build_contrl(parse_interchange(lodged(1)), ["oops"])  # type: ignore[list-item]


# ------------------------------------------------------------------ properties

CODES = st.integers(0, 999)
POSITIONS = st.integers(1, 999)
TAGS = st.from_regex(r"[A-Z][A-Z0-9]{2}", fullmatch=True) | st.just("")


@st.composite
def located(draw: st.DrawFn) -> tuple[int | None, int | None]:
    element = draw(st.none() | POSITIONS)
    component = draw(st.none() | POSITIONS) if element is not None else None
    return element, component


@st.composite
def received_with_findings(draw: st.DrawFn) -> tuple[object, list[Finding]]:
    types = draw(st.lists(st.sampled_from(["CUSCAR", "CUSDEC", "CUSREP"]), min_size=1, max_size=4))
    icr = draw(st.integers(1, 10**14 - 1))
    icr_text = f"{icr:014d}" if draw(st.booleans()) else str(icr)
    data = build_interchange("AAA676Y", [(t, [BGM]) for t in types], icr_text, prepared=WHEN)
    received = parse_interchange(data)
    findings: list[Finding] = []
    if draw(st.booleans()):
        element, component = draw(located())
        findings.append(Finding(draw(CODES), draw(TAGS), None, element, component))
    for message in received.messages:
        ref = message.reference
        if draw(st.booleans()):
            element, component = draw(located())
            findings.append(Finding(draw(CODES), draw(TAGS), None, element, component, ref))
        for position in draw(st.lists(st.integers(1, 99999), unique=True, max_size=3)):
            if draw(st.booleans()):
                findings.append(Finding(draw(CODES), draw(TAGS), 7, None, None, ref, position))
            for _ in range(draw(st.integers(0, 3))):
                element = draw(POSITIONS)
                component = draw(st.none() | POSITIONS)
                findings.append(
                    Finding(draw(CODES), draw(TAGS), 7, element, component, ref, position, "d")
                )
    return received, draw(st.permutations(findings))


def carried(finding: Finding) -> tuple[object, ...]:
    """What a CONTRL carries of a finding: no segment number or detail, no tag in UCS/UCD."""
    tag = finding.segment_tag if finding.message_position is None else ""
    return (
        finding.message_reference,
        finding.message_position,
        finding.code,
        tag,
        finding.element,
        finding.component,
    )


@settings(max_examples=150, deadline=None)
@given(received_with_findings())
def test_build_then_parse_gives_the_same_findings(case: tuple[object, list[Finding]]) -> None:
    received, findings = case
    data = build_contrl_interchange(received, findings, icr=1, prepared=WHEN)  # type: ignore[arg-type]
    report = parse_contrl(data)
    assert Counter(map(carried, report.findings())) == Counter(map(carried, findings))
    assert report.control_reference == received.control_reference  # type: ignore[attr-defined]
    assert report.rejected == any(f.message_reference is None for f in findings)
    rejected = {f.message_reference for f in findings if f.message_reference is not None}
    assert {m.reference for m in report.rejected_messages} == rejected


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from("rdi"), st.integers(0, 10**6), st.sampled_from(b"+:'?AZ019 \xe9\x80")
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(MUTATIONS)
def test_a_gateway_answers_any_readable_interchange_or_refuses_cleanly(
    mutations: list[tuple[str, int, int]],
) -> None:
    data = bytearray(lodged(3))
    for op, where, byte in mutations:
        at = where % len(data)
        if op == "r":
            data[at] = byte
        elif op == "d":
            del data[at]
        else:
            data.insert(at, byte)
    try:
        received = parse_interchange(bytes(data), strict=False)
    except ReceivedError:
        return
    try:
        answer = build_contrl_interchange(received, icr=1, prepared=WHEN)
    except BuildError:
        return
    report = parse_contrl(answer)
    issues = received.issues
    assert report.rejected == any(f.message_reference is None for f in issues)
    rejected = {f.message_reference for f in issues if f.message_reference is not None}
    assert {m.reference for m in report.rejected_messages} == rejected


SEGMENT = st.builds(
    lambda tag, elements: Segment(tag, *elements),
    st.sampled_from(["UCI", "UCM", "UCS", "UCD", "UCF", "BGM", "FTX"]),
    st.lists(
        st.lists(st.text("0123456789AB :-²", max_size=4), min_size=1, max_size=3).map(tuple),
        max_size=8,
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(SEGMENT, max_size=12))
def test_arbitrary_segments_raise_only_icsclient_errors(segments: list[Segment]) -> None:
    message = Message.create("1", "CONTRL", segments, release="3")
    try:
        report = parse_contrl(message)
    except IcsError:
        return
    report.explain()
    report.findings()


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200)
    | st.builds(lambda b: fixture("contrl_segment_errors.edi")[:b], st.integers(0, 400))
)
def test_arbitrary_bytes_raise_only_icsclient_errors(data: bytes) -> None:
    try:
        parse_contrl(data)
    except IcsError:
        pass
