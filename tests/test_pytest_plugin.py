"""The pytest plugin: its fixtures work in a vendor's own test suite (run with ``pytester``)."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """``-p`` for the plugin, unless its ``pytest11`` entry point already loads it.

    Naming a module with ``-p`` that an entry point registers too would register it
    twice, which pytest refuses.
    """
    if any(ep.name == "icsclient" for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "icsclient.testing.pytest_plugin"]


VENDOR_TESTS = """
import pytest

from icsclient.edifact import Segment, parse_interchange
from icsclient.ics import build_interchange
from icsclient.ics.contrl import parse_contrl
from icsclient.ics.cusres import parse_cusres
from icsclient.ics.icontrl import build_icontrl
from icsclient.mail import compose_email, open_email
from icsclient.testing.ccf import DropReason, Verdict


def lodge(pki, icr, reference="HAWB1"):
    body = [
        Segment("BGM", ("933", "", "", "AIRCR"), (reference, "1"), "9"),
        Segment("RFF", ("ABO", reference, "", "1")),
    ]
    data = build_interchange(pki.client_site, [("CUSCAR", body)], icr, prepared=pki.now)
    return compose_email(
        data,
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
    )


def read(pki, raw):
    opened = open_email(raw, recipient=pki.client, trust=pki.trust_for_client())
    return parse_interchange(opened.interchange)


def test_pki_is_shared(ics_pki, request):
    assert ics_pki is request.getfixturevalue("ics_pki")
    assert ics_pki.client_site == "AAA676Y" and ics_pki.gateway_site == "AAA336C"


def test_in_process(ccf, ics_pki):
    ccf.verdicts["BAD"] = Verdict.rejected(("ERROR", "AC1234", "Consignor missing"))
    contrl, response = (read(ics_pki, r) for r in ccf.receive(lodge(ics_pki, 1, "BAD")))
    assert parse_contrl(contrl).accepted
    assert parse_cusres(response).outcome_code == "MS5201"
    ccf.clock.advance(minutes=30)
    assert len(ccf.tick()) == 1
    ack = build_icontrl(response, sender=ics_pki.client_site, icr=2, prepared=ics_pki.now)
    mail = compose_email(
        ack,
        signer=ics_pki.client,
        gateway=ics_pki.gateway.certificate,
        mail_from=ics_pki.client_email,
        mail_to=ics_pki.gateway_email,
    )
    assert ccf.receive(mail) == [] and ccf.pending == []


def test_fresh_gateway_per_test(ccf):
    assert ccf.log == [] and ccf.verdicts == {}


def test_over_smtp(ccf_smtp, ics_pki):
    ccf_smtp.sender().send(
        lodge(ics_pki, 1), mail_from=ics_pki.client_email, rcpt_to=ics_pki.gateway_email
    )
    reader = ccf_smtp.inbox.reader()
    kinds = [read(ics_pki, raw).messages[0].type for _, raw in reader]
    assert kinds == ["CONTRL", "CUSRES"]
    assert [e.event for e in ccf_smtp.gateway.log][-1] == "response"


@pytest.mark.ccf(max_interchange_bytes=100)
def test_a_marker_sets_the_gateway_options(ccf, ics_pki):
    assert ccf.max_interchange_bytes == 100
    assert ccf.receive(lodge(ics_pki, 1)) == []
    assert [d.reason for d in ccf.dropped] == [DropReason.TOO_LARGE]


@pytest.mark.ccf(batch_size=2)
class TestBatchedResponses:
    def test_over_smtp(self, ccf_smtp, ics_pki):
        for icr in (1, 2):
            ccf_smtp.sender().send(
                lodge(ics_pki, icr, f"HAWB{icr}"),
                mail_from=ics_pki.client_email,
                rcpt_to=ics_pki.gateway_email,
            )
        got = [read(ics_pki, raw) for _, raw in ccf_smtp.inbox.reader()]
        assert sorted([m.type for m in i.messages] for i in got) == [
            ["CONTRL"],
            ["CONTRL"],
            ["CUSRES", "CUSRES"],
        ]

    def test_in_process(self, ccf):
        assert ccf.batch_size == 2
"""


def test_fixtures_in_a_vendor_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_vendor=VENDOR_TESTS)
    result = pytester.runpytest(*_plugin_args(), "-q", "--strict-markers")
    result.assert_outcomes(passed=7)


def test_a_bad_marker_option_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_vendor="""
import pytest

@pytest.mark.ccf(batch_size=0)
def test_bad_option(ccf):
    pass

@pytest.mark.ccf(batchsize=2)
def test_misspelt_option(ccf):
    pass
"""
    )
    result = pytester.runpytest(*_plugin_args(), "-q")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ValueError: @pytest.mark.ccf options {'batch_size': 0}: batch_size must be*",
            "*TypeError: @pytest.mark.ccf options {'batchsize': 2}:*batchsize*",
        ]
    )


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*_plugin_args(), "--fixtures", "-q")
    text = result.stdout.str()
    for name in ("ics_pki", "ccf", "ccf_smtp"):
        assert f"{name} " in text or f"{name} [" in text
    assert "throw-away PKI" in text and "loopback SMTP" in text
