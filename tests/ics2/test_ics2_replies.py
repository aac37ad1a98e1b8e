"""Customs replies read from the corpus written from the IE tables (tests/ics2/replies/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from icsclient.errors import ReceivedError
from icsclient.ics2 import CATALOGUE, Direction, Ics2XmlError, Key, build_filing, parse_reply
from icsclient.ics2._xml import parse_xml
from icsclient.ics2.explain import explain, locate
from icsclient.ics2.sample import sample_filing

CORPUS = Path(__file__).parent / "replies"
NS = "urn:wco:datamodel:eu:ics2:2"
MRN = "26DE00000000012345"
UTC = dt.timezone.utc


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_corpus_covers_every_customs_message() -> None:
    ids = {p.stem.split("-")[0] for p in CORPUS.glob("*.xml")}
    assert ids == {k for k, v in CATALOGUE.items() if v.direction is Direction.C2T}
    for path in CORPUS.glob("*.xml"):
        reply = parse_reply(path.read_bytes())
        assert reply.message_id == path.stem.split("-")[0]
        assert reply.date is not None and reply.date.tzinfo is not None
        assert reply.message_id in repr(reply)


def test_ie3r01_gives_the_mrn_for_the_lrn() -> None:
    reply = parse_reply(read("IE3R01.xml"))
    assert (reply.lrn, reply.mrn) == ("SAMPLE0000000001", MRN)
    assert reply.reference == (Key.LRN, "SAMPLE0000000001")
    assert reply.date == dt.datetime(2026, 3, 2, 8, 31, 12, 345000, tzinfo=UTC)
    assert reply.transport_document is not None
    assert reply.transport_document.number == "HAWB00000001"
    assert (reply.carrier, reply.declarant, reply.representative) == (
        "DE123456789012", "DE987654321", "DE555555555",
    )  # fmt: skip
    assert reply.office_of_first_entry == "DE004700" and reply.member_state == "DE"
    minimal = parse_reply(read("IE3R01-minimal.xml"))
    assert minimal.carrier is None and minimal.transport_document is None
    assert "→ MRN 26FR00000000000007" in repr(minimal)


def test_ie3n99_errors_with_unknown_codes_kept() -> None:
    reply = parse_reply(read("IE3N99.xml"))
    assert reply.reference == (Key.LRN, "SAMPLE0000000001")
    assert [e.code for e in reply.errors] == ["12", "81", "ZZ999"]
    assert reply.errors[0].meaning == "incorrect code value"
    assert reply.errors[1].meaning == "House AWB already declared in another ENS"
    assert reply.errors[2].meaning == "" and "nobody documented" in str(reply.errors[2])
    assert reply.errors[0].pointer is not None and reply.errors[0].pointer.endswith("/number")
    assert reply.date == dt.datetime(2026, 3, 2, 9, 31, 0, 100000, tzinfo=UTC)
    unparsed = parse_reply(read("IE3N99-unparsed.xml"))
    assert unparsed.reference is None and unparsed.errors[0].meaning.startswith("Unicode")


def test_mrn_functional_reference_and_error_families() -> None:
    old = b"SAMPLE0000000001</functional"
    xml = read("IE3N99.xml").replace(old, MRN.encode() + b"</functional")
    assert parse_reply(xml).reference == (Key.MRN, MRN)
    for name in ("IE3N01.xml", "IE3N07.xml"):
        reply = parse_reply(read(name))
        assert reply.reference == (Key.MRN, MRN) and reply.errors[0].code == "92"


def test_ie3q02_requests() -> None:
    reply = parse_reply(read("IE3Q02.xml"))
    assert reply.mrn == MRN and reply.responsible_member_state == "DE"
    first, second = reply.requests
    assert (first.reference, first.request_type) == ("RFI0000000001", "RFI")
    assert first.house_document is not None and first.house_document.number == "HAWB00000001"
    assert first.additional_information[0].text is not None
    assert first.pointer is not None and "goodsItem[2]" in first.pointer
    assert (second.request_type, second.additional_information) == ("AMD", ())
    assert parse_reply(read("IE3Q03.xml")).requests[0].request_type == "RFS"


def test_ie3n03_assessment_complete() -> None:
    reply = parse_reply(read("IE3N03.xml"))
    assert reply.mrn == MRN and reply.completion_date == dt.datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("xml", "says", "path"),
    [
        (f'<IE3F26 xmlns="{NS}"/>', "not a customs reply", "/IE3F26"),
        ('<IE3R01 xmlns="urn:other"/>', "namespace", "/IE3R01"),
        (f'<IE3R01 xmlns="{NS}"><LRN>A</LRN></IE3R01>', "no MRN", "/IE3R01/MRN"),
        (f'<IE3N03 xmlns="{NS}"><MRN>26DE1</MRN></IE3N03>', "18 are required", "/IE3N03/MRN"),
        (f'<IE3N99 xmlns="{NS}"/>', "no error", "/IE3N99/error"),
        (
            f'<IE3N99 xmlns="{NS}"><error><description>x</description></error></IE3N99>',
            "no validationCode",
            "/IE3N99/error[1]/validationCode",
        ),
        (
            f'<IE3R04 xmlns="{NS}"><MRN>{MRN}</MRN><MRN>{MRN}</MRN></IE3R04>',
            "2 times",
            "/IE3R04/MRN",
        ),
        (
            f'<IE3R04 xmlns="{NS}"><notificationDate><DateTime>soon</DateTime>'
            "</notificationDate></IE3R04>",
            "xs:dateTime",
            "/IE3R04/notificationDate/DateTime",
        ),
    ],
)
def test_strict_where_the_library_relies(xml: str, says: str, path: str) -> None:
    with pytest.raises(Ics2XmlError, match=says) as info:
        parse_reply(xml)
    assert info.value.path == path and isinstance(info.value, ReceivedError)


def test_lenient_about_unknown_elements() -> None:
    xml = read("IE3R04.xml").replace(b"</IE3R04>", b"<futureBlock><x>1</x></futureBlock></IE3R04>")
    assert parse_reply(xml).mrn == MRN


def test_explain_lays_errors_over_the_sent_filing() -> None:
    sent = build_filing(sample_filing())
    explained = explain(parse_reply(read("IE3N99.xml")), sent)
    first, second, third = explained.errors
    assert first.located == (
        "/IE3F26/consignmentMasterLevel/consignmentHouseLevel/consignee/address/number"
    )
    assert first.value == "12" and first.line is not None
    assert sent.splitlines()[first.line - 1].strip() == b"<number>12</number>"
    assert second.value == "HAWB00000001"
    assert third.located is None
    assert "sent:" in str(explained) and "LRN SAMPLE0000000001" in str(explained)
    as_json = explained.as_dict()
    assert as_json["errors"][0]["located"] == first.located
    from_model = explain(parse_reply(read("IE3N99.xml")), sample_filing())
    assert from_model.errors[1].value == "HAWB00000001"
    assert explain(parse_reply(read("IE3N99.xml"))).errors[0].located is None


def test_locate_gives_up_rather_than_guess() -> None:
    root = parse_xml(build_filing(sample_filing()))
    assert locate(root, "/IE3F26/declarant/name") is not None
    assert locate(root, "/IE3F26/declarant/name[2]") is None
    assert locate(root, "/IE3F26/nowhere") is None
    assert locate(root, "ns:IE3F26/ns:LRN") is not None
    assert locate(root, "/IE3F26/LRN[0]") is None
    assert locate(root, "") is None
    assert locate(root, "/IE3F26/(bad)") is None
