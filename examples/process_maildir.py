"""Process a Maildir of CCF responses: store, acknowledge, act; then remove each message.

The loop in :func:`process_mailbox` is what a broker system runs every minute or so:

1. read each waiting e-mail (:class:`~icsclient.transport.MaildirReader`, oldest first);
2. hand it to :meth:`LodgementClient.receive <icsclient.lodgement.LodgementClient.receive>`,
   which decrypts and verifies it, stores the interchange in the ledger and returns events;
3. only then remove it from the Maildir (``reader.done``): a crash before that point means
   the e-mail is read again, and the client recognises it as a duplicate;
4. send every e-mail the events ask for (the ICONTRLs) over SMTP, and report them sent;
5. act on the CONTRL verdicts and the CUSRES responses.

To have something to process, ``main`` runs the simulated CCF as a real SMTP server on
loopback (:class:`~icsclient.testing.ccf.SmtpCCF`) that delivers its replies into a
Maildir in a temporary folder, and lodges three air cargo reports with it over SMTP.

Run: ``python examples/process_maildir.py``
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from icsclient import MemoryStore, Segment
from icsclient.lodgement import (
    ContrlAccepted,
    ContrlRejected,
    LodgementClient,
    OpenFailed,
    ResponseReceived,
    SendEmail,
)
from icsclient.testing.ccf import SimulatedCCF, SmtpCCF, Verdict
from icsclient.testing.pki import make_test_pki
from icsclient.transport import MaildirReader, MailReader, SmtpSender


def process_mailbox(reader: MailReader, client: LodgementClient, smtp: SmtpSender) -> Counter[str]:
    """Process every waiting e-mail once; return how many events of each kind there were."""
    seen: Counter[str] = Counter()
    for key, raw in reader:
        events = client.receive(raw)  # stored in the ledger (or quarantined) when this returns
        reader.done(key)
        for event in events:
            seen[type(event).__name__] += 1
            if isinstance(event, SendEmail):  # an ICONTRL (or a re-send): send, then report
                out = event.outgoing
                smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
                client.sent(out)
            elif isinstance(event, ContrlAccepted):
                print(f"  ICR {event.icr}: the CCF passed it on to the ICS")
            elif isinstance(event, ContrlRejected):
                print(f"  ICR {event.icr}: rejected by the CCF: {'; '.join(event.errors)}")
            elif isinstance(event, ResponseReceived):
                print(
                    f"  {event.sender_reference}: {event.document_name} says {event.outcome.value}"
                )
                for problem in event.response.problems:
                    print(f"      {problem}")
            elif isinstance(event, OpenFailed):
                print(f"  quarantined ({event.error}): {event.reason}")
    return seen


def main() -> None:
    """Lodge three reports over loopback SMTP, then process the Maildir the replies land in."""
    pki = make_test_pki()
    gateway = SimulatedCCF.for_pki(pki)
    gateway.verdicts["HAWB0002"] = Verdict.accepted(
        ("WARNING", "AC5678", "Goods description is vague")
    )
    gateway.verdicts["HAWB0003"] = Verdict.rejected(
        ("ERROR", "AC1234", "Consignor name must be supplied")
    )

    with tempfile.TemporaryDirectory() as folder:
        maildir = Path(folder) / "Maildir"
        with SmtpCCF(gateway, maildir=maildir) as ccf_server, ccf_server.sender() as smtp:
            client = LodgementClient.for_pki(pki, MemoryStore(), test=True)
            for n in (1, 2, 3):
                hawb = f"HAWB000{n}"
                body = [
                    Segment("BGM", ("933", "", "", "AIRCR"), (hawb, "1"), "9"),
                    Segment("RFF", ("ABO", hawb, "", "1")),
                ]
                out = client.lodge(("CUSCAR", body))
                smtp.send(out.email, mail_from=out.mail_from, rcpt_to=out.mail_to)
                client.sent(out)

            reader = MaildirReader(maildir)
            print(f"{len(reader)} e-mails waiting in {maildir.name}/")
            counts = process_mailbox(reader, client, smtp)
            print("events:", ", ".join(f"{name} {n}" for name, n in sorted(counts.items())))
            print(f"left in the Maildir: {len(reader)}")
            print(f"responses the gateway still waits to see acknowledged: {len(gateway.pending)}")


if __name__ == "__main__":
    main()
