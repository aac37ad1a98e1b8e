"""A stand-in for a vendor's own software: the code the vendor test suite checks.

``CargoDesk`` turns consignments into air cargo reports (AIRCR), lodges them through an
``icsclient`` :class:`~icsclient.lodgement.LodgementClient`, and keeps a status per house
air waybill from what the CCF and the ICS answer. It does no I/O of its own: ``send``
hands an outgoing e-mail to whatever transport the software uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from icsclient import Segment
from icsclient.ics import format_number, normalise_text
from icsclient.lodgement import (
    ContrlAccepted,
    ContrlDuplicate,
    ContrlRejected,
    LodgementClient,
    Outgoing,
    ResponseReceived,
    SendEmail,
)


@dataclass(frozen=True)
class Consignment:
    """One house air waybill to report."""

    hawb: str
    consignor: str
    goods: str
    weight_kg: Decimal
    version: int = 1


def aircr(consignment: Consignment) -> list[Segment]:
    """The body of the AIRCR (CUSCAR 933) for ``consignment``."""
    c = consignment
    return [
        Segment("BGM", ("933", "", "", "AIRCR"), (c.hawb, str(c.version)), "9"),
        Segment("RFF", ("ABO", c.hawb, "", str(c.version))),
        Segment("NAD", "CZ", "", "", normalise_text(c.consignor).text),
        Segment("FTX", "AAA", "", "", normalise_text(c.goods).text),
        Segment("MEA", "WT", "", ("KGM", format_number(c.weight_kg, decimals=2, max_length=18))),
    ]


class CargoDesk:
    """Lodges consignments and tracks their status: ``status[hawb]``.

    Statuses: ``"lodged"``, ``"with the ICS"`` (the CONTRL passed it on), ``"rejected by
    the CCF"``, and then the ICS's outcome: ``"accepted"``, ``"accepted with errors
    and/or warnings"`` or ``"rejected"``, with the ICS's messages in ``problems[hawb]``.
    """

    def __init__(self, client: LodgementClient, send: Callable[[Outgoing], None]) -> None:
        self.client = client
        self.send = send
        self.status: dict[str, str] = {}
        self.problems: dict[str, list[str]] = {}
        self._hawb_of_icr: dict[str, str] = {}

    def _send(self, out: Outgoing) -> None:
        self.send(out)
        self.client.sent(out)

    def lodge(self, consignment: Consignment) -> str:
        """Lodge one consignment; return the ICR it went out with."""
        out = self.client.lodge(("CUSCAR", aircr(consignment)))
        self._hawb_of_icr[out.icr] = consignment.hawb
        self.status[consignment.hawb] = "lodged"
        self._send(out)
        return out.icr

    def on_email(self, raw: bytes) -> None:
        """Handle one e-mail from the CCF."""
        for event in self.client.receive(raw):
            if isinstance(event, SendEmail):
                self._send(event.outgoing)
            elif isinstance(event, ContrlRejected):
                hawb = self._hawb_of_icr.get(event.icr)
                if hawb is not None and event.rejected_messages:
                    self.status[hawb] = "rejected by the CCF"
                    self.problems[hawb] = list(event.errors)
            elif isinstance(event, (ContrlAccepted, ContrlDuplicate)):
                hawb = self._hawb_of_icr.get(event.icr)
                if hawb is not None and self.status.get(hawb) == "lodged":
                    self.status[hawb] = "with the ICS"
            elif isinstance(event, ResponseReceived) and event.sender_reference:
                self.status[event.sender_reference] = event.outcome.value
                self.problems[event.sender_reference] = [
                    f"{p.code}: {p.text}" for p in event.response.problems
                ]

    def tick(self) -> None:
        """Run now and then: send again what the CCF has not acknowledged."""
        for event in self.client.due():
            if isinstance(event, SendEmail):
                self._send(event.outgoing)
