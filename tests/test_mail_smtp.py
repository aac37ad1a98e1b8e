"""A composed message survives a real SMTP delivery on loopback byte for byte, and opens."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator

import pytest

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

from icsclient.edifact import Segment  # noqa: E402
from icsclient.ics.envelope import build_interchange  # noqa: E402
from icsclient.mail import compose_email, open_email  # noqa: E402
from icsclient.testing.pki import ThrowawayPKI, make_test_pki  # noqa: E402


class _Sink:
    """An aiosmtpd handler that keeps every message as received."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(
            (
                envelope.mail_from,  # type: ignore[attr-defined]
                list(envelope.rcpt_tos),  # type: ignore[attr-defined]
                envelope.original_content,  # type: ignore[attr-defined]
            )
        )
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[_Sink, int]]:
    sink = _Sink()
    with socket.socket() as probe:  # aiosmtpd cannot start on port 0: find a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd_controller.Controller(
        sink, hostname="127.0.0.1", port=port, data_size_limit=64 * 1024 * 1024
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.mark.parametrize("size", [100, 400_000])
def test_composed_message_arrives_byte_identical_and_opens(
    smtp_sink: tuple[_Sink, int], size: int
) -> None:
    sink, port = smtp_sink
    pki: ThrowawayPKI = make_test_pki()
    interchange = build_interchange(
        "AAA676Y",
        [
            (
                "CUSCAR",
                [
                    Segment("BGM", ("933", "", "", "AIRCR"), "X1", "9"),
                    Segment("FTX", "AAA", "", "", (". From here ?' " * (size // 15))[:size]),
                ],
            )
        ],
        99,
    )
    raw = compose_email(
        interchange,
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        refused = smtp.sendmail(pki.client_email, [pki.gateway_email], raw)
    assert refused == {}
    assert len(sink.messages) == 1
    mail_from, rcpt_tos, arrived = sink.messages[0]
    assert (mail_from, rcpt_tos) == (pki.client_email, [pki.gateway_email])
    assert arrived == raw
    received = open_email(arrived, recipient=pki.gateway, trust=pki.trust_for_gateway())
    assert received.interchange == interchange
