"""A made-up but valid IE3F26 (PLACI + house AWB data), for examples, tests and benchmarks.

Every name, number and EORI here is invented; the EORIs are well-formed, not registered.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .model import (
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
)

ISSUED = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)


def sample_house(number: int = 1, *, goods: int = 2) -> HouseConsignment:
    """House consignment ``number`` of the sample: Istanbul to Frankfurt, ``goods`` items."""
    items = tuple(
        GoodsItem(
            number=i,
            description=f"wooden toy trains, set {i}",
            hs_code="950300",
            gross_mass=Decimal("1.25"),
            packaging=(Packaging(f"MARK{number:06d}-{i}", 2, "PK"),),
        )
        for i in range(1, goods + 1)
    )
    return HouseConsignment(
        container_indicator=0,
        total_gross_mass=Decimal("1.25") * goods,
        place_of_acceptance=Place(unlocode="TRIST"),
        master_document=TransportDocument("020-12345675", "N741"),
        carrier=Party(identification="DE123456789012"),
        consignee=Party(
            name="Spielwaren Beispiel GmbH",
            type_of_person=2,
            address=Address("Frankfurt am Main", "DE", "Beispielstrasse", "60311", "12"),
        ),
        goods_items=items,
        consignor=Party(
            name="Ornek Oyuncak AS",
            type_of_person=2,
            address=Address("Istanbul", "TR", "Ornek Caddesi", "34000", "5"),
        ),
        method_of_payment="D",
        place_of_delivery=Place(unlocode="DEFRA"),
        routing_countries=("TR", "DE"),
        house_document=TransportDocument(f"HAWB{number:08d}", "N703"),
    )


def sample_filing(houses: int = 1, *, goods: int = 2, lrn: str = "SAMPLE0000000001") -> Filing:
    """A valid IE3F26 with ``houses`` house consignments of ``goods`` items each."""
    return Filing(
        message_id="IE3F26",
        lrn=lrn,
        issued=ISSUED,
        specific_circumstance="F26",
        addressed_member_state="DE",
        mode_of_transport=4,
        master=MasterConsignment(
            houses=tuple(sample_house(n, goods=goods) for n in range(1, houses + 1))
        ),
        declarant=Party(
            name="Example Forwarding GmbH",
            identification="DE987654321",
            address=Address("Kelsterbach", "DE", "Musterweg", "65451", "4"),
            communication=(Communication("ens@forwarder.example", "EM"),),
        ),
    )
