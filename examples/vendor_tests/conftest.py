"""Fixtures of the vendor's own: a CargoDesk wired to the simulated CCF.

``ics_pki``, ``ccf`` and ``ccf_smtp`` come from icsclient's pytest plugin, which
installing ``icsclient`` registers (or load it with ``-p icsclient.testing.pytest_plugin``).
"""

from __future__ import annotations

from collections import deque

import pytest
from my_software import CargoDesk

from icsclient import MemoryStore
from icsclient.lodgement import LodgementClient, Outgoing
from icsclient.testing import SimulatedCCF, ThrowawayPKI


class Wire:
    """The "mail system" between the desk and the in-process gateway."""

    def __init__(self, ccf: SimulatedCCF) -> None:
        self.ccf = ccf
        self.inbox: deque[bytes] = deque()

    def send(self, out: Outgoing) -> None:
        self.inbox.extend(self.ccf.receive(out.email))

    def deliver_all(self, desk: CargoDesk) -> None:
        while self.inbox:
            desk.on_email(self.inbox.popleft())


@pytest.fixture
def wire(ccf: SimulatedCCF) -> Wire:
    """E-mails to the simulated CCF, and its replies waiting to be delivered."""
    return Wire(ccf)


@pytest.fixture
def desk(ics_pki: ThrowawayPKI, ccf: SimulatedCCF, wire: Wire) -> CargoDesk:
    """The software under test, on the throw-away PKI and the gateway's clock."""
    client = LodgementClient.for_pki(ics_pki, MemoryStore(), clock=ccf.clock, test=True)
    return CargoDesk(client, wire.send)
