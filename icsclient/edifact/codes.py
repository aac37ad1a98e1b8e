"""Service code lists of UN/EDIFACT syntax version 3 (ISO 9735) used in CONTRL.

``SYNTAX_ERRORS`` is data element 0085 (syntax error, coded) and ``ACTIONS`` is data
element 0083 (action, coded).  Both map the numeric code to its meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SYNTAX_ERRORS: Mapping[int, str] = MappingProxyType(
    {
        2: "syntax version or level not supported",
        7: "interchange recipient not actual recipient",
        12: "invalid value",
        13: "missing",
        14: "value not supported in this position",
        15: "not supported in this position",
        16: "too many constituents",
        17: "no agreement",
        18: "unspecified error",
        19: "invalid decimal notation",
        20: "character invalid as service character",
        21: "invalid character(s)",
        22: "invalid service character(s)",
        23: "unknown interchange sender",
        24: "too old",
        25: "test indicator not supported",
        26: "duplicate detected",
        27: "security function not supported",
        28: "references do not match",
        29: "control count does not match number of instances received",
        30: "functional groups and messages mixed",
        31: "more than one message type in group",
        32: "lower level empty",
        33: "invalid occurrence outside message, package or group",
        35: "too many data element or segment repetitions",
        36: "too many segment group repetitions",
        37: "invalid type of character(s)",
        38: "missing digit in front of decimal sign",
        39: "data element too long",
        40: "data element too short",
        41: "permanent communication network error",
        42: "temporary communication network error",
        43: "unknown interchange recipient",
        45: "trailing separator",
        46: "character set not supported",
        47: "envelope functionality not supported",
    }
)
"""0085 syntax error codes and their meanings."""

ACTIONS: Mapping[int, str] = MappingProxyType(
    {
        4: "this level and all lower levels rejected",
        7: "this level acknowledged, next lower level acknowledged if not explicitly rejected",
        8: "interchange received",
    }
)
"""0083 action codes and their meanings."""


def syntax_error_meaning(code: int | str) -> str:
    """The meaning of a 0085 code, or ``"unknown syntax error code N"``."""
    try:
        return SYNTAX_ERRORS[int(code)]
    except (KeyError, ValueError):
        return f"unknown syntax error code {code}"


def action_meaning(code: int | str) -> str:
    """The meaning of a 0083 code, or ``"unknown action code N"``."""
    try:
        return ACTIONS[int(code)]
    except (KeyError, ValueError):
        return f"unknown action code {code}"


SEGMENT_NAMES: Mapping[str, str] = MappingProxyType(
    {
        # service segments (ISO 9735)
        "UNA": "service string advice",
        "UNB": "interchange header",
        "UNZ": "interchange trailer",
        "UNG": "functional group header",
        "UNE": "functional group trailer",
        "UNH": "message header",
        "UNT": "message trailer",
        "UNS": "section control",
        # CONTRL
        "UCI": "interchange response",
        "UCM": "message/package response",
        "UCF": "functional group response",
        "UCS": "segment error indication",
        "UCD": "data element error indication",
        # D.99B segments used by the ICS messages
        "BGM": "beginning of message",
        "DTM": "date/time/period",
        "RFF": "reference",
        "NAD": "name and address",
        "FTX": "free text",
        "ERP": "error point",
        "ERC": "application error information",
        "CNT": "control total",
        "LOC": "place/location identification",
        "TDT": "details of transport",
        "TOD": "terms of delivery or transport",
        "TPL": "transport placement",
        "EQD": "equipment details",
        "EQA": "attached equipment",
        "SEL": "seal number",
        "GID": "goods item details",
        "GIN": "goods identity number",
        "GIS": "general indicator",
        "GDS": "nature of cargo",
        "PAC": "package",
        "PCI": "package identification",
        "MEA": "measurements",
        "DIM": "dimensions",
        "QTY": "quantity",
        "MOA": "monetary amount",
        "CUX": "currencies",
        "TAX": "duty/tax/fee details",
        "DOC": "document/message details",
        "CTA": "contact information",
        "COM": "communication contact",
        "CNI": "consignment information",
        "CPI": "charge payment instructions",
        "CST": "customs status of goods",
        "HAN": "handling instructions",
        "LIN": "line item",
        "PIA": "additional product id",
        "IMD": "item description",
        "ALI": "additional information",
        "ATT": "attribute",
        "AUT": "authentication result",
        "PCD": "percentage details",
        "TSR": "transport service requirements",
        "SGP": "split goods placement",
        "DGS": "dangerous goods",
        "FII": "financial institution information",
        "PAT": "payment terms basis",
        "RCS": "requirements and conditions",
        "TCC": "transport charge/rate calculations",
        "ICD": "insurance cover description",
        "CPS": "consignment packing sequence",
    }
)
"""The names of common segment tags: service, CONTRL and the D.99B segments the ICS uses."""


def segment_name(tag: str) -> str:
    """The name of a segment tag (``"BGM"`` → ``"beginning of message"``), ``""`` if unknown."""
    return SEGMENT_NAMES.get(tag, "")
