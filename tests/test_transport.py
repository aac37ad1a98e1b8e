"""SMTP sending (against real aiosmtpd servers on loopback) and the inbound mail readers."""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from icsclient.edifact import Segment
from icsclient.errors import IcsError
from icsclient.ics import build_interchange
from icsclient.mail import compose_email
from icsclient.testing.ccf import SmtpInbox, _controller
from icsclient.testing.pki import ThrowawayPKI, make_test_pki
from icsclient.transport import (
    EmlFolderReader,
    MaildirReader,
    MaildirWriter,
    SmtpSender,
    TransportError,
)

SECRET = "s3cret-Pa55word"


@pytest.fixture(scope="module")
def pki() -> ThrowawayPKI:
    return make_test_pki()


@pytest.fixture(scope="module")
def composed(pki: ThrowawayPKI) -> bytes:
    body = [Segment("BGM", ("933", "", "", "AIRCR"), ("X1", "1"), "9")]
    data = build_interchange(pki.client_site, [("CUSCAR", body)], 1, prepared=pki.now)
    return compose_email(
        data,
        signer=pki.client,
        gateway=pki.gateway.certificate,
        mail_from=pki.client_email,
        mail_to=pki.gateway_email,
    )


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a self-signed 127.0.0.1 certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(days=1))
        .not_valid_after(now + _dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    return server, client


def _authenticator(
    server: object, session: object, envelope: object, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"broker"
        and auth_data.password == SECRET.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[SmtpInbox]:
    with SmtpInbox(tmp_path / "maildir") as server:
        yield server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- sending


def test_plain_send_arrives_byte_identical(inbox: SmtpInbox, composed: bytes) -> None:
    SmtpSender(inbox.host, inbox.port).send(
        composed, mail_from="edi@broker.test", rcpt_to="cargo@ccf.test"
    )
    [(mail_from, rcpt_tos, raw)] = inbox.messages
    assert (mail_from, rcpt_tos) == ("edi@broker.test", ["cargo@ccf.test"])
    assert raw == composed
    [(_, stored)] = list(inbox.reader())
    assert stored == composed


def test_dot_lines_and_kept_connection(inbox: SmtpInbox) -> None:
    raw = b"Subject: x\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n"
    with SmtpSender(inbox.host, inbox.port) as sender:
        for _ in range(3):
            sender.send(raw, mail_from="a@b.test", rcpt_to=["c@d.test", "e@f.test"])
    assert [m[2] for m in inbox.messages] == [raw] * 3
    assert inbox.messages[0][1] == ["c@d.test", "e@f.test"]


def test_unreachable_port_names_host_and_port() -> None:
    port = _free_port()
    with pytest.raises(TransportError) as info:
        SmtpSender("127.0.0.1", port, timeout=2).send(b"x\r\n", mail_from="a@b.c", rcpt_to="d@e.f")
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "cannot connect" in str(info.value)
    assert (info.value.host, info.value.port) == ("127.0.0.1", port)
    assert isinstance(info.value, IcsError)


def test_starttls_not_offered(inbox: SmtpInbox) -> None:
    sender = SmtpSender(inbox.host, inbox.port, security="starttls")
    with pytest.raises(TransportError, match="does not offer STARTTLS") as info:
        sender.send(b"x\r\n", mail_from="a@b.c", rcpt_to="d@e.f")
    assert f"127.0.0.1:{inbox.port}" in str(info.value)
    assert inbox.messages == []


def test_starttls_and_login(
    tmp_path: Path, tls: tuple[ssl.SSLContext, ssl.SSLContext], composed: bytes
) -> None:
    server_ctx, client_ctx = tls
    with SmtpInbox(
        tls_context=server_ctx, require_starttls=True, authenticator=_authenticator
    ) as server:
        good = SmtpSender(
            server.host,
            server.port,
            security="starttls",
            ssl_context=client_ctx,
            username="broker",
            password=SECRET,
        )
        good.send(composed, mail_from="edi@broker.test", rcpt_to="cargo@ccf.test")
        assert server.messages[-1][2] == composed

        bad = SmtpSender(
            server.host,
            server.port,
            security="starttls",
            ssl_context=client_ctx,
            username="broker",
            password="wrong-" + SECRET,
        )
        with pytest.raises(TransportError) as info:
            bad.send(composed, mail_from="edi@broker.test", rcpt_to="cargo@ccf.test")
        assert info.value.code == 535
        assert "login as 'broker' was refused" in str(info.value)
        assert SECRET not in str(info.value) and SECRET not in repr(bad)

        untrusting = SmtpSender(server.host, server.port, security="starttls")
        with pytest.raises(TransportError, match="TLS handshake failed"):
            untrusting.send(composed, mail_from="edi@broker.test", rcpt_to="cargo@ccf.test")

        plain = SmtpSender(server.host, server.port)
        with pytest.raises(TransportError) as refused:
            plain.send(composed, mail_from="edi@broker.test", rcpt_to="cargo@ccf.test")
        assert refused.value.code == 530  # "must issue a STARTTLS command first"
        assert len(server.messages) == 1


def test_implicit_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext], composed: bytes) -> None:
    server_ctx, client_ctx = tls
    with SmtpInbox(ssl_context=server_ctx) as server:
        SmtpSender(server.host, server.port, security="tls", ssl_context=client_ctx).send(
            composed, mail_from="edi@broker.test", rcpt_to="cargo@ccf.test"
        )
        assert server.messages[-1][2] == composed
        with pytest.raises(TransportError, match="TLS handshake failed"):
            SmtpSender(server.host, server.port, security="tls", timeout=5).send(
                composed, mail_from="edi@broker.test", rcpt_to="cargo@ccf.test"
            )


def test_login_without_auth_offered(inbox: SmtpInbox) -> None:
    sender = SmtpSender(inbox.host, inbox.port, username="broker", password=SECRET)
    with pytest.raises(TransportError, match="offers no AUTH") as info:
        sender.send(b"x\r\n", mail_from="a@b.c", rcpt_to="d@e.f")
    assert SECRET not in str(info.value)


class _Refusing:
    """An aiosmtpd handler refusing recipients ``nobody@`` and the data for ``policy@``."""

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, options: object
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if any(a.startswith("policy@") for a in envelope.rcpt_tos):
            return "554 5.6.0 Message refused: policy"
        return "250 OK"


@pytest.fixture
def refusing() -> Iterator[tuple[str, int]]:
    controller = _controller(_Refusing(), "127.0.0.1", 0)
    controller.start()
    try:
        yield "127.0.0.1", int(controller.port)
    finally:
        controller.stop()


def test_refusals_give_the_reply(refusing: tuple[str, int]) -> None:
    sender = SmtpSender(*refusing)
    where = f"{refusing[0]}:{refusing[1]}"
    with pytest.raises(TransportError, match="every recipient was refused") as info:
        sender.send(b"x\r\n", mail_from="a@b.c", rcpt_to="nobody@ccf.test")
    assert info.value.code == 550 and "No such mailbox" in str(info.value)
    assert where in str(info.value)
    assert info.value.refused == {"nobody@ccf.test": (550, "5.1.1 No such mailbox")}

    with pytest.raises(TransportError, match="some recipients were refused") as partial:
        sender.send(b"x\r\n", mail_from="a@b.c", rcpt_to=["nobody@ccf.test", "ok@ccf.test"])
    assert list(partial.value.refused) == ["nobody@ccf.test"]

    with pytest.raises(TransportError, match="the message was refused: 554") as data:
        sender.send(b"x\r\n", mail_from="a@b.c", rcpt_to="policy@ccf.test")
    assert data.value.reply == "5.6.0 Message refused: policy"


def test_sender_arguments_checked() -> None:
    with pytest.raises(ValueError, match="security"):
        SmtpSender("127.0.0.1", 25, security="ssl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        SmtpSender("127.0.0.1", 0)
    with pytest.raises(TypeError):
        SmtpSender("127.0.0.1", 25).send("text", mail_from="a@b.c", rcpt_to="d@e.f")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- reading


def test_maildir_reader_keeps_messages_until_done(tmp_path: Path) -> None:
    writer = MaildirWriter(tmp_path / "md")
    first = writer.deliver(b"one\r\n")
    second = writer.deliver(b"two\r\n")
    (tmp_path / "md" / "tmp" / "half-written").write_bytes(b"partial")
    (tmp_path / "md" / "cur" / "old:2,S").write_bytes(b"seen\r\n")
    os.utime(tmp_path / "md" / "new" / second[4:], ns=(2_000_000_000_000_000_000,) * 2)

    reader = MaildirReader(tmp_path / "md")
    items = list(reader)
    assert items == [(first, b"one\r\n"), (second, b"two\r\n"), ("cur/old:2,S", b"seen\r\n")]
    assert list(reader) == items  # reading removes nothing
    assert len(reader) == 3

    reader.done(first)
    assert [k for k, _ in reader] == [second, "cur/old:2,S"]
    with pytest.raises(KeyError):
        reader.done(first)
    for key in ("tmp/half-written", "../x", "new/", "new/a/b"):
        with pytest.raises(KeyError):
            reader.done(key)
    assert (tmp_path / "md" / "tmp" / "half-written").exists()


def test_maildir_reader_moves_to_processed(tmp_path: Path) -> None:
    key = MaildirWriter(tmp_path / "md").deliver(b"raw")
    reader = MaildirReader(tmp_path / "md", processed=tmp_path / "done")
    reader.done(key)
    assert list(reader) == []
    assert [p.read_bytes() for p in (tmp_path / "done").iterdir()] == [b"raw"]
    with pytest.raises(TransportError, match="missing does not exist.*create=True"):
        MaildirReader(tmp_path / "missing")
    assert list(MaildirReader(tmp_path / "made", create=True)) == []
    assert (tmp_path / "made" / "new").is_dir() and (tmp_path / "made" / "tmp").is_dir()
    with pytest.raises(TransportError, match="is not a Maildir"):
        MaildirReader(tmp_path / "made" / "new")
    with pytest.raises(TransportError, match="nothing-here does not exist"):
        EmlFolderReader(tmp_path / "nothing-here")
    assert list(EmlFolderReader(tmp_path / "eml", create=True)) == []


def test_eml_folder_reader(tmp_path: Path) -> None:
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "a.eml").write_bytes(b"A")
    (folder / "b.EML").write_bytes(b"B")
    (folder / "notes.txt").write_bytes(b"ignored")
    os.utime(folder / "a.eml", ns=(1_000_000_000_000_000_000,) * 2)
    os.utime(folder / "b.EML", ns=(2_000_000_000_000_000_000,) * 2)
    reader = EmlFolderReader(folder, processed=tmp_path / "processed")
    assert list(reader) == [("a.eml", b"A"), ("b.EML", b"B")]
    assert list(reader) == [("a.eml", b"A"), ("b.EML", b"B")]
    reader.done("a.eml")
    assert list(reader) == [("b.EML", b"B")]
    assert (tmp_path / "processed" / "a.eml").read_bytes() == b"A"
    with pytest.raises(KeyError):
        reader.done("a.eml")
    with pytest.raises(KeyError):
        reader.done("../notes.txt")

    deleting = EmlFolderReader(folder)
    deleting.done("b.EML")
    assert list(deleting) == [] and (folder / "notes.txt").exists()
