"""Hypothesis: model → XML → model is the identity, build → parse → build is byte-stable, and
no input crashes the readers with anything but an icsclient error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from icsclient.errors import IcsError
from icsclient.ics2 import (
    Address,
    Communication,
    Filing,
    GoodsItem,
    HouseConsignment,
    MasterConsignment,
    Packaging,
    Party,
    Place,
    TransportDocument,
    build_filing,
    parse_filing,
    parse_reply,
)
from icsclient.ics2.filings import filing_element

ALPHABET = st.characters(
    categories=("L", "N", "P", "S", "Zs"), exclude_characters="\r\x85\u2028\u2029"
)
text = st.text(ALPHABET, min_size=1, max_size=20).filter(lambda s: s == s.strip())
maybe = st.none() | text
small = st.none() | st.integers(0, 99999)
mass = st.none() | st.builds(
    lambda n, p: Decimal(n).scaleb(-p), st.integers(0, 10**12), st.integers(0, 6)
)
when = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=dt.timezone.utc)
)

addresses = st.none() | st.builds(Address, maybe, maybe, maybe, maybe, maybe)
parties = st.none() | st.builds(
    Party, maybe, maybe, small, addresses,
    st.lists(st.builds(Communication, maybe, maybe), max_size=2),
)  # fmt: skip
documents = st.none() | st.builds(TransportDocument, maybe, maybe)
places = st.none() | st.builds(Place, maybe, addresses)
goods = st.builds(
    GoodsItem,
    small,
    maybe,
    maybe,
    mass,
    st.lists(st.builds(Packaging, maybe, small, maybe), max_size=2),
)
houses = st.builds(
    HouseConsignment, small, mass, places, documents, parties, parties,
    st.lists(goods, max_size=2), parties, maybe, places,
    st.lists(st.text("ABCDEFGHIJ", min_size=2, max_size=2), max_size=3), documents,
)  # fmt: skip
filings = st.builds(
    Filing,
    st.sampled_from(["IE3F23", "IE3F24", "IE3F26", "IE3F27", "IE3A23", "IE3A24", "IE3A26"]),
    maybe, maybe, st.none() | when, maybe, maybe, small,
    st.none() | st.builds(MasterConsignment, documents, st.lists(houses, max_size=2)),
    parties, parties,
)  # fmt: skip


@given(filings)
def test_model_xml_round_trip(filing: Filing) -> None:
    xml = build_filing(filing, force=True)
    back = parse_filing(xml)
    assert back == filing
    assert build_filing(back, force=True) == xml
    tree = filing_element(filing)  # the text writer gives what lxml's pretty printer gives
    assert etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True) == xml


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_readers_never_crash(data: bytes | str) -> None:
    for reader in (parse_filing, parse_reply):
        try:
            reader(data)
        except IcsError:
            pass
