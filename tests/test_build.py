"""build_interchange and the e-mail names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from icsclient import (
    BuildError,
    MailError,
    Message,
    Segment,
    attachment_filename,
    build_interchange,
    email_subject,
    parse_interchange,
    parse_subject,
)
from icsclient.ics import MAX_INTERCHANGE_BYTES

WHEN = datetime(2004, 1, 26, 20, 30, tzinfo=timezone.utc)  # 07:30 AEDT on the 27th
BGM = Segment("BGM", ("933", "", "", "AIRCR"), "X1", "9")


def test_exact_ccf_bytes() -> None:
    data = build_interchange("AAA676Y", [("CUSCAR", [BGM])], 1234, test=True, prepared=WHEN)
    assert data == (
        b"UNA:+.? 'UNB+UNOC:3+AAA676Y::AAA676Y+AAA336C+040127:0730+1234++++1++1'"
        b"UNH+1+CUSCAR:D:99B:UN'BGM+933:::AIRCR+X1+9'UNT+3+1'UNZ+1+1234'"
    )


def test_production_has_no_test_indicator_and_numbers_messages() -> None:
    data = build_interchange(
        "AAA676Y", [("CUSCAR", [BGM]), ("CUSDEC", [BGM, BGM])], "42", prepared=WHEN
    )
    ic = parse_interchange(data)
    assert not ic.test and ic.ack_requested
    assert b"+42++++1'" in data
    assert [
        (m.reference, m.type, m.trailer.get(0) if m.trailer else None) for m in ic.messages
    ] == [
        ("1", "CUSCAR", "3"),
        ("2", "CUSDEC", "4"),
    ]


def test_message_values_and_contrl() -> None:
    msg = Message.create(
        "77",
        "CONTRL",
        [Segment("UCI", "1", ("AAA336C", "", "AAA336C"), "AAA676Y", "8")],
        release="3",
    )
    data = build_interchange("AAA676Y", [msg], 5, prepared=WHEN)
    ic = parse_interchange(data)
    assert not ic.ack_requested
    assert ic.messages[0].header == Segment("UNH", "1", ("CONTRL", "D", "3", "UN"))


def test_sydney_time_standard_and_daylight() -> None:
    winter = datetime(2024, 7, 1, 0, 0, tzinfo=timezone.utc)  # AEST +10
    summer = datetime(2024, 1, 1, 0, 0, tzinfo=timezone.utc)  # AEDT +11
    assert b"+240701:1000+" in build_interchange("AAA676Y", [("CUSCAR", [BGM])], 1, prepared=winter)
    assert b"+240101:1100+" in build_interchange("AAA676Y", [("CUSCAR", [BGM])], 1, prepared=summer)
    clock = lambda: datetime(2024, 7, 1, 9, 5, tzinfo=timezone(timedelta(hours=10)))  # noqa: E731
    assert b"+240701:0905+" in build_interchange("AAA676Y", [("CUSCAR", [BGM])], 1, clock=clock)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"sender": "aaa676y"}, "sender site ID"),
        ({"sender": "A" * 36}, "sender site ID"),
        ({"icr": 0}, "1 to 99999999999999"),
        ({"icr": 10**14}, "1 to 99999999999999"),
        ({"icr": "12a"}, "1 to 99999999999999"),
        ({"recipient": "AAA 336"}, "recipient"),
        ({"messages": []}, "at least one message"),
        ({"messages": [("CUSCAR", [BGM]), ("CONTRL", [])]}, "CONTRL and business"),
        ({"messages": [("CUSCAR", [Segment("UNT", "1")])]}, "service segment"),
        ({"messages": [("CUSCAR", [Segment("FTX", "€")])]}, r"message 1, segment 2: segment FTX"),
        ({"prepared": datetime(2024, 1, 1)}, "no time zone"),
    ],
)
def test_refusals(kwargs: dict[str, object], fragment: str) -> None:
    args: dict[str, object] = {
        "sender": "AAA676Y",
        "messages": [("CUSCAR", [BGM])],
        "icr": 1,
        "prepared": WHEN,
    }
    args.update(kwargs)
    with pytest.raises(BuildError, match=fragment):
        build_interchange(**args)  # type: ignore[arg-type]


def test_refuses_over_ten_megabytes() -> None:
    big = [Segment("FTX", "AAA", "", "", "x" * 500)] * (MAX_INTERCHANGE_BYTES // 500)
    with pytest.raises(BuildError, match="10,485,760"):
        build_interchange("AAA676Y", [("CUSCAR", big)], 1, prepared=WHEN)


def test_names() -> None:
    assert email_subject("AAA676Y", 42, "AAA336C") == "AAA676Y_42_AAA336C"
    assert attachment_filename("AAA676Y", 42) == "AAA676Y_42.edi"
    assert attachment_filename("AAA676Y", "00000000000042") == "AAA676Y_00000000000042.edi"
    s = parse_subject("AAA336C_00000000000042_AAA676Y")
    assert (s.creator, s.icr, s.recipient, s.plain_text) == (
        "AAA336C",
        "00000000000042",
        "AAA676Y",
        False,
    )
    p = parse_subject("Response to your report AAA676Y 42")
    assert p.plain_text and p.creator is None
    with pytest.raises(MailError, match="not <creator>_<ICR>_<recipient>"):
        parse_subject("AAA336C-42-AAA676Y")
    with pytest.raises(BuildError):
        email_subject("AAA676Y", 0, "AAA336C")
