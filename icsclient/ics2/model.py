"""The ENS model the air filings share (ICS2-RULES §4), as frozen attrs values.

Attribute order is element order; each attribute carries the element path, the IE table
format and cardinality (see :mod:`icsclient.ics2._schema`), so the writer, the reader and
:func:`~icsclient.ics2.check_filing` read one description. Formats and cardinalities come from
the IE3F20/F22/F34 tables for the same-named elements; those specific to IE3F23/F24/F26/F27 are
**unverified** (one public IE3F26 instance exists). High-risk-cargo screening results and binary
attachment references are not modelled yet: where they sit in an F23/F24/F26 payload is not in
the material this library was written from.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from .._html import html_of
from ._schema import el


@attrs.frozen
class Address:
    """A postal address (``street`` and ``number``, R3002; ``postCode`` where the country has
    them)."""

    city: str | None = el("city", fmt="an..35", required=True)
    country: str | None = el("country", fmt="a2", required=True)
    street: str | None = el("street", fmt="an..70")
    post_code: str | None = el("postCode", fmt="an..17")
    number: str | None = el("number", fmt="an..35")


@attrs.frozen
class Communication:
    """A contact: ``identifier`` (an e-mail address, a phone number) and its ``type``
    (``EM``, ``TE`` ...)."""

    identifier: str | None = el("identifier", fmt="an..512", required=True)
    type: str | None = el("type", fmt="an..3", required=True)


@attrs.frozen
class Party:
    """A party: declarant, representative, carrier, consignor, consignee, notify party.

    ``identification`` is an EORI (R3005) for the declarant, the representative and the
    carrier; ``type_of_person`` is 1 (natural person), 2 (legal person) or 3 (association).
    """

    name: str | None = el("name", fmt="an..70")
    identification: str | None = el("identificationNumber", fmt="an..17")
    type_of_person: int | None = el("typeOfPerson", "int", "n1")
    address: Address | None = el("address", "obj", cls=Address)
    communication: tuple[Communication, ...] = el(
        "communication", "many", max_occurs=9, cls=Communication
    )


@attrs.frozen
class Place:
    """A place given by its UN/LOCODE or by an address."""

    unlocode: str | None = el("UNLOCODE", fmt="an..17")
    address: Address | None = el("address", "obj", cls=Address)


@attrs.frozen
class TransportDocument:
    """A transport document: an air waybill ``N741`` (master) or ``N703`` (house)."""

    number: str | None = el("documentNumber", fmt="an..70", required=True)
    type: str | None = el("type", fmt="an4", required=True)


@attrs.frozen
class Packaging:
    """Packages of a goods item."""

    shipping_marks: str | None = el("shippingMarks", fmt="an..512")
    number_of_packages: int | None = el("numberOfPackages", "int", "n..8")
    type_of_packages: str | None = el("typeOfPackages", fmt="an2", required=True)


@attrs.frozen
class GoodsItem:
    """One goods item of a house consignment."""

    number: int | None = el("goodsItemNumber", "int", "n..5", required=True)
    description: str | None = el("commodity/descriptionOfGoods", fmt="an..512", required=True)
    hs_code: str | None = el("commodity/commodityCode/harmonizedSystemSubHeadingCode", fmt="an6")
    gross_mass: Decimal | None = el("weight/grossMass", "dec", "n..16,6")
    packaging: tuple[Packaging, ...] = el("packaging", "many", max_occurs=99, cls=Packaging)


@attrs.frozen
class HouseConsignment:
    """A house consignment (house air waybill level)."""

    container_indicator: int | None = el("containerIndicator", "int", "n1")
    total_gross_mass: Decimal | None = el("totalGrossMass", "dec", "n..16,6", required=True)
    place_of_acceptance: Place | None = el("placeOfAcceptance", "obj", cls=Place)
    master_document: TransportDocument | None = el(
        "transportDocumentMasterLevel", "obj", cls=TransportDocument
    )
    carrier: Party | None = el("carrier", "obj", cls=Party)
    consignee: Party | None = el("consignee", "obj", cls=Party, required=True)
    goods_items: tuple[GoodsItem, ...] = el(
        "goodsItem", "many", required=True, max_occurs=99999, cls=GoodsItem
    )
    consignor: Party | None = el("consignor", "obj", cls=Party, required=True)
    method_of_payment: str | None = el("transportCharges/methodOfPayment", fmt="a1")
    place_of_delivery: Place | None = el("placeOfDelivery", "obj", cls=Place)
    routing_countries: tuple[str, ...] = el(
        "countriesOfRoutingOfConsignment", "strs", "a2", max_occurs=99
    )
    house_document: TransportDocument | None = el(
        "transportDocumentHouseLevel", "obj", cls=TransportDocument, required=True
    )


@attrs.frozen
class MasterConsignment:
    """The master consignment (master air waybill level) holding the house consignments."""

    master_document: TransportDocument | None = el(
        "transportDocumentMasterLevel", "obj", cls=TransportDocument
    )
    houses: tuple[HouseConsignment, ...] = el(
        "consignmentHouseLevel", "many", required=True, max_occurs=99999, cls=HouseConsignment
    )


@attrs.frozen
class Filing:
    """One air ENS filing or amendment: ``IE3F23``, ``IE3F24``, ``IE3F26``, ``IE3F27`` or
    ``IE3A23``/``A24``/``A26``/``A27``.

    ``mrn`` is required for an amendment and absent from a filing (it is written right after
    the ``LRN``: where an IE3Axx carries it is **unverified**); ``specific_circumstance``
    defaults to the message id's tail (``"F26"``) as in the public sample; ``mode_of_transport``
    is 4 (air). Dates must be timezone-aware; they are written in UTC.
    """

    message_id: str = attrs.field()
    lrn: str | None = el("LRN", fmt="an..22", required=True)
    mrn: str | None = el("MRN", fmt="an18")
    issued: dt.datetime | None = el("documentIssueDate/DateTime", "date", required=True)
    specific_circumstance: str | None = el(
        "SpecificCircumstanceIndicator", fmt="an3", required=True
    )
    addressed_member_state: str | None = el(
        "addressedMemberState/country", fmt="a2", required=True
    )
    mode_of_transport: int | None = el(
        "activeBorderTransportMeans/ModeOfTransport", "int", "n1", required=True
    )
    master: MasterConsignment | None = el(
        "consignmentMasterLevel", "obj", cls=MasterConsignment, required=True
    )
    declarant: Party | None = el("declarant", "obj", cls=Party, required=True)
    representative: Party | None = el("representative", "obj", cls=Party)

    def __repr__(self) -> str:
        houses = len(self.master.houses) if self.master else 0
        ref = f" MRN {self.mrn}" if self.mrn else ""
        return f"<Filing {self.message_id} LRN {self.lrn}{ref}: {houses} house consignment(s)>"

    def _repr_html_(self) -> str | None:
        """The filing with its check findings as HTML (Jupyter; see ``icsclient.display``)."""
        return html_of(self)


AIR_FILINGS = frozenset({"IE3F23", "IE3F24", "IE3F26", "IE3F27"})
"""The filings this model builds."""

AIR_AMENDMENTS = frozenset({"IE3A23", "IE3A24", "IE3A26", "IE3A27"})
"""Their amendments (whole dataset replaced, keyed by MRN)."""
