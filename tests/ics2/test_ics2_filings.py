"""Air filings: build, parse back byte-stable, check, and the hardened parser."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pytest
from lxml import etree

from icsclient.errors import BuildError, ReceivedError
from icsclient.ics2 import (
    FilingError,
    Ics2Interface,
    Ics2XmlError,
    Party,
    Severity,
    TransportDocument,
    build_filing,
    check_filing,
    parse_filing,
)
from icsclient.ics2._xml import MAX_XML_BYTES, parse_xml
from icsclient.ics2.sample import sample_filing, sample_house

NS = "urn:wco:datamodel:eu:ics2:2"


def test_build_writes_the_table_order_in_the_namespace() -> None:
    xml = build_filing(sample_filing(2))
    root = etree.fromstring(xml)
    assert root.tag == f"{{{NS}}}IE3F26"
    assert [etree.QName(c).localname for c in root] == [
        "LRN", "documentIssueDate", "SpecificCircumstanceIndicator", "addressedMemberState",
        "activeBorderTransportMeans", "consignmentMasterLevel", "declarant",
    ]  # fmt: skip
    assert root.findtext(f"{{{NS}}}documentIssueDate/{{{NS}}}DateTime") == "2026-03-02T09:30:00Z"
    houses = root.findall(f".//{{{NS}}}consignmentHouseLevel")
    assert len(houses) == 2
    routing = houses[0].findall(f"{{{NS}}}countriesOfRoutingOfConsignment")
    assert [(r[0].text, r[1].text) for r in routing] == [("1", "TR"), ("2", "DE")]
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


@pytest.mark.parametrize("mid", ["IE3F23", "IE3F24", "IE3F26", "IE3F27", "IE3A26", "IE3A27"])
def test_round_trip_is_byte_stable_for_every_type(mid: str) -> None:
    filing = attrs.evolve(sample_filing(3), message_id=mid, specific_circumstance="F" + mid[4:])
    if mid.startswith("IE3A"):
        filing = attrs.evolve(filing, mrn="26DE12345678901234")
    if mid == "IE3F23":
        houses = tuple(attrs.evolve(h, master_document=None) for h in filing.master.houses)
        filing = attrs.evolve(filing, master=attrs.evolve(filing.master, houses=houses))
    if mid.endswith("27"):
        master = attrs.evolve(filing.master, master_document=TransportDocument("020-1", "N741"))
        filing = attrs.evolve(filing, master=master)
    assert [f for f in check_filing(filing) if f.is_error] == []
    xml = build_filing(filing)
    back = parse_filing(xml)
    assert back == filing
    assert build_filing(back) == xml


def test_reads_milliseconds_and_offsets_and_writes_utc() -> None:
    xml = build_filing(sample_filing()).replace(
        b"2026-03-02T09:30:00Z", b"2026-03-02T11:30:00.123+02:00"
    )
    filing = parse_filing(xml)
    assert filing.issued == dt.datetime(2026, 3, 2, 9, 30, 0, 123000, tzinfo=dt.timezone.utc)
    assert b"2026-03-02T09:30:00Z" in build_filing(filing)


def test_refuses_a_filing_with_errors_unless_forced() -> None:
    bad = attrs.evolve(sample_filing(), lrn="L" * 23)
    with pytest.raises(FilingError, match="LRN") as info:
        build_filing(bad)
    assert isinstance(info.value, BuildError)
    assert info.value.findings[0].pointer == "/IE3F26/LRN"
    assert b"L" * 23 in build_filing(bad, force=True)


def _findings(filing: object) -> set[tuple[str, str]]:
    return {(f.rule, f.pointer) for f in check_filing(filing) if f.is_error}  # type: ignore[arg-type]


def test_checks_the_rules_of_the_tables() -> None:
    good = sample_filing(2)
    h1, h2 = good.master.houses  # type: ignore[union-attr]
    h2 = attrs.evolve(
        h2,
        house_document=h1.house_document,
        routing_countries=("TR",),
        total_gross_mass=Decimal("1.1234567"),
        goods_items=(attrs.evolve(h2.goods_items[0], hs_code="95030"),),
        carrier=Party(identification="GB123456789000"),
    )
    bad = attrs.evolve(
        good,
        master=attrs.evolve(good.master, houses=(h1, h2)),  # type: ignore[misc]
        issued=dt.datetime(2026, 3, 2, 9, 30),
        declarant=attrs.evolve(
            good.declarant, address=attrs.evolve(good.declarant.address, number=None)  # type: ignore[union-attr]
        ),
        representative=Party(name="R", identification="DE987654321"),
        addressed_member_state="D1",
    )
    found = _findings(bad)
    h = "/IE3F26/consignmentMasterLevel/consignmentHouseLevel[2]"
    assert ("unique", f"{h}/transportDocumentHouseLevel/documentNumber") in found
    assert ("routing", f"{h}/countriesOfRoutingOfConsignment") in found
    assert ("cardinality", f"{h}/countriesOfRoutingOfConsignment") in found
    assert ("format", f"{h}/totalGrossMass") in found
    hs = "goodsItem[1]/commodity/commodityCode/harmonizedSystemSubHeadingCode"
    assert ("format", f"{h}/{hs}") in found
    assert ("R3005", f"{h}/carrier/identificationNumber") in found
    assert ("utc", "/IE3F26/documentIssueDate/DateTime") in found
    assert ("R3002", "/IE3F26/declarant/address") in found
    assert ("parties", "/IE3F26/representative/identificationNumber") in found
    assert ("format", "/IE3F26/addressedMemberState/country") in found


def test_required_blocks_per_type() -> None:
    good = sample_filing()
    assert ("required", "/IE3F26/declarant") in _findings(attrs.evolve(good, declarant=None))
    amendment = attrs.evolve(good, message_id="IE3A26")
    assert ("required", "/IE3A26/MRN") in _findings(amendment)
    f23 = attrs.evolve(good, message_id="IE3F23", specific_circumstance="F23")
    assert any(r == "message" for r, _ in _findings(f23))
    f27 = attrs.evolve(good, message_id="IE3F27", specific_circumstance="F27")
    mawb = "/IE3F27/consignmentMasterLevel/transportDocumentMasterLevel"
    assert ("required", mawb) in _findings(f27)
    assert ("required", "/IE3F26/consignmentMasterLevel/consignmentHouseLevel[1]/goodsItem") in (
        _findings(attrs.evolve(good, master=attrs.evolve(good.master, houses=(  # type: ignore[misc]
            attrs.evolve(sample_house(), goods_items=()),))))
    )  # fmt: skip
    other = attrs.evolve(good, specific_circumstance="F99")
    assert any(f.severity is Severity.WARNING for f in check_filing(other))
    with pytest.raises(BuildError, match="IE3F10"):
        build_filing(attrs.evolve(good, message_id="IE3F10"), force=True)


def test_other_namespace_through_the_interface() -> None:
    r3 = Ics2Interface(namespace="urn:example:release3")
    xml = build_filing(sample_filing(), interface=r3)
    assert b'xmlns="urn:example:release3"' in xml
    assert parse_filing(xml, interface=r3) == sample_filing()
    with pytest.raises(Ics2XmlError, match="namespace"):
        parse_filing(xml)


@pytest.mark.parametrize(
    ("xml", "says"),
    [
        (b"<IE3F26", "not well-formed"),
        (b"", "not well-formed"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><IE3F26>&a;</IE3F26>', "DOCTYPE"),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "DOCTYPE"),
        (f'<IE3F99 xmlns="{NS}"/>'.encode(), "not an air filing"),
        (f'<IE3F26 xmlns="{NS}"><surprise/></IE3F26>'.encode(), "unexpected element 'surprise'"),
        (f'<IE3F26 xmlns="{NS}"><LRN>1</LRN><LRN>2</LRN></IE3F26>'.encode(), "2 times"),
        (
            f'<IE3F26 xmlns="{NS}"><activeBorderTransportMeans><ModeOfTransport>air'
            f"</ModeOfTransport></activeBorderTransportMeans></IE3F26>".encode(),
            "not an integer",
        ),
        (
            f'<IE3F26 xmlns="{NS}"><documentIssueDate><DateTime>2026-13-01T00:00:00Z'
            f"</DateTime></documentIssueDate></IE3F26>".encode(),
            "not a valid date",
        ),
    ],
)
def test_malformed_and_hostile_xml_is_refused(xml: bytes, says: str) -> None:
    with pytest.raises(Ics2XmlError, match=says) as info:
        parse_filing(xml)
    assert isinstance(info.value, ReceivedError)


def test_billion_laughs_is_refused_without_expansion() -> None:
    lol = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol">' + b"".join(
        f'<!ENTITY a{i} "{"&a;" * 10 if i == 0 else f"&a{i - 1};" * 10}">'.encode()
        for i in range(9)
    ) + b"]><l>&a8;</l>"
    with pytest.raises(Ics2XmlError):  # libxml2's amplification guard or our DOCTYPE refusal
        parse_xml(lol)


def test_size_limit() -> None:
    with pytest.raises(Ics2XmlError, match="limit"):
        parse_xml(b" " * (MAX_XML_BYTES + 1))


def test_characters_xml_does_not_allow_are_refused() -> None:
    bad = attrs.evolve(sample_filing(), declarant=Party(name="bell\x07"))
    with pytest.raises(BuildError, match="not allowed in XML"):
        build_filing(bad, force=True)
    odd = attrs.evolve(sample_filing(), declarant=Party(name="A & B <x> \r"))
    assert parse_filing(build_filing(odd, force=True)).declarant == Party(name="A & B <x>")


def test_child_outside_the_namespace_is_refused() -> None:
    xml = f'<IE3F26 xmlns="{NS}"><LRN xmlns="urn:other">1</LRN><x:y xmlns:x="{NS}x"/></IE3F26>'
    with pytest.raises(Ics2XmlError, match="not in the ICS2 namespace") as info:
        parse_filing(xml)
    assert info.value.path == "/IE3F26"
