"""SmtpSender's limits against real servers on 127.0.0.1: the server's SIZE, a 552 answer,
and a timeout that bounds the whole exchange (a deadline) even when a server trickles."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from icsclient.testing.ccf import _controller
from icsclient.transport import SmtpSender, TransportError


class _Recording:
    """An aiosmtpd handler that keeps what arrives and answers 552 for ``big@``."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if any(a.startswith("big@") for a in envelope.rcpt_tos):
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        self.received.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def limited() -> Iterator[tuple[SmtpSender, _Recording]]:
    handler = _Recording()
    controller = _controller(handler, "127.0.0.1", 0, data_size_limit=2000)
    controller.start()
    try:
        yield SmtpSender("127.0.0.1", int(controller.port)), handler
    finally:
        controller.stop()


def test_a_larger_email_than_the_servers_size_is_refused_before_sending(
    limited: tuple[SmtpSender, _Recording],
) -> None:
    sender, handler = limited
    with pytest.raises(TransportError) as info:
        sender.send(b"x" * 5000 + b"\r\n", mail_from="a@b.test", rcpt_to="ccf@ccf.test")
    message = str(info.value)
    assert "5,002 bytes" in message and "limit of 2,000 bytes" in message
    assert "10 MB" in message and "19.5 MB" in message and "nothing was sent" in message
    assert handler.received == []
    sender.send(b"small\r\n", mail_from="a@b.test", rcpt_to="ccf@ccf.test")
    assert handler.received == [b"small\r\n"]


def test_a_552_answer_is_a_size_refusal(limited: tuple[SmtpSender, _Recording]) -> None:
    sender, _ = limited
    with pytest.raises(TransportError) as info:
        sender.send(b"x\r\n", mail_from="a@b.test", rcpt_to="big@ccf.test")
    assert info.value.code == 552
    assert "refused the e-mail (3 bytes) as too large" in str(info.value)
    assert "sender" not in str(info.value) and "19.5 MB" in str(info.value)


class _SlowServer:
    """A minimal SMTP server on 127.0.0.1 that sends chosen replies one byte every 0.4 s."""

    def __init__(self, *, trickle: set[str], silent: bool = False) -> None:
        self.trickle = trickle  # which replies to trickle: "greeting", "data-end"
        self.silent = silent  # never greet at all
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _say(self, conn: socket.socket, line: str, slow: bool) -> None:
        data = line.encode() + b"\r\n"
        if not slow:
            conn.sendall(data)
            return
        for i in range(len(data)):
            if self.stop.wait(0.4):
                return
            conn.sendall(data[i : i + 1])

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            try:
                self._session(conn)
            except OSError:  # the client gave up: what the deadline is for
                pass

    def _session(self, conn: socket.socket) -> None:
        if self.silent:
            self.stop.wait(30)
            return
        self._say(conn, "220 slow.test ESMTP at your service", "greeting" in self.trickle)
        reader = conn.makefile("rb")
        in_data = False
        for raw in reader:
            line = raw.decode("latin-1").rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    self._say(conn, "250 2.0.0 queued as 12345", "data-end" in self.trickle)
                continue
            verb = line[:4].upper()
            if verb == "QUIT":
                self._say(conn, "221 bye", False)
                return
            if verb == "DATA":
                in_data = True
                self._say(conn, "354 go ahead", False)
            else:
                self._say(conn, "250 ok", False)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture
def slow_server(request: pytest.FixtureRequest) -> Iterator[_SlowServer]:
    server = _SlowServer(**request.param)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("slow_server", [{"trickle": {"greeting"}}], indirect=True)
def test_a_trickled_greeting_cannot_outlast_the_timeout(slow_server: _SlowServer) -> None:
    # 38 bytes at 0.4 s: every read gets a byte well within 1 s, the whole greeting takes
    # 15 s; without a deadline the send would succeed once it is done
    sender = SmtpSender("127.0.0.1", slow_server.port, timeout=1)
    with pytest.raises(TransportError, match="timed out") as info:
        sender.send(b"x\r\n", mail_from="a@b.test", rcpt_to="ccf@ccf.test")
    assert "refused" not in str(info.value) and "1 s" in str(info.value)


@pytest.mark.parametrize("slow_server", [{"trickle": set(), "silent": True}], indirect=True)
def test_no_greeting_is_a_timeout_not_a_refusal(slow_server: _SlowServer) -> None:
    with pytest.raises(TransportError) as info:
        SmtpSender("127.0.0.1", slow_server.port, timeout=0.5).open()
    assert "no greeting from the server: timed out" in str(info.value)
    assert "refused" not in str(info.value)


@pytest.mark.parametrize("slow_server", [{"trickle": {"data-end"}}], indirect=True)
def test_each_send_on_a_kept_connection_has_its_own_deadline(slow_server: _SlowServer) -> None:
    with SmtpSender("127.0.0.1", slow_server.port, timeout=1) as sender:
        with pytest.raises(TransportError, match="timed out"):
            sender.send(b"x\r\n", mail_from="a@b.test", rcpt_to="ccf@ccf.test")
