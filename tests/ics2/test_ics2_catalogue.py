"""The ICS2 catalogue holds every message id of ICS2-RULES §2 with its table values."""

from __future__ import annotations

import attrs
import pytest

from icsclient.errors import BuildError
from icsclient.ics2 import (
    CATALOGUE,
    DEFAULT_INTERFACE,
    Direction,
    Family,
    Ics2Interface,
    Key,
    Transport,
    message_type,
)

FILINGS = (
    [f"IE3F{n}" for n in range(10, 18)]
    + [f"IE3F{n}" for n in range(20, 30)]
    + [f"IE3F{n}" for n in range(30, 35)]
    + [f"IE3F{n}" for n in range(40, 46)]
    + ["IE3F50", "IE3F51"]
)
OTHERS_T2C = ["IE3Q04", "IE3Q05", "IE3N06", "IE3R02", "IE3R03"]
C2T = ["IE3R01", "IE3R04", "IE3R07", "IE3R08", "IE3Q01", "IE3Q02", "IE3Q03"] + [
    f"IE3N{n:02d}" for n in (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 99)
]


def test_every_id_of_the_rules_and_nothing_else() -> None:
    amendments = ["IE3A" + f[4:] for f in FILINGS if f != "IE3F25"]
    assert set(CATALOGUE) == set(FILINGS + amendments + OTHERS_T2C + C2T)
    assert "IE3A25" not in CATALOGUE
    assert CATALOGUE["IE3F25"].twin is None


@pytest.mark.parametrize("fid", [f for f in FILINGS if f != "IE3F25"])
def test_filings_and_amendments_are_twins(fid: str) -> None:
    filing = CATALOGUE[fid]
    amendment = CATALOGUE[filing.twin or ""]
    assert (filing.family, amendment.family) == (Family.FILING, Family.AMENDMENT)
    assert amendment.twin == fid
    assert (filing.key, amendment.key) == (Key.LRN, Key.MRN)
    assert filing.transport is amendment.transport
    assert filing.attachments is amendment.attachments
    assert filing.direction is amendment.direction is Direction.T2C


def test_attachments_exactly_where_the_table_allows() -> None:
    allowed = {k for k, v in CATALOGUE.items() if v.attachments}
    assert allowed == {
        "IE3F20", "IE3F23", "IE3F24", "IE3F26", "IE3F28", "IE3F32",
        "IE3A20", "IE3A23", "IE3A24", "IE3A26", "IE3A28", "IE3A32",
        "IE3R02", "IE3R03",
    }  # fmt: skip


def test_table_values() -> None:
    assert CATALOGUE["IE3F26"].transport is Transport.AIR
    assert CATALOGUE["IE3F32"].transport is Transport.EXPRESS
    assert CATALOGUE["IE3F51"].transport is Transport.RAIL
    assert CATALOGUE["IE3N06"].priority == "A" and CATALOGUE["IE3N06"].key is Key.LRN
    assert CATALOGUE["IE3Q04"].priority == "C" and CATALOGUE["IE3Q04"].key is Key.MRN
    assert CATALOGUE["IE3R03"].priority == "A" and CATALOGUE["IE3R03"].family is Family.RESPONSE
    assert CATALOGUE["IE3N11"].priority is None
    assert (CATALOGUE["IE3N08"].priority, CATALOGUE["IE3N09"].priority) == ("A", "C")
    for mid in C2T:
        assert CATALOGUE[mid].direction is Direction.C2T and CATALOGUE[mid].key is None
    assert "IE3F26" in repr(CATALOGUE["IE3F26"])


def test_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOGUE["IE3X99"] = CATALOGUE["IE3F26"]  # type: ignore[index]


def test_unknown_id_is_an_input_error() -> None:
    with pytest.raises(BuildError, match="IE3A25"):
        message_type("IE3A25")


def test_interface_defaults_and_override() -> None:
    assert DEFAULT_INTERFACE.agreement_ref == "EU-ICS2-TI-V2.0"
    assert DEFAULT_INTERFACE.namespace == "urn:wco:datamodel:eu:ics2:2"
    assert DEFAULT_INTERFACE.service_for("IE3F26") == "eu_ics2_t2c"
    assert DEFAULT_INTERFACE.service_for("IE3R01") == "eu_ics2_c2t"
    r3 = attrs.evolve(DEFAULT_INTERFACE, namespace="urn:example:r3", service_t2c="x")
    assert r3.service_for("IE3N06") == "x" and r3.namespace == "urn:example:r3"
    assert Ics2Interface() == DEFAULT_INTERFACE
