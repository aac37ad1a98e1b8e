"""Check an air ENS filing against the rules written from the IE tables (ICS2-RULES §1, §4).

No official ICS2 XSD is public: these checks are the library's own, written from the HTI IE
specification tables. They cover formats and lengths (``an..22``, ``n..16,6``, ``an6`` ...),
cardinalities, the blocks each filing type requires, dates in UTC, R3005 (a valid EORI for
declarant, representative and carrier), R3002 (street and number in the declarant's and
representative's address), the countries of routing containing those of acceptance and
delivery, representative ≠ declarant and house documents unique in the filing. Which
countries require a postcode is not in the tables this library was written from, so it is not
checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ._schema import Spec, specs
from .errors import EoriError, ReferenceNumberError
from .findings import Finding, Severity
from .identifiers import check_eori, check_mrn
from .model import AIR_AMENDMENTS, AIR_FILINGS, Address, Filing, Place

_FMT = re.compile(r"(an|a|n)(\.\.)?(\d+)(?:,(\d+))?")
_LETTERS = re.compile(r"[A-Za-z]+")
_DIGITS = re.compile(r"[0-9]+")


@functools.cache
def _parse_format(fmt: str) -> tuple[str, bool, int, str | None]:
    m = _FMT.fullmatch(fmt)
    if m is None:  # pragma: no cover - the formats are the model's own constants
        raise ValueError(f"unknown format {fmt!r}")
    return m.group(1), bool(m.group(2)), int(m.group(3)), m.group(4)


def format_problem(fmt: str, value: Any) -> str | None:
    """Why ``value`` breaks the IE table format ``fmt`` (``an..70``, ``n..16,6``), or ``None``."""
    kind, upto, size, decimals = _parse_format(fmt)
    if kind == "an" and type(value) is str:  # the common case, first
        n = len(value)
        if (upto and 1 <= n <= size) or n == size:
            return None
    if isinstance(value, Decimal):
        if value < 0 or not value.is_finite():
            return f"{value} must be a non-negative number ({fmt})"
        sign, digits, exponent = value.as_tuple()
        frac = max(0, -int(exponent))
        whole = max(0, len(digits) + int(exponent))
        if decimals is not None and frac > int(decimals):
            return f"{value} has {frac} decimals; at most {decimals} are allowed ({fmt})"
        if whole + frac > size:
            return f"{value} has more than {size} digits ({fmt})"
        return None
    text = str(value)
    if isinstance(value, int) and value < 0:
        return f"{value} must not be negative ({fmt})"
    if upto and not 1 <= len(text) <= size:
        return f"{text!r} has {len(text)} characters; 1 to {size} are allowed ({fmt})"
    if not upto and len(text) != size:
        return f"{text!r} has {len(text)} characters; exactly {size} are required ({fmt})"
    if kind == "a" and not _LETTERS.fullmatch(text):
        return f"{text!r} must hold letters only ({fmt})"
    if kind == "n" and not _DIGITS.fullmatch(text):
        return f"{text!r} must hold digits only ({fmt})"
    return None


def _walk(obj: Any, pointer: str) -> Iterator[Finding]:
    """Formats, required elements and cardinalities of ``obj`` and everything below it."""
    for name, spec in specs(type(obj)):
        value = getattr(obj, name)
        if value is None or ((spec.repeated or spec.kind == "str") and not value):
            if spec.required:
                yield Finding(f"{pointer}/{spec.path}", "required", "is required and missing")
            continue
        if spec.kind == "str" and spec.fmt is not None:
            problem = format_problem(spec.fmt, value)
            if problem is not None:
                yield Finding(f"{pointer}/{spec.path}", "format", problem)
            continue
        yield from _walk_value(spec, value, f"{pointer}/{spec.path}")


def _walk_value(spec: Spec, value: Any, here: str) -> Iterator[Finding]:
    if spec.kind in ("many", "strs"):
        if len(value) > spec.max_occurs:
            yield Finding(
                here, "cardinality", f"occurs {len(value)} times; at most {spec.max_occurs}"
            )
        for i, item in enumerate(value, 1):
            if spec.kind == "many":
                yield from _walk(item, f"{here}[{i}]")
            elif (problem := format_problem("a2", item)) is not None:
                yield Finding(f"{here}[{i}]/country", "format", problem)
    elif spec.kind == "obj":
        yield from _walk(value, here)
    elif spec.kind == "date":
        if value.tzinfo is None or value.utcoffset() is None:
            yield Finding(here, "utc", "date has no time zone; give it in UTC")
    elif spec.fmt and (problem := format_problem(spec.fmt, value)) is not None:
        yield Finding(here, "format", problem)


def _eori(value: str | None, pointer: str) -> Iterator[Finding]:
    if value is None:
        return
    try:
        check_eori(value)
    except EoriError as exc:
        yield Finding(pointer, "R3005", f"a valid EORI must be declared: {exc}")


def _street_and_number(address: Address | None, pointer: str) -> Iterator[Finding]:
    if address is not None and not (address.street and address.number):
        yield Finding(f"{pointer}/address", "R3002", "street and number must both be given")


def _country(place: Place | None) -> str | None:
    if place is None:
        return None
    if place.unlocode:
        return place.unlocode[:2].upper()
    return place.address.country if place.address is not None else None


def _structure(filing: Filing, root: str) -> Iterator[Finding]:
    mid = filing.message_id
    if mid not in AIR_FILINGS | AIR_AMENDMENTS:
        yield Finding(root, "message", f"{mid!r} is not an air filing this library builds")
        return
    if mid in AIR_AMENDMENTS:
        if not filing.mrn:
            yield Finding(f"{root}/MRN", "required", "an amendment must give the MRN it amends")
        else:
            try:
                check_mrn(filing.mrn)
            except ReferenceNumberError as exc:
                yield Finding(f"{root}/MRN", "format", str(exc))
    elif filing.mrn:
        yield Finding(f"{root}/MRN", "message", "a first filing has no MRN yet")
    if filing.specific_circumstance and filing.specific_circumstance != "F" + mid[4:]:
        yield Finding(
            f"{root}/SpecificCircumstanceIndicator",
            "message",
            f"{filing.specific_circumstance!r} differs from the filing type F{mid[4:]}",
            Severity.WARNING,
        )
    if filing.mode_of_transport is not None and filing.mode_of_transport != 4:
        yield Finding(
            f"{root}/activeBorderTransportMeans/ModeOfTransport",
            "message",
            f"an air filing has mode of transport 4, not {filing.mode_of_transport}",
        )
    master = filing.master
    if master is None:
        return
    base = f"{root}/consignmentMasterLevel"
    kind = mid[4:]
    if kind == "27" and master.master_document is None:
        yield Finding(
            f"{base}/transportDocumentMasterLevel", "required", f"{mid} needs the master AWB"
        )
    for i, house in enumerate(master.houses, 1):
        at = f"{base}/consignmentHouseLevel[{i}]"
        if kind == "23" and house.master_document is not None:
            yield Finding(
                f"{at}/transportDocumentMasterLevel",
                "message",
                f"{mid} is filed without a master AWB reference",
            )
        if kind in ("24", "26") and house.master_document is None and not master.master_document:
            yield Finding(
                f"{at}/transportDocumentMasterLevel", "required", f"{mid} needs the master AWB"
            )


def _houses(filing: Filing, root: str) -> Iterator[Finding]:
    if filing.master is None:
        return
    base = f"{root}/consignmentMasterLevel"
    seen: dict[str, str] = {}
    for i, house in enumerate(filing.master.houses, 1):
        at = f"{base}/consignmentHouseLevel[{i}]"
        if house.carrier is not None:
            yield from _eori(house.carrier.identification, f"{at}/carrier/identificationNumber")
        for role, party in (("consignor", house.consignor), ("consignee", house.consignee)):
            if party is not None and party.type_of_person not in (None, 1, 2, 3):
                yield Finding(f"{at}/{role}/typeOfPerson", "code", "must be 1, 2 or 3")
        doc = house.house_document
        if doc is not None and doc.number:
            if doc.number in seen:
                yield Finding(
                    f"{at}/transportDocumentHouseLevel/documentNumber",
                    "unique",
                    f"house document {doc.number!r} is already used by {seen[doc.number]}",
                )
            else:
                seen[doc.number] = f"consignmentHouseLevel[{i}]"
        numbers = [g.number for g in house.goods_items]
        if len(set(numbers)) != len(numbers):
            yield Finding(f"{at}/goodsItem", "unique", "goods item numbers repeat")
        for j, item in enumerate(house.goods_items, 1):
            if item.hs_code and not item.hs_code.isdigit():
                yield Finding(
                    f"{at}/goodsItem[{j}]/commodity/commodityCode/harmonizedSystemSubHeadingCode",
                    "format",
                    f"HS code {item.hs_code!r} must be six digits",
                )
        routing = house.routing_countries
        if routing:
            where = f"{at}/countriesOfRoutingOfConsignment"
            if len(routing) < 2:
                yield Finding(where, "cardinality", "at least 2 countries of routing are needed")
            for label, place in (("acceptance", house.place_of_acceptance),
                                 ("delivery", house.place_of_delivery)):  # fmt: skip
                country = _country(place)
                if country and country not in routing:
                    yield Finding(
                        where,
                        "routing",
                        f"the country of {label} {country} is not among the countries of routing",
                    )


def _parties(filing: Filing, root: str) -> Iterator[Finding]:
    declarant, representative = filing.declarant, filing.representative
    if declarant is not None:
        at = f"{root}/declarant"
        for field, path in (("name", "name"), ("identification", "identificationNumber"),
                            ("address", "address")):  # fmt: skip
            if getattr(declarant, field) in (None, ""):
                yield Finding(f"{at}/{path}", "required", "the declarant's is required")
        if not declarant.communication:
            yield Finding(f"{at}/communication", "required", "the declarant needs 1 to 9")
        yield from _eori(declarant.identification, f"{at}/identificationNumber")
        yield from _street_and_number(declarant.address, at)
    if representative is not None:
        at = f"{root}/representative"
        yield from _eori(representative.identification, f"{at}/identificationNumber")
        yield from _street_and_number(representative.address, at)
        if (
            declarant is not None
            and representative.identification
            and representative.identification == declarant.identification
        ):
            yield Finding(
                f"{at}/identificationNumber", "parties", "the representative is the declarant"
            )


def check_filing(filing: Filing) -> tuple[Finding, ...]:
    """Every finding in ``filing``, errors and warnings, in document order per check."""
    root = f"/{filing.message_id}"
    found: list[Finding] = []
    found.extend(_structure(filing, root))
    found.extend(_walk(filing, root))
    found.extend(_parties(filing, root))
    found.extend(_houses(filing, root))
    if filing.issued is not None and filing.issued.tzinfo is not None:
        if filing.issued.utcoffset() != dt.timedelta(0):
            found.append(
                Finding(
                    f"{root}/documentIssueDate/DateTime",
                    "utc",
                    "date is not in UTC; it is written converted to UTC",
                    Severity.WARNING,
                )
            )
    return tuple(found)
