"""The ICS document catalogue (icsclient.ics.catalogue)."""

from __future__ import annotations

import pytest

from icsclient import BuildError
from icsclient.ics.catalogue import (
    CATALOGUE,
    REQUEST_FUNCTIONS,
    RESPONSE_FUNCTIONS,
    Direction,
    DocumentType,
    document,
    function_meaning,
)

# every name ICS-RULES §8 (and §5.2) lists
REQUESTS = (
    "AIRCR SEACR AIROUT SEAOUT AIRIAR SEAIAR AIRAAR SEAAAR AIRINT SEAINT CARLST EXD IMD SAC "
    "DEPART CTOREC CTOREM UBMREQ CLREG DRWBCK STREQ"
).split()
FROM_CUSTOMS = "ERM UBMREQE CLNTDUP CARST PAYREC IDL SEI ATD REFACC REFREJ".split()


def test_every_name_of_the_rules_is_there() -> None:
    for name in REQUESTS:
        doc = CATALOGUE[name]
        assert doc.is_request and doc.direction is Direction.TO_CUSTOMS
        assert doc.response == f"{name}R"
        assert CATALOGUE[f"{name}R"].message_type == "CUSRES"
        assert doc.functions == REQUEST_FUNCTIONS
    for name in FROM_CUSTOMS:
        doc = CATALOGUE[name]
        assert not doc.is_request and doc.message_type == "CUSRES" and doc.response is None
        assert doc.functions == RESPONSE_FUNCTIONS
    assert len(CATALOGUE) == 2 * len(REQUESTS) + len(FROM_CUSTOMS)


@pytest.mark.parametrize(
    ("name", "message_type", "code", "response"),
    [
        ("AIRCR", "CUSCAR", "933", "AIRCRR"),
        ("AIROUT", "CUSCAR", "263", "AIROUTR"),
        ("SEAOUT", "CUSCAR", "263", "SEAOUTR"),
        ("EXD", "CUSDEC", "830", "EXDR"),
        ("IMD", "CUSDEC", "929", "IMDR"),
        ("SAC", "CUSDEC", "929", "SACR"),
        ("DEPART", "CUSREP", "124", "DEPARTR"),
        ("CTOREC", None, None, "CTORECR"),
        ("SEACR", None, None, "SEACRR"),
        ("ERM", "CUSRES", "963", None),
    ],
)
def test_what_the_rules_give_and_none_where_they_do_not(
    name: str, message_type: str | None, code: str | None, response: str | None
) -> None:
    doc = CATALOGUE[name]
    assert (doc.message_type, doc.document_code, doc.response) == (message_type, code, response)


def test_lookups() -> None:
    assert CATALOGUE.request_for("EXDR") is CATALOGUE["EXD"]
    assert CATALOGUE.request_for("CARST") is None
    assert document("IMD").description == "import declaration"
    with pytest.raises(BuildError, match="unknown ICS document name 'NOPE'"):
        document("NOPE")
    assert "AIRCR" in repr(CATALOGUE)


def test_function_codes() -> None:
    assert function_meaning("9") == "original" and function_meaning("50") == "withdraw"
    assert function_meaning("11") == "response" and function_meaning("8") == "status"
    assert function_meaning("77") == "unknown function code 77"


def test_catalogue_can_be_extended_without_changing_the_default() -> None:
    seacr = DocumentType(
        "SEACR", "sea cargo report", Direction.TO_CUSTOMS, "CUSCAR", "785", "SEACRR", ["9", "4"]
    )
    mine = CATALOGUE.with_documents([seacr])
    assert mine["SEACR"].document_code == "785" and mine["SEACR"].functions == {"9", "4"}
    assert CATALOGUE["SEACR"].document_code is None
    assert len(mine) == len(CATALOGUE)
    with pytest.raises(BuildError, match="expected a DocumentType"):
        CATALOGUE.with_documents(["SEACR"])  # type: ignore[list-item]
