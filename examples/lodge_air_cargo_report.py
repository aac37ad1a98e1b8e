"""Build and lodge air cargo reports with the lifecycle client, against the simulated CCF.

:class:`~icsclient.lodgement.LodgementClient` does the bookkeeping the CCF's rules ask for:
a fresh ICR from the ledger for every interchange, the e-mail signed and encrypted, the
CONTRL matched to what we sent, the ICONTRL for every response (only once it is stored),
re-sends when a CONTRL does not come, and out-of-order responses. It does no I/O: this
script plays the mail system, handing the e-mails to an in-process
:class:`~icsclient.testing.ccf.SimulatedCCF` and the replies back to the client.

Three reports are lodged: one the ICS accepts, one it rejects, and one whose CONTRL the
"network" loses, so that the client sends it again after ``resend_after`` with the same
ICR. The ledger is an SQLite file in a temporary folder.

Run: ``python examples/lodge_air_cargo_report.py``
"""

from __future__ import annotations

import tempfile
from collections import deque
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from icsclient import Segment, SqliteStore
from icsclient.ics import format_number
from icsclient.lodgement import (
    AcknowledgementToSend,
    ContrlReceived,
    Event,
    LodgementClient,
    Outgoing,
    ResponseReceived,
    SendEmail,
)
from icsclient.testing.ccf import ManualClock, SimulatedCCF, Verdict
from icsclient.testing.pki import make_test_pki


def air_cargo_report(hawb: str, version: int, goods: str, weight_kg: Decimal) -> list[Segment]:
    """The body of an AIRCR (air cargo report, CUSCAR 933): a few typical segments."""
    return [
        Segment("BGM", ("933", "", "", "AIRCR"), (hawb, str(version)), "9"),
        Segment("RFF", ("ABO", hawb, "", str(version))),  # our sender reference and version
        Segment("NAD", "CZ", "", "", "SMITH & SONS EXPORTS PTY LTD"),
        Segment("FTX", "AAA", "", "", goods),
        Segment("MEA", "WT", "", ("KGM", format_number(weight_kg, decimals=2, max_length=18))),
    ]


def describe(event: Event) -> str:
    """One line about a lifecycle event."""
    if isinstance(event, ContrlReceived):
        return f"{type(event).__name__}: {event.explanation.splitlines()[0]}"
    if isinstance(event, ResponseReceived):
        return (
            f"ResponseReceived: {event.document_name} for {event.sender_reference} "
            f"version {event.sender_version}: {event.outcome.value}"
        )
    if isinstance(event, AcknowledgementToSend):
        return f"AcknowledgementToSend: ICONTRL for {event.sender} ICR {event.icr}"
    if isinstance(event, SendEmail):
        return f"{type(event).__name__}: ICR {event.outgoing.icr}, attempt {event.outgoing.attempt}"
    return repr(event)


def main() -> None:
    """Lodge three air cargo reports and follow each to its end."""
    pki = make_test_pki()
    clock = ManualClock(pki.now)  # the client and the gateway share one clock we move
    ccf = SimulatedCCF.for_pki(pki, clock=clock)
    ccf.verdicts["HAWB0002"] = Verdict.rejected(
        ("ERROR", "AC1234", "Consignor name must be supplied")
    )

    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "ledger.sqlite")
        client = LodgementClient.for_pki(
            pki, store, clock=clock, test=True, resend_after=timedelta(minutes=30)
        )
        client.recover()  # always at start-up: finds what a crash left half done
        mailbox: deque[bytes] = deque()  # what the CCF sends us

        def send(out: Outgoing) -> None:
            """The "mail system": hand the e-mail to the gateway, collect its replies."""
            mailbox.extend(ccf.receive(out.email))
            client.sent(out)

        def read_mailbox() -> None:
            while mailbox:
                for event in client.receive(mailbox.popleft()):
                    print("   ", describe(event))
                    if isinstance(event, SendEmail):  # the ICONTRL: send it right away
                        send(event.outgoing)

        reports = [
            ("HAWB0001", "FROZEN FISH", Decimal("240.5")),
            ("HAWB0002", "MACHINE PARTS", Decimal("1200")),
            ("HAWB0003", "BOOKS", Decimal("35.555")),  # rounded to 35.56 (ICS rules §7)
        ]
        for hawb, goods, weight in reports:
            out = client.lodge(("CUSCAR", air_cargo_report(hawb, 1, goods, weight)))
            print(f"lodged {hawb} as ICR {out.icr}")
            if hawb == "HAWB0003":
                ccf.lose_next("contrl")  # this CONTRL never arrives
            send(out)
            read_mailbox()

        print("35 minutes later, no CONTRL for one interchange:")
        clock.advance(minutes=35)
        for event in client.due():
            print("   ", describe(event))
            if isinstance(event, SendEmail):
                send(event.outgoing)  # the same e-mail, the same ICR
        read_mailbox()

        summary = client.summary()
        print("summary:", ", ".join(f"{label} {n}" for label, n in summary.rows()))
        store.close()


if __name__ == "__main__":
    main()
