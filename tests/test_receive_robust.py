"""Whatever arrives, ``LodgementClient.receive`` returns events: never an exception that
rolls the receipt back and leaves the e-mail to fail again on every poll (a poison message)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from icsclient.edifact import Segment
from icsclient.errors import BuildError
from icsclient.lodgement import LodgementClient, NotUnderstood, OpenFailed
from icsclient.mail import compose_email
from icsclient.store import MemoryStore
from icsclient.testing.ccf import ManualClock, SimulatedCCF
from icsclient.testing.pki import ThrowawayPKI, make_test_pki


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


@pytest.fixture(scope="module")
def replies(pki: ThrowawayPKI) -> list[bytes]:
    """A CONTRL and a CUSRES e-mail the simulated CCF sends for one lodgement."""
    store = MemoryStore()
    clock = ManualClock(pki.now)
    client = LodgementClient.for_pki(pki, store, clock=clock)
    gateway = SimulatedCCF.for_pki(pki, clock=clock, resend_after=timedelta(minutes=30))
    body = [Segment("BGM", ("933", "", "", "AIRCR"), ("HAWB1", "1"), "9")]
    out = client.lodge(("CUSCAR", body))
    return gateway.receive(out.email)


def _gateway_mail(pki: ThrowawayPKI, interchange: bytes) -> bytes:
    """``interchange`` as the gateway would send it: signed, encrypted to the client."""
    return compose_email(
        interchange,
        signer=pki.gateway,
        gateway=pki.client.certificate,
        mail_from=pki.gateway_email,
        mail_to=pki.client_email,
        date=pki.now,
        validate=False,
    )


def _client(pki: ThrowawayPKI) -> tuple[LodgementClient, MemoryStore]:
    store = MemoryStore()
    return LodgementClient.for_pki(pki, store, clock=ManualClock(pki.now)), store


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_a_mutated_email_never_raises(
    pki: ThrowawayPKI, replies: list[bytes], data: st.DataObject
) -> None:
    raw = bytearray(data.draw(st.sampled_from(replies)))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    client, store = _client(pki)
    events = client.receive(bytes(raw))
    assert events
    if any(isinstance(e, OpenFailed) for e in events):
        assert store.quarantined()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(junk=st.binary(max_size=80), at=st.integers(0, 120))
def test_a_mutated_interchange_never_raises(pki: ThrowawayPKI, junk: bytes, at: int) -> None:
    """Mutations inside a correctly signed and encrypted e-mail reach the EDIFACT readers."""
    good = (
        f"UNB+UNOC:3+AAA336C+{pki.client_site}+240127:0730+77++++1'UNH+1+CONTRL:D:3:UN'"
        f"UCI+5+{pki.client_site}+AAA336C+7'UNT+3+1'UNZ+1+77'"
    ).encode()
    at += good.index(b"'") + 1  # after the UNB, which the e-mail's subject is made from
    mutated = good[:at] + junk + good[at + len(junk) :]
    try:
        mail = _gateway_mail(pki, mutated)
    except BuildError:
        assume(False)
    client, store = _client(pki)
    events = client.receive(mail)
    assert events or store.get_inbox("AAA336C", "77") is not None
    for event in events:
        if isinstance(event, NotUnderstood):
            entry = store.get_inbox(event.sender, event.icr)
            assert entry is not None and entry.processed and entry.detail


def test_a_non_ascii_digit_icr_in_a_contrl_is_not_understood_not_raised(
    pki: ThrowawayPKI,
) -> None:
    contrl = (
        f"UNB+UNOC:3+AAA336C+{pki.client_site}+240127:0730+78'UNH+1+CONTRL:D:3:UN'"
        f"UCI+\u00b2+{pki.client_site}+AAA336C+7'UNT+3+1'UNZ+1+78'"
    ).encode("latin-1")
    client, store = _client(pki)
    events = client.receive(_gateway_mail(pki, contrl))
    entry = store.get_inbox("AAA336C", "78")
    assert entry is not None and entry.processed
    assert events
