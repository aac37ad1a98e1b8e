"""A finding of the ICS2 filing checks: where, which rule, what is wrong."""

from __future__ import annotations

import enum

import attrs


class Severity(enum.Enum):
    """How bad a finding is: an ``ERROR`` stops the build, a ``WARNING`` does not."""

    ERROR = "error"
    WARNING = "warning"


@attrs.frozen
class Finding:
    """One problem in a filing.

    ``pointer`` is an XPath-like path into the filing's XML (``/IE3F26/declarant/name``;
    positions are 1-based, ``consignmentHouseLevel[2]``); ``rule`` the ICS2 rule id where the
    IE tables give one (``"R3005"``), else a short name of the check (``"format"``,
    ``"cardinality"``, ``"required"``).
    """

    pointer: str
    rule: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        """Whether this finding stops the build."""
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.severity.value} {self.rule} at {self.pointer}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        """The finding as the JSON object of ``icsclient ics2 check --json``."""
        return {
            "severity": self.severity.value,
            "rule": self.rule,
            "pointer": self.pointer,
            "message": self.message,
        }
