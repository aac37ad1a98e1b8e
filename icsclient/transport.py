"""Moving CCF e-mails: an SMTP sender, and readers for the mail that comes back.

The rest of ``icsclient`` works on bytes and does no I/O; this module is where those bytes
meet the network and the file system:

- :class:`SmtpSender` hands a composed e-mail to an SMTP server with :mod:`smtplib`, over a
  plain connection, STARTTLS or implicit TLS, with an optional login.  The message is sent
  exactly as given (``sendmail`` with bytes), so the S/MIME signature stays intact.
  Every failure becomes a :class:`TransportError` naming ``host:port`` and the server's reply.
- :class:`MaildirReader` and :class:`EmlFolderReader` yield ``(key, raw bytes)`` for each
  received message and delete it (or move it to a ``processed`` folder) only when the
  caller says :meth:`~MaildirReader.done` -- after the client has stored it safely.
  Nothing is removed before.
- :class:`MaildirWriter` delivers into a Maildir the way a mail server does (write into
  ``tmp/``, then rename into ``new/``), so a reader never sees half a message.
"""

from __future__ import annotations

import itertools
import os
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

import attrs

from ._smtp import SMTP_SSL_WITH_DEADLINE, SMTP_WITH_DEADLINE, Deadline, DeadlineMixin
from .errors import IcsError

__all__ = [
    "EmlFolderReader",
    "MailReader",
    "MaildirReader",
    "MaildirWriter",
    "Security",
    "SmtpSender",
    "TransportError",
]

Security = Literal["plain", "starttls", "tls"]
"""How :class:`SmtpSender` protects the connection: none, STARTTLS, or implicit TLS."""

_SECURITY: frozenset[str] = frozenset({"plain", "starttls", "tls"})


class TransportError(IcsError):
    """Sending or fetching mail failed: connection, TLS, login or a refusal by the server.

    ``host`` and ``port`` name the server; ``code`` and ``reply`` are the SMTP reply code and
    text when the server gave one (``None`` otherwise); ``refused`` maps each refused
    recipient to its ``(code, reply)``; ``path`` names the folder when a mailbox reader
    fails (``host`` is then empty).  The message never contains a password.
    """

    def __init__(
        self,
        message: str,
        *,
        host: str = "",
        port: int = 0,
        code: int | None = None,
        reply: str | None = None,
        refused: Mapping[str, tuple[int, str]] | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.host = host
        self.port = port
        self.code = code
        self.reply = reply
        self.refused: dict[str, tuple[int, str]] = dict(refused or {})
        self.path = path


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


CCF_MAX_INTERCHANGE = 10_000_000
"""The CCF takes interchanges of up to 10 MB (``ICS-RULES.md``)..."""
CCF_MAX_EMAIL = 19_500_000
"""...which is about 19.5 MB once signed, encrypted and base64-encoded twice."""


def _check_security(_instance: object, _attribute: object, value: str) -> None:
    if value not in _SECURITY:
        raise ValueError(f"security must be one of plain, starttls, tls; got {value!r}")


def _check_port(_instance: object, _attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError(f"port must be a number from 1 to 65535, got {value!r}")


@attrs.define(eq=False)
class SmtpSender:
    """Send composed CCF e-mails through an SMTP server (``smtplib``).

    ``security`` is ``"plain"`` (no encryption: loopback and test servers only),
    ``"starttls"`` (upgrade with STARTTLS; refused if the server does not offer it) or
    ``"tls"`` (implicit TLS, usually port 465).  ``ssl_context`` defaults to
    :func:`ssl.create_default_context` (certificate and host name checked).  With
    ``username`` the sender logs in (``password`` is never shown in a ``repr``, a log or an
    error).  ``timeout`` (seconds) bounds each whole exchange -- connecting, the greeting,
    EHLO, STARTTLS and login in :meth:`open`, and every :meth:`send` from ``MAIL FROM`` to
    the end of ``DATA`` -- as a deadline, however slowly the server trickles its replies.

    The server's ``SIZE`` limit (RFC 1870), when it announces one, is read at EHLO: a
    larger e-mail is refused before anything is sent.  The CCF itself takes an interchange
    of up to 10 MB, about 19.5 MB as e-mail, so the server on the way must allow that much
    (Postfix's ``message_size_limit`` is 10,240,000 bytes by default).

    Used as a context manager, one connection serves every :meth:`send` inside the block;
    otherwise each :meth:`send` opens and closes its own.
    """

    host: str
    port: int = attrs.field(validator=_check_port)
    security: Security = attrs.field(default="plain", kw_only=True, validator=_check_security)
    username: str | None = attrs.field(default=None, kw_only=True)
    password: str | None = attrs.field(default=None, kw_only=True, repr=False)
    timeout: float = attrs.field(default=30, kw_only=True)
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, kw_only=True, repr=False)
    local_hostname: str | None = attrs.field(default=None, kw_only=True)
    _connection: smtplib.SMTP | None = attrs.field(default=None, init=False, repr=False)

    @property
    def where(self) -> str:
        """``host:port`` as used in error messages."""
        return f"{self.host}:{self.port}"

    def _error(self, what: str, exc: BaseException | None = None) -> TransportError:
        if _timed_out(exc):
            exc = None
            what = f"{what}: timed out (no answer within the {self.timeout:g} s timeout)"
        code: int | None = None
        reply: str | None = None
        refused: dict[str, tuple[int, str]] = {}
        detail = ""
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            refused = {
                str(addr): (int(c), _reply_text(r)) for addr, (c, r) in exc.recipients.items()
            }
            detail = "; ".join(f"{a}: {c} {r}" for a, (c, r) in refused.items())
            if refused:
                code, reply = next(iter(refused.values()))
        elif isinstance(exc, smtplib.SMTPResponseException):
            code, reply = int(exc.smtp_code), _reply_text(exc.smtp_error)
            detail = f"{code} {reply}"
        elif exc is not None:
            detail = _reply_text(str(exc)) or type(exc).__name__
        message = f"SMTP {self.where}: {what}"
        if detail:
            message += f": {detail}"
        return TransportError(
            message, host=self.host, port=self.port, code=code, reply=reply, refused=refused
        )

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        deadline = Deadline(self.timeout)
        try:
            smtp: smtplib.SMTP
            if self.security == "tls":
                smtp = SMTP_SSL_WITH_DEADLINE(
                    deadline,
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                    context=self._context(),
                )
            else:
                smtp = SMTP_WITH_DEADLINE(
                    deadline,
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                )
        except ssl.SSLError as exc:
            raise self._error("the TLS handshake failed", exc) from None
        except smtplib.SMTPException as exc:
            if _timed_out(exc) or deadline.passed:
                raise self._error("no greeting from the server", TimeoutError()) from None
            raise self._error("the server refused the connection", exc) from None
        except OSError as exc:
            raise self._error("cannot connect", exc) from None
        try:
            self._greet(smtp)
        except BaseException:
            _close_quietly(smtp)
            raise
        return smtp

    def _greet(self, smtp: smtplib.SMTP) -> None:
        """EHLO, STARTTLS if asked for, and the login; every failure as TransportError."""
        step = "EHLO"
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                step = "STARTTLS"
                if not smtp.has_extn("starttls"):
                    raise self._error("the server does not offer STARTTLS")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username is not None:
                step = f"login as {self.username!r}"
                if not smtp.has_extn("auth"):
                    raise self._error(f"{step} failed: the server offers no AUTH here")
                smtp.login(self.username, self.password or "")
        except TransportError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(f"{step} was refused", exc) from None
        except ssl.SSLError as exc:
            raise self._error(f"{step}: the TLS handshake failed", exc) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(f"{step} failed", exc) from None

    def __enter__(self) -> SmtpSender:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """Whether a kept connection is open (see :meth:`open`)."""
        return self._connection is not None

    def open(self) -> None:
        """Open the connection now, unless one is open; it is kept until :meth:`close`."""
        if self._connection is None:
            self._connection = self._connect()

    def close(self) -> None:
        """Close the kept connection, if any (politely, with QUIT)."""
        smtp, self._connection = self._connection, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(smtp)

    def send(self, raw: bytes, *, mail_from: str, rcpt_to: str | Sequence[str]) -> None:
        """Send the message ``raw`` exactly as given from ``mail_from`` to ``rcpt_to``.

        ``mail_from`` and ``rcpt_to`` are the SMTP envelope addresses (bare ``a@b``);
        the headers inside ``raw`` are not read.  Returns once the server has accepted
        the message for every recipient.  Raises :class:`TransportError` when the
        connection, TLS or login fails, or the server refuses the sender, any recipient
        (``refused`` lists them; the others may have received the message) or the data.
        """
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise TypeError(f"send() takes the raw message bytes, not {type(raw).__name__}")
        recipients = [rcpt_to] if isinstance(rcpt_to, str) else list(rcpt_to)
        if not recipients:
            raise ValueError("send() needs at least one recipient")
        kept = self._connection is not None
        smtp = self._connection if self._connection is not None else self._connect()
        if isinstance(smtp, DeadlineMixin):
            smtp.deadline = Deadline(self.timeout)  # the whole send, MAIL FROM to DATA's end
        try:
            self._check_size(smtp, len(raw))
            refused = smtp.sendmail(mail_from, recipients, bytes(raw))
        except smtplib.SMTPServerDisconnected as exc:
            self._connection = None
            raise self._error("the server closed the connection", exc) from None
        except TransportError:
            raise
        except smtplib.SMTPSenderRefused as exc:
            if exc.smtp_code == 552:
                raise self._error(_too_large(len(raw)), exc) from None
            raise self._error(f"the sender {mail_from} was refused", exc) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._error("every recipient was refused", exc) from None
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code == 552:
                raise self._error(_too_large(len(raw)), exc) from None
            raise self._error("the message was refused", exc) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(smtp)
            raise self._error("sending failed", exc) from None
        finally:
            if not kept:
                _quit_quietly(smtp)
        if refused:
            raise self._error(
                "some recipients were refused (the others accepted the message)",
                smtplib.SMTPRecipientsRefused(refused),
            )

    def _check_size(self, smtp: smtplib.SMTP, size: int) -> None:
        """Refuse, before sending, an e-mail larger than the server's announced SIZE."""
        smtp.ehlo_or_helo_if_needed()
        announced = smtp.esmtp_features.get("size", "").strip()
        limit = int(announced) if announced.isascii() and announced.isdigit() else 0
        if limit and size > limit:
            raise self._error(
                f"the e-mail is {size:,} bytes, more than the server's limit of {limit:,} "
                f"bytes (SIZE); nothing was sent. {_CCF_SIZES}"
            )

    def _drop(self, smtp: smtplib.SMTP) -> None:
        if self._connection is smtp:
            self._connection = None
            _close_quietly(smtp)


_CCF_SIZES = (
    "The CCF accepts an interchange of up to 10 MB, about 19.5 MB as a signed and "
    "encrypted e-mail: the mail server must allow that much (Postfix's message_size_limit "
    "is 10,240,000 bytes by default)"
)


def _too_large(size: int) -> str:
    return f"the server refused the e-mail ({size:,} bytes) as too large. {_CCF_SIZES}"


def _timed_out(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what smtplib wrapped into it) is a timeout."""
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return True
    return isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        _close_quietly(smtp)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


# --------------------------------------------------------------------------- reading


class MailReader(Protocol):
    """What the inbound readers offer: ``(key, raw bytes)`` pairs and :meth:`done`."""

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        """Each waiting message as ``(key, raw bytes)``."""
        ...

    def done(self, key: str) -> None:
        """Remove (or move aside) the message ``key``: call only after storing it."""
        ...


def _read(path: Path) -> bytes | None:
    """The file's bytes, or ``None`` if it vanished (another reader took it)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _finish(path: Path, processed: Path | None) -> None:
    """Delete ``path``, or move it into the folder ``processed``."""
    if processed is None:
        path.unlink()
        return
    processed.mkdir(parents=True, exist_ok=True)
    target = processed / path.name
    if target.exists():
        target = processed / f"{path.name}.{time.time_ns()}"
    os.replace(path, target)


def _optional_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def _check_folder(path: Path, what: str, subfolders: Sequence[str], create: bool) -> None:
    """Refuse a folder that does not exist (a typo would read nothing, forever), or make it."""
    if create:
        for sub in subfolders or ("",):
            try:
                (path / sub).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TransportError(
                    f"cannot create the {what} {path}: {exc.strerror}", path=str(path)
                ) from None
        return
    if not path.is_dir():
        state = "is not a folder" if path.exists() else "does not exist"
        raise TransportError(
            f"the {what} {path} {state} (check the path; pass create=True to make it)",
            path=str(path),
        )
    if subfolders and not any((path / sub).is_dir() for sub in subfolders):
        raise TransportError(
            f"{path} is not a Maildir: it has none of {', '.join(s + '/' for s in subfolders)} "
            "(pass create=True to make them)",
            path=str(path),
        )


@attrs.define
class MaildirReader:
    """Read the messages waiting in a Maildir (``new/`` and ``cur/``; ``tmp/`` is ignored).

    Iterating yields ``(key, raw bytes)`` for each message, oldest first (by file time,
    then name), ``new/`` before ``cur/``; ``key`` is the message's path inside the Maildir
    (``"new/<name>"``).  Nothing is removed while reading: call :meth:`done` with the key
    once the message is stored, and it is deleted -- or moved into ``processed`` when that
    folder is given.  A message that vanishes between listing and reading (another reader
    took it) is skipped.

    A folder that does not exist, or is not a Maildir (none of ``new/``, ``cur/``), raises
    :class:`TransportError` at construction; ``create=True`` makes ``tmp/``, ``new/``
    and ``cur/`` instead.
    """

    path: Path = attrs.field(converter=Path)
    processed: Path | None = attrs.field(default=None, kw_only=True, converter=_optional_path)
    create: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_folder(
            self.path,
            "Maildir",
            ("tmp", "new", "cur") if self.create else ("new", "cur"),
            self.create,
        )

    def keys(self) -> list[str]:
        """The keys of the waiting messages, in the order iteration yields them."""
        out: list[str] = []
        for sub in ("new", "cur"):
            folder = self.path / sub
            try:
                entries = [e for e in os.scandir(folder) if e.is_file() and e.name[0] != "."]
            except FileNotFoundError:
                continue
            entries.sort(key=_entry_order)
            out.extend(f"{sub}/{e.name}" for e in entries)
        return out

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        """Each waiting message as ``(key, raw bytes)``; nothing is removed."""
        for key in self.keys():
            data = _read(self.path / key)
            if data is not None:
                yield key, data

    def __len__(self) -> int:
        return len(self.keys())

    def _file(self, key: str) -> Path:
        sub, _, name = key.partition("/")
        if sub not in ("new", "cur") or not name or "/" in name or name.startswith("."):
            raise KeyError(f"{key!r} is not a message key of the Maildir {self.path}")
        return self.path / sub / name

    def done(self, key: str) -> None:
        """The message ``key`` is stored: delete it (or move it into ``processed``).

        Raises :class:`KeyError` for a key this Maildir never yielded or one already done.
        """
        path = self._file(key)
        try:
            _finish(path, self.processed)
        except FileNotFoundError:
            raise KeyError(f"no message {key!r} in the Maildir {self.path}") from None


def _entry_order(entry: os.DirEntry[str]) -> tuple[int, str]:
    try:
        return entry.stat().st_mtime_ns, entry.name
    except FileNotFoundError:
        return 0, entry.name


@attrs.define
class EmlFolderReader:
    """Read the ``.eml`` files in a folder (one raw RFC 5322 message each).

    Iterating yields ``(key, raw bytes)``, oldest file first (by file time, then name);
    ``key`` is the file name.  Only names ending in ``suffix`` count (``.eml`` by
    default, any case).  Nothing is removed while reading: :meth:`done` deletes the file
    -- or moves it into ``processed`` when that folder is given.  A folder that does not
    exist raises :class:`TransportError` at construction (``create=True`` makes it).
    """

    path: Path = attrs.field(converter=Path)
    processed: Path | None = attrs.field(default=None, kw_only=True, converter=_optional_path)
    suffix: str = attrs.field(default=".eml", kw_only=True)
    create: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_folder(self.path, "folder", (), self.create)

    def keys(self) -> list[str]:
        """The names of the waiting files, in the order iteration yields them."""
        suffix = self.suffix.lower()
        try:
            entries = [
                e
                for e in os.scandir(self.path)
                if e.is_file() and e.name.lower().endswith(suffix) and e.name[0] != "."
            ]
        except FileNotFoundError:
            return []
        entries.sort(key=_entry_order)
        return [e.name for e in entries]

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        """Each waiting file as ``(name, raw bytes)``; nothing is removed."""
        for key in self.keys():
            data = _read(self.path / key)
            if data is not None:
                yield key, data

    def __len__(self) -> int:
        return len(self.keys())

    def done(self, key: str) -> None:
        """The message ``key`` is stored: delete the file (or move it into ``processed``).

        Raises :class:`KeyError` for a name that is not a waiting file of this folder.
        """
        if not key or "/" in key or os.sep in key or key.startswith("."):
            raise KeyError(f"{key!r} is not a file name in {self.path}")
        try:
            _finish(self.path / key, self.processed)
        except FileNotFoundError:
            raise KeyError(f"no file {key!r} in {self.path}") from None


_counter = itertools.count(1)


@attrs.define
class MaildirWriter:
    """Deliver messages into a Maildir as a mail server does: ``tmp/`` first, then ``new/``.

    The folders ``tmp``, ``new`` and ``cur`` are created when missing.  Each
    :meth:`deliver` writes the bytes as given, flushes them to disk, and renames the file
    into ``new/`` in one step, so a reader sees the whole message or nothing.
    """

    path: Path = attrs.field(converter=Path)

    def __attrs_post_init__(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def deliver(self, raw: bytes) -> str:
        """Write ``raw`` into the Maildir; return its key (``"new/<unique name>"``)."""
        name = (
            f"{time.time_ns()}.P{os.getpid()}Q{next(_counter)}."
            f"{socket.gethostname().replace('/', '_').replace(':', '_')}"
        )
        tmp = self.path / "tmp" / name
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / "new" / name)
        return f"new/{name}"
