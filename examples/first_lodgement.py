"""A first lodgement, by hand: build, sign and encrypt, send to a simulated CCF, read the answers.

Everything runs in this process: a throw-away PKI stands in for the Gatekeeper
certificates and :class:`~icsclient.testing.ccf.SimulatedCCF` for the gateway. The
steps are the ones the lifecycle client automates (see ``lodge_air_cargo_report.py``):

1. build the interchange (UNB ... UNZ) for one air cargo report;
2. compose the S/MIME e-mail: signed with our certificate, encrypted to the gateway's;
3. the gateway answers with a CONTRL (syntax report) and a CUSRES (the ICS's response);
4. open each answer (decrypt, verify, check), read it, and acknowledge the CUSRES with
   an ICONTRL, which the gateway matches to its response.

Run: ``python examples/first_lodgement.py``
"""

from __future__ import annotations

from icsclient import (
    Segment,
    build_icontrl,
    build_interchange,
    needs_acknowledgement,
    parse_contrl,
    parse_cusres,
    parse_interchange,
)
from icsclient.mail import compose_email, open_email
from icsclient.testing.ccf import SimulatedCCF, Verdict
from icsclient.testing.pki import make_test_pki


def main() -> None:
    """Lodge one air cargo report with a simulated CCF and print what comes back."""
    pki = make_test_pki()  # throw-away certificates: never for real traffic
    ccf = SimulatedCCF.for_pki(pki)
    # make "the ICS" answer this report with a warning, to have something to read
    ccf.verdicts["HAWB123456"] = Verdict.accepted(
        ("WARNING", "AC5678", "Goods description is vague")
    )

    # 1. the interchange: one CUSCAR message carrying an AIRCR (air cargo report)
    report = [
        Segment("BGM", ("933", "", "", "AIRCR"), ("HAWB123456", "1"), "9"),
        Segment("RFF", ("ABO", "HAWB123456", "", "1")),
        Segment("FTX", "AAA", "", "", "FROZEN FISH"),
    ]
    data = build_interchange(pki.client_site, [("CUSCAR", report)], 1, test=True)
    print("sent:    ", parse_interchange(data))

    # 2. the e-mail: one attachment, signed then encrypted, no body text
    def email_of(interchange: bytes) -> bytes:
        return compose_email(
            interchange,
            signer=pki.client,
            gateway=pki.gateway.certificate,
            mail_from=pki.client_email,
            mail_to=pki.gateway_email,
        )

    # 3. the gateway answers
    replies = ccf.receive(email_of(data))

    # 4. open, read, acknowledge
    trust = pki.trust_for_client()  # the CA we trust and the gateway certificate we pin
    next_icr = 2
    for raw in replies:
        received = open_email(raw, recipient=pki.client, trust=trust)
        assert received.interchange is not None
        interchange = parse_interchange(received.interchange)
        print("received:", interchange)
        if interchange.messages[0].type == "CONTRL":
            print("   ", parse_contrl(interchange).explain().replace("\n", "\n    "))
        else:
            print("   ", parse_cusres(interchange).explain().replace("\n", "\n    "))
        if needs_acknowledgement(interchange):  # every CUSRES, never a CONTRL
            icontrl = build_icontrl(interchange, sender=pki.client_site, icr=next_icr)
            next_icr += 1
            ccf.receive(email_of(icontrl))

    acknowledged = ccf.events("acknowledged")
    print(f"the gateway saw {len(acknowledged)} acknowledgement(s); waiting: {len(ccf.pending)}")


if __name__ == "__main__":
    main()
