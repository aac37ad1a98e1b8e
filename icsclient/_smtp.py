"""``smtplib`` with a deadline: the timeout bounds a whole SMTP exchange, not each read.

``smtplib`` gives every socket operation the full timeout, so a server that sends one byte
every 0.4 s holds a 1 s send for as long as it likes.  Here every read and write waits
only for what is left until the exchange's deadline (used by
:class:`icsclient.transport.SmtpSender`).
"""

from __future__ import annotations

import smtplib
import socket
import time
from typing import Any


class DeadlineReader:
    """What ``smtplib`` reads replies through: each read waits only for what is left of the
    exchange's deadline, so a server trickling bytes cannot stretch it."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = b""

    def readline(self, limit: int = -1) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0 or (0 <= limit <= len(self._buffer)):
                cut = end + 1 if end >= 0 else limit
                if 0 <= limit < cut:
                    cut = limit
                line, self._buffer = self._buffer[:cut], self._buffer[cut:]
                return line
            self._sock.settimeout(self._deadline.left())
            chunk = self._sock.recv(4096)
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += chunk

    def close(self) -> None:
        self._buffer = b""


class Deadline:
    """A point in time after which no SMTP step may wait any longer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out: the exchange took longer than {self.seconds:g} s")
        return left

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at


class DeadlineMixin:
    """``smtplib.SMTP`` whose every read and write waits only until ``deadline``."""

    deadline: Deadline
    sock: socket.socket | None
    file: Any

    def send(self, s: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self.deadline.left())
        super().send(s)  # type: ignore[misc]

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:
            self.file = DeadlineReader(self.sock, self.deadline)
        reply: tuple[int, bytes] = super().getreply()  # type: ignore[misc]
        return reply


class SMTP_WITH_DEADLINE(DeadlineMixin, smtplib.SMTP):
    def __init__(self, deadline: Deadline, *args: Any, **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(*args, **kwargs)


class SMTP_SSL_WITH_DEADLINE(DeadlineMixin, smtplib.SMTP_SSL):
    def __init__(self, deadline: Deadline, *args: Any, **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(*args, **kwargs)
