"""A first EU ICS2 filing: build an IE3F26, check it, write it, read it back, then read the
customs replies to it (an IE3R01 registering it, an IE3N99 rejecting a field) and explain the
errors against the XML sent.

Run: ``python examples/ics2_first_filing.py`` (needs ``pip install 'icsclient[ics2]'``).
Everything is local: the replies are written here as customs would send them.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import attrs

from icsclient.ics2 import (
    CATALOGUE,
    FilingError,
    LrnGenerator,
    build_filing,
    check_filing,
    explain,
    parse_filing,
    parse_reply,
)
from icsclient.ics2.sample import sample_filing

NS = "urn:wco:datamodel:eu:ics2:2"


def main() -> None:
    next_lrn = LrnGenerator("FWD", itertools.count(1), width=8)
    filing = sample_filing(houses=3, lrn=next_lrn())
    print(f"{filing!r}: {CATALOGUE[filing.message_id].meaning}")

    findings = check_filing(filing)
    print(f"checks: {len(findings)} finding(s)")
    xml = build_filing(filing)
    sent = Path(f"{filing.lrn}.xml")
    sent.write_bytes(xml)
    print(f"wrote {sent} ({len(xml)} bytes)")
    assert parse_filing(sent.read_bytes()) == filing

    broken = attrs.evolve(filing, lrn=next_lrn(), addressed_member_state="XX1")
    try:
        build_filing(broken)
    except FilingError as exc:
        print(f"refused: {exc}")

    registered = parse_reply(
        f"<IE3R01 xmlns='{NS}'><LRN>{filing.lrn}</LRN><MRN>26DE00000000012345</MRN>"
        "<registrationDate><DateTime>2026-03-02T09:31:12Z</DateTime></registrationDate>"
        "<SpecificCircumstanceIndicator>F26</SpecificCircumstanceIndicator></IE3R01>"
    )
    print(f"{registered!r}")

    rejected = parse_reply(
        f"<IE3N99 xmlns='{NS}'><functionalReference>{filing.lrn}</functionalReference>"
        "<notificationDate><DateTime>2026-03-02T09:31:00Z</DateTime></notificationDate>"
        "<error><validationCode>12</validationCode><pointer><messageElementPath>"
        "/IE3F26/consignmentMasterLevel/consignmentHouseLevel[2]/goodsItem[1]/packaging"
        "/typeOfPackages</messageElementPath></pointer></error></IE3N99>"
    )
    print(explain(rejected, sent.read_bytes()))


if __name__ == "__main__":
    main()
