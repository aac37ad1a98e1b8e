"""The simulated CCF: each gateway behaviour of ICS-RULES, in-process and over loopback SMTP."""

from __future__ import annotations

import base64
import datetime as _dt
import email
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from icsclient.edifact import Interchange, Segment, parse_interchange
from icsclient.errors import BuildError
from icsclient.ics import MAX_INTERCHANGE_BYTES, build_interchange
from icsclient.ics.contrl import ContrlReport, parse_contrl
from icsclient.ics.cusres import CusresResponse, Outcome, parse_cusres, parse_cusres_all
from icsclient.ics.icontrl import build_icontrl
from icsclient.lodgement import (
    AcknowledgementToSend,
    ContrlAccepted,
    DuplicateReceived,
    Event,
    LodgementClient,
    PlainTextReceived,
    ResponseReceived,
    Superseded,
)
from icsclient.mail import compose_email, open_email
from icsclient.smime import (
    Credentials,
    encrypt_envelope,
    enveloped_entity,
    sign_and_encrypt,
    signed_entity,
)
from icsclient.store import MemoryStore
from icsclient.testing.ccf import (
    Advice,
    DropReason,
    ManualClock,
    Request,
    SimulatedCCF,
    SmtpCCF,
    SmtpInbox,
    Verdict,
    serve_smtp,
)
from icsclient.testing.pki import ThrowawayPKI, make_test_pki
from icsclient.transport import MaildirReader, SmtpSender

SITE = "AAA676Y"


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


@pytest.fixture
def gateway(pki: ThrowawayPKI) -> SimulatedCCF:
    return SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now), max_resends=2)


def aircr(reference: str = "HAWB1", version: str = "1", function: str = "9") -> list[Segment]:
    return [
        Segment("BGM", ("933", "", "", "AIRCR"), ("X" + reference, version), function),
        Segment("RFF", ("ABO", reference, "", version)),
        Segment("LOC", "9", "SYD"),
    ]


def edi(pki: ThrowawayPKI, icr: int, *bodies: list[Segment], **options: object) -> bytes:
    messages = [("CUSCAR", body) for body in (bodies or (aircr(),))]
    return build_interchange(
        str(options.pop("sender", pki.client_site)),
        messages,
        icr,
        prepared=pki.now,
        **options,  # type: ignore[arg-type]
    )


def mail(
    pki: ThrowawayPKI, data: bytes, *, signer: Credentials | None = None, to: object = None
) -> bytes:
    return compose_email(
        data,
        signer=signer or pki.client,
        gateway=to or pki.gateway.certificate,  # type: ignore[arg-type]
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
        validate=False,
    )


def opened(pki: ThrowawayPKI, replies: Sequence[bytes]) -> list[Interchange]:
    trust = pki.trust_for_client()
    out = []
    for raw in replies:
        got = open_email(raw, recipient=pki.client, trust=trust)
        assert got.interchange is not None
        out.append(parse_interchange(got.interchange))
    return out


def contrl(interchange: Interchange) -> ContrlReport:
    assert [m.type for m in interchange.messages] == ["CONTRL"]
    assert not interchange.ack_requested  # the CCF's CONTRL asks for no acknowledgement
    return parse_contrl(interchange)


def cusres(interchange: Interchange) -> CusresResponse:
    assert interchange.ack_requested
    return parse_cusres(interchange)


def ack(pki: ThrowawayPKI, response: Interchange, icr: int) -> bytes:
    return mail(pki, build_icontrl(response, sender=pki.client_site, icr=icr, prepared=pki.now))


def headers(pki: ThrowawayPKI, icr: int) -> bytes:
    return (
        f"From: {pki.client_email}\r\nTo: {pki.gateway_email}\r\n"
        f"Subject: {pki.client_site}_{icr}_AAA336C\r\nDate: Mon, 1 Jan 2024 10:00:00 +1000\r\n"
        "Message-ID: <x@broker.test>\r\nMIME-Version: 1.0\r\n"
    ).encode("ascii")


def attachment(data: bytes, name: str) -> bytes:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: application/EDIFACT; name="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'
    ).encode("ascii") + encoded


def mixed(*parts: bytes) -> bytes:
    body = b"".join(b"--BOUNDARY\r\n" + p + b"\r\n" for p in parts)
    return (
        b'Content-Type: multipart/mixed; boundary="BOUNDARY"\r\n\r\n' + body + b"--BOUNDARY--\r\n"
    )


TEXT = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease find attached.\r\n"


# --------------------------------------------------------------------------- answers


def test_clean_interchange_gets_contrl_7_and_cusres_ms5203(
    pki: ThrowawayPKI, gateway: SimulatedCCF
) -> None:
    replies = gateway.receive(mail(pki, edi(pki, 7, aircr("HAWB1", "2"))))
    first, second = opened(pki, replies)
    report = contrl(first)
    assert report.accepted and report.action == 7 and report.control_reference == "7"
    assert (report.sender, report.recipient) == (SITE, "AAA336C")
    assert first.sender == "AAA336C" and first.recipient == SITE
    assert len(first.control_reference) == 14

    response = cusres(second)
    assert response.document_name == "AIRCRR" and response.function == "11"
    assert response.outcome is Outcome.ACCEPTED and response.outcome_code == "MS5203"
    assert (response.original_document, response.original_function) == ("AIRCR", "9")
    assert (response.sender_reference, response.sender_version) == ("HAWB1", "2")
    assert response.recipient_site == SITE and response.received is not None
    assert response.transaction_id.startswith("AIRCR") and response.version == "2"
    assert not response.count_mismatch and not response.notes
    assert [r.document_name for r in gateway.processed] == ["AIRCR"]
    assert [s.kind for s in gateway.sent] == ["contrl", "response"]
    assert [e.event for e in gateway.log] == ["received", "contrl", "processed", "response"]
    assert [s.icr for s in gateway.pending] == [second.control_reference]


def test_no_contrl_when_none_asked_for(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    replies = gateway.receive(mail(pki, edi(pki, 8, ack_request=False)))
    [only] = opened(pki, replies)
    assert cusres(only).outcome is Outcome.ACCEPTED


def test_sender_reference_falls_back_to_the_bgm(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    body = [Segment("BGM", ("830", "", "", "EXD"), ("EXP42", "3"), "9")]
    replies = gateway.receive(mail(pki, build_interchange(SITE, [("CUSDEC", body)], 9)))
    response = cusres(opened(pki, replies)[1])
    assert response.document_name == "EXDR"
    assert (response.sender_reference, response.sender_version) == ("EXP42", "3")


def test_segment_count_fault_rejects_the_message(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    data = edi(pki, 10).replace(b"UNT+5+1'", b"UNT+9+1'")
    replies = gateway.receive(mail(pki, data))
    [only] = opened(pki, replies)
    report = contrl(only)
    assert not report.accepted
    [message] = report.messages
    assert message.rejected and message.error == 29 and message.segment_tag == "UNT"
    assert gateway.processed == [] and gateway.pending == []


def test_interchange_fault_rejects_everything(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    data = edi(pki, 11, aircr("A"), aircr("B")).replace(b"UNZ+2+11'", b"UNZ+3+11'")
    report = contrl(opened(pki, gateway.receive(mail(pki, data)))[0])
    assert report.rejected and report.error == 29 and report.segment_tag == "UNZ"
    assert gateway.processed == []


def test_only_the_faulty_message_is_rejected(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    data = edi(pki, 12, aircr("A"), aircr("B"))
    data = data.replace(b"UNT+5+2'", b"UNT+4+2'")
    first, second = opened(pki, gateway.receive(mail(pki, data)))
    report = contrl(first)
    assert report.action == 7 and [m.reference for m in report.rejected_messages] == ["2"]
    assert cusres(second).sender_reference == "A"
    assert [r.sender_reference for r in gateway.processed] == ["A"]


def test_wrong_recipient_is_error_7(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    data = edi(pki, 13, recipient="AAA999Z")
    report = contrl(opened(pki, gateway.receive(mail(pki, data)))[0])
    assert report.rejected and report.error == 7 and report.segment_tag == "UNB"
    assert gateway.processed == []


def test_duplicate_gets_contrl_26_and_is_not_processed_again(
    pki: ThrowawayPKI, gateway: SimulatedCCF
) -> None:
    data = edi(pki, 14)
    assert len(gateway.receive(mail(pki, data))) == 2
    [again] = opened(pki, gateway.receive(mail(pki, data)))
    report = contrl(again)
    assert report.rejected and report.error == 26 and report.control_reference == "14"
    # zero padding does not make a new number
    padded = data.replace(b"+14++++1'", b"+0014++++1'").replace(b"UNZ+1+14'", b"UNZ+1+0014'")
    assert contrl(opened(pki, gateway.receive(mail(pki, padded)))[0]).error == 26
    assert len(gateway.processed) == 1
    assert len(gateway.events("duplicate")) == 2


def test_lost_contrl_then_resend_gets_duplicate(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    gateway.lose_next("contrl")
    data = edi(pki, 15)
    [response] = opened(pki, gateway.receive(mail(pki, data)))
    assert cusres(response).accepted
    assert [s.lost for s in gateway.sent] == [True, False]
    assert contrl(opened(pki, gateway.receive(mail(pki, data)))[0]).error == 26


# --------------------------------------------------------------------------- dropped


def _signed_and_encrypted(pki: ThrowawayPKI, entity: bytes, icr: int) -> bytes:
    body = sign_and_encrypt(entity, signer=pki.client, recipients=[pki.gateway.certificate])
    return headers(pki, icr) + body



def _openssl_verifies(signed: bytes, pki: ThrowawayPKI, tmp_path: Path) -> bool:
    paths = pki.write(tmp_path)
    run = subprocess.run(
        ["openssl", "cms", "-verify", "-CAfile", str(paths["ca.pem"]), "-certfile",
         str(paths["issuing-ca.pem"]), "-purpose", "smimesign", "-no_check_time",
         "-out", os.devnull],
        input=signed, capture_output=True, check=False,
    )  # fmt: skip
    return run.returncode == 0


def test_strict_gateway_drops_a_signature_made_over_bare_lf(
    pki: ThrowawayPKI, tmp_path: Path
) -> None:
    """OpenSSL canonicalises to CRLF before verifying: a signature over LF text fails there.

    icsclient (and so the default simulated CCF) accepts it, as lenient peers do; the
    strict gateway drops it, and still takes what the library composes (CRLF).
    """
    data = edi(pki, 22)
    lf_part = attachment(data, f"{SITE}_22.edi").replace(b"\r\n", b"\n")
    crlf_part = attachment(data, f"{SITE}_22.edi")
    assert not _openssl_verifies(signed_entity(lf_part, pki.client), pki, tmp_path)
    assert _openssl_verifies(signed_entity(crlf_part, pki.client), pki, tmp_path)

    raw = _signed_and_encrypted(pki, lf_part, 22)
    lenient = SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now))
    assert lenient.receive(raw) and not lenient.dropped
    strict = SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now), strict=True)
    assert strict.receive(raw) == []
    [drop] = strict.dropped
    assert drop.reason is DropReason.BAD_SIGNATURE
    assert "bare LF" in drop.detail
    assert strict.receive(mail(pki, edi(pki, 23))) and len(strict.dropped) == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("body text inside", DropReason.BODY_TEXT),
        ("body text outside", DropReason.BODY_TEXT),
        ("two attachments", DropReason.ATTACHMENTS),
        ("not encrypted", DropReason.NOT_ENCRYPTED),
        ("not signed", DropReason.BAD_SIGNATURE),
        ("tampered", DropReason.BAD_SIGNATURE),
        ("wrong key", DropReason.UNDECRYPTABLE),
        ("untrusted", DropReason.CERTIFICATE),
        ("expired", DropReason.CERTIFICATE),
        ("invalid ICR", DropReason.INVALID_ICR),
        ("not EDIFACT", DropReason.WRONG_FORMAT),
    ],
)
def test_dropped_silently_but_recorded(
    pki: ThrowawayPKI, gateway: SimulatedCCF, case: str, reason: DropReason
) -> None:
    data = edi(pki, 20)
    part = attachment(data, f"{SITE}_20.edi")
    gateway_cert = [pki.gateway.certificate]
    if case == "body text inside":
        raw = _signed_and_encrypted(pki, mixed(TEXT, part), 20)
    elif case == "body text outside":
        inner = sign_and_encrypt(part, signer=pki.client, recipients=gateway_cert)
        raw = headers(pki, 20) + mixed(TEXT, inner)
    elif case == "two attachments":
        raw = _signed_and_encrypted(pki, mixed(part, attachment(data, "again.edi")), 20)
    elif case == "not encrypted":
        raw = headers(pki, 20) + signed_entity(part, pki.client)
    elif case == "not signed":
        raw = headers(pki, 20) + enveloped_entity(encrypt_envelope(part, gateway_cert))
    elif case == "tampered":
        signed = signed_entity(part, pki.client)
        tampered = signed.replace(
            b"Content-Disposition: attachment", b"Content-Disposition: inline"
        )
        raw = headers(pki, 20) + enveloped_entity(encrypt_envelope(tampered, gateway_cert))
    elif case == "wrong key":
        raw = mail(pki, data, to=pki.client.certificate)
    elif case in ("untrusted", "expired"):
        signer = pki.untrusted_client if case == "untrusted" else pki.expired_client
        raw = mail(pki, data, signer=signer)
    elif case == "invalid ICR":
        zero = data.replace(b"+20++++1'", b"+0++++1'").replace(b"UNZ+1+20'", b"UNZ+1+0'")
        raw = _signed_and_encrypted(pki, attachment(zero, f"{SITE}_0.edi"), 0)
    else:
        raw = _signed_and_encrypted(pki, attachment(b"UNB nothing like EDIFACT", "x.edi"), 20)
    assert gateway.receive(raw) == []
    [dropped] = gateway.dropped
    assert dropped.reason is reason, dropped.detail
    assert dropped.raw == raw and dropped.detail
    assert gateway.sent == [] and gateway.processed == []
    assert [e.event for e in gateway.log] == ["dropped"]


def test_unregistered_signatory_gets_contrl_23(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    other = pki.issue("AAA999Z", email="edi@other.test")
    data = edi(pki, 21, sender="AAA999Z")
    report = contrl(opened_by(pki, other, gateway.receive(mail(pki, data, signer=other)))[0])
    assert report.rejected and report.error == 23 and report.sender == "AAA999Z"
    # a registered certificate sending for another site's ID is just as unknown
    report = contrl(opened(pki, gateway.receive(mail(pki, edi(pki, 22, sender="AAA999Z"))))[0])
    assert report.error == 23
    assert gateway.processed == [] and gateway.dropped == []
    # ... but a CONTRL is never answered, whoever signed it
    uci = Segment("UCI", "00000000000001", ("AAA336C", "", "AAA336C"), "AAA999Z", "8")
    acknowledgement = build_interchange("AAA999Z", [("CONTRL", [uci])], 23, prepared=pki.now)
    assert gateway.receive(mail(pki, acknowledgement, signer=other)) == []
    assert "Client Register" in gateway.events("violation")[0].detail

    gateway.register_client("AAA999Z", other.certificate)
    replies = gateway.receive(mail(pki, data, signer=other))
    assert [contrl(i).accepted for i in opened_by(pki, other, replies)[:1]] == [True]
    assert len(gateway.processed) == 1


def opened_by(pki: ThrowawayPKI, creds: Credentials, replies: Sequence[bytes]) -> list[Interchange]:
    trust = pki.trust_for_client()
    out = []
    for raw in replies:
        got = open_email(raw, recipient=creds, trust=trust)
        assert got.interchange is not None
        out.append(parse_interchange(got.interchange))
    return out


def test_the_size_limit_defaults_to_the_ccf_limit(gateway: SimulatedCCF) -> None:
    assert gateway.max_interchange_bytes == MAX_INTERCHANGE_BYTES == 10 << 20


def test_an_interchange_over_the_size_limit_is_dropped_unanswered(
    pki: ThrowawayPKI, gateway: SimulatedCCF
) -> None:
    data = edi(pki, 24, aircr("A"), aircr("B"), aircr("C"))
    raw = mail(pki, data)
    gateway.max_interchange_bytes = len(data) - 1
    assert gateway.receive(raw) == []
    [dropped] = gateway.dropped
    assert dropped.reason is DropReason.TOO_LARGE and dropped.raw == raw
    assert (dropped.sender, dropped.icr) == (SITE, "24")
    assert f"{len(data):,} bytes" in dropped.detail
    assert gateway.sent == [] and gateway.processed == [] and gateway.received == []
    assert [e.event for e in gateway.log] == ["dropped"]
    assert gateway.log[0].detail.startswith("too-large: ")
    # exactly at the limit is still taken
    gateway.max_interchange_bytes = len(data)
    assert len(gateway.receive(raw)) == 4  # a CONTRL and three CUSRES
    assert len(gateway.processed) == 3


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "10"])
def test_the_size_limit_must_be_a_positive_whole_number(pki: ThrowawayPKI, bad: object) -> None:
    with pytest.raises(ValueError, match=f"max_interchange_bytes .*{bad!r}"):
        SimulatedCCF.for_pki(pki, max_interchange_bytes=bad)


# --------------------------------------------------------------------------- verdicts


def test_configured_rejection(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    gateway.verdicts["BAD1"] = Verdict.rejected(
        ("ERROR", "AC1234", "Consignor name must be supplied"),
        ("ADVICE", "AC5678", "Goods description is vague"),
    )
    _, reply = opened(pki, gateway.receive(mail(pki, edi(pki, 30, aircr("BAD1")))))
    response = cusres(reply)
    assert response.rejected and response.outcome_code == "MS5201"
    assert [(e.error_class, e.code) for e in response.errors] == [
        ("ERROR", "AC1234"),
        ("ADVICE", "AC5678"),
        ("ADVICE", "MS5201"),
    ]
    assert response.errors[0].text == "Consignor name must be supplied"
    assert response.count == 3 and not response.count_mismatch


def test_rule_with_warnings_status_references_and_erm(
    pki: ThrowawayPKI, gateway: SimulatedCCF
) -> None:
    seen: list[Request] = []

    def rule(request: Request) -> Verdict | None:
        seen.append(request)
        if request.sender_reference == "WARN":
            return Verdict(
                errors=[("WARNING", "AC2001", "Weight: more than 512 characters? " * 20)],
                status="CLEAR",
                status_text="Cleared for export",
                references=[("ED", "AB12345")],
            )
        if request.sender_reference == "ERM":
            return Verdict(errors=[("CCFERROR", "CCF0012", "Reference used")], erm=True)
        if request.sender_reference == "QUIET":
            return Verdict(respond=False)
        return None

    gateway.rule = rule
    data = edi(pki, 31, aircr("WARN"), aircr("ERM"), aircr("QUIET"), aircr("OK"))
    replies = opened(pki, gateway.receive(mail(pki, data)))
    assert contrl(replies[0]).accepted
    warn, erm, ok = (cusres(i) for i in replies[1:])
    assert warn.outcome is Outcome.ACCEPTED_WITH_WARNINGS and warn.outcome_code == "MS5202"
    assert (warn.status, warn.status_text) == ("CLEAR", "Cleared for export")
    assert warn.references["ED"] == ("AB12345",)
    assert warn.errors[0].text.startswith("Weight: more than 512 characters?")
    assert len(warn.errors[0].text) > 512
    assert erm.is_erm and erm.rejected and erm.failed_message_type == "CUSCAR"
    assert (erm.sender_reference, erm.raised_by, erm.failed_function) == ("ERM", "CCF", "9")
    assert erm.transaction_id == f"CCF_{SITE}_31_CUSCAR_2"
    assert ok.outcome is Outcome.ACCEPTED
    assert [r.sender_reference for r in seen] == ["WARN", "ERM", "QUIET", "OK"]
    assert len(gateway.pending) == 3


def test_message_without_document_name_gets_erm(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    data = edi(pki, 32, [Segment("RFF", ("ABO", "NODOC", "", "1"))])
    response = cusres(opened(pki, gateway.receive(mail(pki, data)))[1])
    assert response.is_erm and response.errors[0].code == "CCF0001"


# --------------------------------------------------------------------------- test indicator


def test_test_indicator_mirrored(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    replies = opened(pki, gateway.receive(mail(pki, edi(pki, 40, test=True))))
    assert [i.test for i in replies] == [True, True]
    replies = opened(pki, gateway.receive(mail(pki, edi(pki, 41))))
    assert [i.test for i in replies] == [False, False]


def test_industry_test_answers_everything_as_test(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki, environment="test")
    replies = opened(pki, gateway.receive(mail(pki, edi(pki, 42))))
    assert [i.test for i in replies] == [True, True]
    assert len(gateway.processed) == 1


def test_production_does_not_process_test_interchanges(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki, environment="production")
    [reply] = opened(pki, gateway.receive(mail(pki, edi(pki, 43, test=True))))
    report = contrl(reply)
    assert report.rejected and report.error == 25 and not reply.test
    assert gateway.processed == []


# --------------------------------------------------------------------------- re-sends


def test_resends_until_icontrl(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    clock = gateway.clock
    assert isinstance(clock, ManualClock)
    _, response_mail = gateway.receive(mail(pki, edi(pki, 50)))
    assert gateway.tick() == []
    clock.advance(gateway.resend_after)
    assert gateway.tick() == [response_mail]  # the same e-mail, the same ICR
    assert gateway.tick() == []
    [response] = opened(pki, [response_mail])
    assert gateway.receive(ack(pki, response, 51)) == []  # an ICONTRL is never answered
    [acked] = gateway.events("acknowledged")
    assert acked.icr == response.control_reference
    clock.advance(hours=5)
    assert gateway.tick() == [] and gateway.pending == []
    # an ICONTRL received again is harmless, and never answered, not even as a duplicate
    assert gateway.receive(ack(pki, response, 52)) == []
    assert len(gateway.events("unmatched-acknowledgement")) == 1
    assert gateway.receive(ack(pki, response, 52)) == []
    assert len(gateway.events("duplicate")) == 1


def test_resends_are_bounded(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    gateway.lose_next("response")
    [contrl_mail] = gateway.receive(mail(pki, edi(pki, 53)))
    resends = []
    for _ in range(5):
        gateway.clock.advance(minutes=31)  # type: ignore[attr-defined]
        resends.extend(gateway.tick())
    assert len(resends) == gateway.max_resends == 2
    assert [s.attempt for s in gateway.sent_of("response")] == [1, 2]
    assert len(gateway.events("gave-up")) == 1 and gateway.pending == []
    assert contrl(opened(pki, [contrl_mail])[0]).accepted


def test_acknowledging_a_contrl_is_a_violation(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    first, _ = opened(pki, gateway.receive(mail(pki, edi(pki, 54))))
    segments = [Segment("UCI", first.control_reference, ("AAA336C", "", "AAA336C"), SITE, "8")]
    data = build_interchange(SITE, [("CONTRL", segments)], 55, prepared=pki.now)
    assert gateway.receive(mail(pki, data)) == []
    assert [e.detail for e in gateway.events("violation")] == ["the client acknowledged a CONTRL"]
    assert len(gateway.pending) == 1


def test_lose_predicate(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    gateway.lose = lambda sent: sent.kind == "response" and sent.attempt == 0
    [contrl_mail] = gateway.receive(mail(pki, edi(pki, 56)))
    gateway.clock.advance(minutes=30)  # type: ignore[attr-defined]
    [resent] = gateway.tick()
    assert cusres(opened(pki, [resent])[0]).accepted
    events = [e.event for e in gateway.log]
    assert events.count("lost") == 1 and events[-1] == "resent"


# --------------------------------------------------------------------------- batching


def client_of(pki: ThrowawayPKI, gateway: SimulatedCCF) -> LodgementClient:
    return LodgementClient.for_pki(pki, MemoryStore(), clock=gateway.clock)


def acknowledge(gateway: SimulatedCCF, client: LodgementClient, events: list[Event]) -> None:
    """Send the ICONTRL among ``events`` to the gateway (which never answers one)."""
    [icontrl] = [e for e in events if isinstance(e, AcknowledgementToSend)]
    assert gateway.receive(icontrl.outgoing.email) == []
    client.sent(icontrl.outgoing)


def test_batch_by_count_sends_one_interchange_and_takes_one_icontrl(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now), batch_size=3)
    client = client_of(pki, gateway)
    inbox: list[bytes] = []
    for n, reference in enumerate(("HAWB1", "HAWB2", "HAWB3"), start=1):
        out = client.lodge(("CUSCAR", aircr(reference)))
        replies = gateway.receive(out.email)
        client.sent(out)
        if n < 3:  # a CONTRL at once, the CUSRES held
            [only] = opened(pki, replies)
            assert contrl(only).accepted and gateway.held == {SITE: n}
        inbox.extend(replies)
    assert gateway.held == {} and len(inbox) == 4  # three CONTRLs and one CUSRES interchange
    [batch] = gateway.sent_of("response")
    assert batch.answers == "1,2,3"
    [interchange] = opened(pki, [inbox[-1]])
    assert [m.type for m in interchange.messages] == ["CUSRES"] * 3
    assert [m.reference for m in interchange.messages] == ["1", "2", "3"]
    assert [e.detail for e in gateway.events("held")] == ["1 of 3", "2 of 3"]

    events = [e for raw in inbox for e in client.receive(raw)]
    assert sum(isinstance(e, ContrlAccepted) for e in events) == 3
    responses = [e for e in events if isinstance(e, ResponseReceived)]
    assert [(r.sender_reference, r.document_name, r.outcome) for r in responses] == [
        (ref, "AIRCRR", Outcome.ACCEPTED) for ref in ("HAWB1", "HAWB2", "HAWB3")
    ]
    assert {r.icr for r in responses} == {batch.icr}
    acknowledge(gateway, client, events)  # one ICONTRL for the three
    [acked] = gateway.events("acknowledged")
    assert acked.icr == batch.icr and gateway.pending == []
    gateway.clock.advance(hours=5)  # type: ignore[attr-defined]
    assert gateway.tick() == []


def test_a_batch_is_cut_before_it_passes_the_size_limit(pki: ThrowawayPKI) -> None:
    limit = 600  # a lodgement here is 156 bytes, a batch of three responses 767
    gateway = SimulatedCCF.for_pki(
        pki, clock=ManualClock(pki.now), batch_size=5, max_interchange_bytes=limit
    )
    for icr in range(1, 6):
        gateway.receive(mail(pki, edi(pki, icr, aircr(f"HAWB{icr}"))))
    gateway.flush()
    sent = gateway.sent_of("response")
    assert len(sent) > 1 and all(len(s.interchange) <= limit for s in sent)
    interchanges = opened(pki, [s.email for s in sent])
    references = [r.sender_reference for i in interchanges for r in parse_cusres_all(i)]
    assert references == [f"HAWB{n}" for n in range(1, 6)]
    assert gateway.held == {}


def test_batch_window_is_sent_by_tick(pki: ThrowawayPKI) -> None:
    window = _dt.timedelta(minutes=5)
    clock = ManualClock(pki.now)
    gateway = SimulatedCCF.for_pki(pki, clock=clock, batch_window=window)
    gateway.receive(mail(pki, edi(pki, 70, aircr("A"), aircr("B"))))
    clock.advance(minutes=2)
    gateway.receive(mail(pki, edi(pki, 71, aircr("C"))))
    assert gateway.held == {SITE: 3} and gateway.sent_of("response") == []
    clock.advance(window - _dt.timedelta(minutes=2, seconds=1))
    assert gateway.tick() == []
    clock.advance(seconds=1)  # five minutes after the first was held
    [sent] = gateway.tick()
    [interchange] = opened(pki, [sent])
    assert [r.sender_reference for r in parse_cusres_all(interchange)] == ["A", "B", "C"]
    assert gateway.sent_of("response")[0].answers == "70,71" and gateway.held == {}
    # and re-sent whole until acknowledged
    clock.advance(gateway.resend_after)
    assert gateway.tick() == [sent]


def test_flush_sends_what_is_held(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now), batch_size=10)
    gateway.receive(mail(pki, edi(pki, 72, aircr("A"))))
    gateway.receive(mail(pki, edi(pki, 73, aircr("B"), test=True)))
    assert gateway.held == {SITE: 2}
    sent = opened(pki, gateway.flush())
    # the test indicator is per interchange: a test and a production batch
    assert sorted((i.test, len(i.messages)) for i in sent) == [(False, 1), (True, 1)]
    assert gateway.held == {} and gateway.flush() == [] and len(gateway.pending) == 2


def test_default_is_no_batching(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    assert (gateway.batch_size, gateway.batch_window) == (1, None)
    assert len(gateway.receive(mail(pki, edi(pki, 74, aircr("A"), aircr("B"))))) == 3
    assert gateway.held == {} and gateway.events("held") == []


@pytest.mark.parametrize(
    ("option", "bad"),
    [
        ("batch_size", 0),
        ("batch_size", 1000),
        ("batch_size", True),
        ("batch_size", 2.0),
        ("batch_window", _dt.timedelta()),
        ("batch_window", _dt.timedelta(minutes=11)),
        ("batch_window", 60),
    ],
)
def test_batch_options_are_checked(pki: ThrowawayPKI, option: str, bad: object) -> None:
    with pytest.raises(ValueError, match=f"{option} must be .*got {re.escape(repr(bad))}"):
        SimulatedCCF.for_pki(pki, **{option: bad})


# --------------------------------------------------------------------------- advices


def test_unsolicited_advice_reaches_the_client_and_is_resent_until_acknowledged(
    pki: ThrowawayPKI, gateway: SimulatedCCF
) -> None:
    client = client_of(pki, gateway)
    advice = Advice("PAYREC", advices=[("ADVICE", "PY0001", "Payment received")])
    [raw] = gateway.advise(SITE, advice)
    [sent] = gateway.sent
    assert (sent.kind, sent.site, sent.answers, sent.to) == ("response", SITE, "", pki.client_email)
    assert gateway.pending == [sent] and gateway.processed == []
    assert gateway.log[-1].event == "response" and gateway.log[-1].detail == "unsolicited"
    [interchange] = opened(pki, [raw])
    assert (interchange.sender, interchange.recipient) == ("AAA336C", SITE)
    assert interchange.control_reference == sent.icr and len(sent.icr) == 14
    response = cusres(interchange)
    assert (response.document_name, response.function) == ("PAYREC", "14")
    assert response.outcome is Outcome.UNKNOWN and response.recipient_site == SITE
    assert [(e.code, e.text) for e in response.errors] == [("PY0001", "Payment received")]

    gateway.clock.advance(gateway.resend_after)  # type: ignore[attr-defined]
    assert gateway.tick() == [raw]  # the same e-mail, until the ICONTRL comes
    events = client.receive(raw)
    [received] = [e for e in events if isinstance(e, ResponseReceived)]
    assert (received.document_name, received.outcome) == ("PAYREC", Outcome.UNKNOWN)
    assert (received.sender, received.icr) == ("AAA336C", sent.icr)
    acknowledge(gateway, client, events)
    [acked] = gateway.events("acknowledged")
    assert acked.icr == sent.icr and gateway.pending == []
    gateway.clock.advance(hours=5)  # type: ignore[attr-defined]
    assert gateway.tick() == []


def test_status_advice_about_a_report(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    client = client_of(pki, gateway)
    advice = Advice(
        "CARST",
        function="8",
        reference="HAWB9",
        version="2",
        outcome=Outcome.ACCEPTED,
        status="CLEAR",
        status_text="Cleared",
        references=[("ABT", "X1")],
        to="Broker EDI <edi@broker.test>",
        test=True,
    )
    [raw] = gateway.advise(SITE, advice)
    assert gateway.sent[-1].to == "Broker EDI <edi@broker.test>" and gateway.sent[-1].test
    [interchange] = opened(pki, [raw])
    assert interchange.test
    response = cusres(interchange)
    assert (response.function, response.outcome_code) == ("8", "MS5203")
    assert (response.status, response.status_text) == ("CLEAR", "Cleared")
    assert response.references["ABT"] == ("X1",)
    [received] = [e for e in client.receive(raw) if isinstance(e, ResponseReceived)]
    assert (received.document_name, received.outcome) == ("CARST", Outcome.ACCEPTED)
    assert (received.sender_reference, received.sender_version) == ("HAWB9", "2")


def test_an_advice_about_a_report_never_supersedes_its_response(
    pki: ThrowawayPKI, gateway: SimulatedCCF
) -> None:
    client = client_of(pki, gateway)
    out = client.lodge(("CUSCAR", aircr("HAWB7")))
    replies = gateway.receive(out.email)
    client.sent(out)
    for raw in replies:
        events = client.receive(raw)
    acknowledge(gateway, client, events)
    gateway.clock.advance(minutes=5)  # type: ignore[attr-defined]
    [raw] = gateway.advise(SITE, Advice("CARST", function="8", reference="HAWB7"))
    events = client.receive(raw)
    [received] = [e for e in events if isinstance(e, ResponseReceived)]
    assert (received.document_name, received.sender_reference) == ("CARST", "HAWB7")
    assert not [e for e in events if isinstance(e, Superseded)]
    # the AIRCRR still stands: a copy of it arriving again is a duplicate, not news
    [first_response] = [r for r in gateway.sent if r.kind == "response" and r.answers]
    again = client.receive(first_response.email)
    assert [type(e) for e in again if not isinstance(e, AcknowledgementToSend)] == [
        DuplicateReceived
    ]
    summary = client.summary()
    assert summary.superseded == 0
    assert summary.responses == {Outcome.ACCEPTED: 1, Outcome.UNKNOWN: 1}


def test_advice_needs_a_registered_site_with_an_address(
    pki: ThrowawayPKI, gateway: SimulatedCCF
) -> None:
    with pytest.raises(ValueError, match="'AAA999Z' is not on the Client Register"):
        gateway.advise("AAA999Z", "IDL")
    gateway.register_client("AAA999Z", pki.ca_cert)  # a certificate with no e-mail address
    with pytest.raises(ValueError, match="no e-mail address for site 'AAA999Z'"):
        gateway.advise("AAA999Z", "IDL")
    assert gateway.sent == []
    with pytest.raises(ValueError, match="14 \\(advice\\) or 8 \\(status\\), got '11'"):
        Advice("IDL", function="11")
    with pytest.raises(ValueError, match="like CARST, got 'CAR ST'"):
        Advice("CAR ST")


# --------------------------------------------------------------------------- plain text


def test_plain_text_responses_reach_the_client_as_text(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now), plain_text={SITE})
    gateway.verdicts["BAD1"] = Verdict.rejected(("ERROR", "AC1234", "Consignor name missing"))
    client = client_of(pki, gateway)
    out = client.lodge([("CUSCAR", aircr("HAWB1")), ("CUSCAR", aircr("BAD1"))])
    contrl_mail, accepted_mail, rejected_mail = gateway.receive(out.email)
    client.sent(out)
    assert contrl(opened(pki, [contrl_mail])[0]).accepted  # the CONTRL stays EDIFACT
    assert [e.__class__ for e in client.receive(contrl_mail)] == [ContrlAccepted]

    got = open_email(accepted_mail, recipient=pki.client, trust=pki.trust_for_client())
    assert got.plain_text and got.interchange is None and got.signer == pki.gateway.certificate
    assert " " in got.subject.text and got.subject.text.startswith("AIRCRR (response)")
    [event] = client.receive(accepted_mail)
    assert isinstance(event, PlainTextReceived)
    assert event.subject == got.subject.text
    assert event.text.splitlines()[0].endswith("HAWB1 version 1: accepted (MS5203)")
    [event] = client.receive(rejected_mail)
    assert isinstance(event, PlainTextReceived)
    assert "rejected (MS5201)" in event.subject
    assert event.text.splitlines()[1:] == [
        "  ERROR AC1234: Consignor name missing",
        "  ADVICE MS5201: Report rejected",
    ]

    texts = gateway.sent_of("text")
    assert [(t.icr, t.interchange, t.answers) for t in texts] == [("", b"", "1")] * 2
    assert texts[1].text is not None and texts[1].text.splitlines() == event.text.splitlines()
    assert gateway.pending == [] and gateway.sent_of("response") == []
    assert [e.event for e in gateway.log].count("text") == 2
    gateway.clock.advance(hours=5)  # type: ignore[attr-defined]
    assert gateway.tick() == []  # nothing a client could acknowledge, nothing re-sent


def test_plain_text_is_per_site(pki: ThrowawayPKI, gateway: SimulatedCCF) -> None:
    gateway.plain_text = {"AAA999Z"}  # another client asked for text
    _, response = opened(pki, gateway.receive(mail(pki, edi(pki, 80))))
    assert cusres(response).accepted
    gateway.plain_text.add(SITE)
    [text] = gateway.advise(SITE, "PAYREC")
    got = open_email(text, recipient=pki.client, trust=pki.trust_for_client())
    assert got.plain_text and got.text is not None and got.text.startswith("PAYREC (advice)")
    assert len(gateway.pending) == 1  # the earlier EDIFACT response only
    assert email.message_from_bytes(text)["To"] == pki.client_email
    with pytest.raises(BuildError, match="reply address 'x y@z.test' is not a valid e-mail"):
        gateway.advise(SITE, Advice("PAYREC", to="x y@z.test"))
    with pytest.raises(TypeError, match="plain_text is a set of client site IDs, got 'AAA676Y'"):
        SimulatedCCF.for_pki(pki, plain_text=SITE)


# --------------------------------------------------------------------------- SMTP


@pytest.fixture
def smtp_pair(pki: ThrowawayPKI, tmp_path: Path) -> Iterator[SmtpCCF]:
    gateway = SimulatedCCF.for_pki(pki, clock=ManualClock(pki.now))
    with SmtpCCF(gateway, inbox=SmtpInbox(tmp_path / "inbox")) as server:
        yield server


def test_loopback_smtp_round_trip(pki: ThrowawayPKI, smtp_pair: SmtpCCF) -> None:
    assert smtp_pair.inbox is not None and smtp_pair.inbox.running
    with smtp_pair.sender() as sender:
        sender.send(mail(pki, edi(pki, 60)), mail_from=pki.client_email, rcpt_to=pki.gateway_email)
    reader = smtp_pair.inbox.reader()
    items = list(reader)
    assert len(items) == 2 and all(
        to == [pki.client_email] for _, to, _ in smtp_pair.inbox.messages
    )
    first, second = opened(pki, [raw for _, raw in items])
    assert contrl(first).accepted and cusres(second).accepted
    for key, _ in items:
        reader.done(key)

    smtp_pair.gateway.clock.advance(minutes=30)  # type: ignore[attr-defined]
    [resent] = smtp_pair.tick()
    assert [raw for _, raw in reader] == [resent]
    SmtpSender(smtp_pair.host, smtp_pair.port).send(
        ack(pki, second, 61), mail_from=pki.client_email, rcpt_to=pki.gateway_email
    )
    assert len(smtp_pair.gateway.events("acknowledged")) == 1
    assert smtp_pair.gateway.pending == [] and smtp_pair.delivery_errors == []
    inbox = smtp_pair.inbox
    smtp_pair.stop()
    assert not inbox.running and not smtp_pair.running


def test_smtp_gateway_into_a_maildir(pki: ThrowawayPKI, tmp_path: Path) -> None:
    gateway = SimulatedCCF.for_pki(pki)
    with serve_smtp(gateway, maildir=tmp_path / "md") as server:
        server.sender().send(
            mail(pki, edi(pki, 62)), mail_from=pki.client_email, rcpt_to=pki.gateway_email
        )
    raws = [raw for _, raw in MaildirReader(tmp_path / "md")]
    assert [contrl(i).accepted for i in opened(pki, raws)[:1]] == [True] and len(raws) == 2


def test_smtp_delivery_failure_is_recorded(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki)
    with SmtpInbox() as dead:
        port = dead.port
    with serve_smtp(gateway, reply_to=("127.0.0.1", port)) as server:
        server.sender().send(
            mail(pki, edi(pki, 63)), mail_from=pki.client_email, rcpt_to=pki.gateway_email
        )
    assert len(server.delivery_errors) == 2 and f"127.0.0.1:{port}" in server.delivery_errors[0]
    assert len(gateway.events("delivery-failed")) == 2


def test_smtp_flush_and_advise_deliver(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki, batch_size=5)
    with SmtpInbox() as inbox, serve_smtp(gateway, inbox=inbox) as server:
        server.sender().send(
            mail(pki, edi(pki, 66)), mail_from=pki.client_email, rcpt_to=pki.gateway_email
        )
        assert len(inbox.messages) == 1  # the CONTRL
        [batch] = server.flush()
        assert [raw for _, _, raw in inbox.messages][1:] == [batch]
        gateway.batch_size = 1
        [advice] = server.advise(SITE, "IDL")
        assert inbox.messages[-1] == (pki.gateway_email, [pki.client_email], advice)
    assert cusres(opened(pki, [batch])[0]).accepted


def test_smtp_ccf_needs_one_reply_target(pki: ThrowawayPKI, tmp_path: Path) -> None:
    gateway = SimulatedCCF.for_pki(pki)
    with pytest.raises(ValueError, match="exactly one"):
        SmtpCCF(gateway)
    with pytest.raises(ValueError, match="exactly one"):
        SmtpCCF(gateway, maildir=tmp_path, reply_to=("127.0.0.1", 25))


def test_manual_clock() -> None:
    clock = ManualClock(_dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc))
    assert clock.advance(minutes=90) == _dt.datetime(2024, 1, 1, 1, 30, tzinfo=_dt.timezone.utc)
    with pytest.raises(ValueError):
        clock.advance(minutes=-1)
    with pytest.raises(ValueError):
        ManualClock(_dt.datetime(2024, 1, 1))


def test_smtp_replies_survive_a_restarted_inbox(pki: ThrowawayPKI) -> None:
    gateway = SimulatedCCF.for_pki(pki)
    first = SmtpInbox().start()
    port = first.port
    with serve_smtp(gateway, reply_to=("127.0.0.1", port)) as server:
        send = server.sender()
        send.send(mail(pki, edi(pki, 64)), mail_from=pki.client_email, rcpt_to=pki.gateway_email)
        first.stop()  # the gateway's kept connection to it goes stale
        with SmtpInbox(port=port) as second:
            send.send(
                mail(pki, edi(pki, 65)), mail_from=pki.client_email, rcpt_to=pki.gateway_email
            )
    assert len(first.messages) == 2 and len(second.messages) == 2
    assert server.delivery_errors == []
