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
