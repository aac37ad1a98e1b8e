"""The sans-I/O lodgement client: bytes in, events and e-mails out, state in a Store."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TypeAlias

from ..edifact import iter_segments
from ..edifact.envelope import Interchange, Message, parse_interchange
from ..edifact.segment import Segment
from ..errors import BuildError, ReceivedError
from ..ics.contrl import ContrlReport, parse_contrl
from ..ics.cusres import CusresResponse, Outcome, parse_cusres
from ..ics.envelope import build_interchange
from ..ics.icontrl import build_icontrl, needs_acknowledgement
from ..ics.names import CCF_SITE, check_site_id
from ..ics.ordering import ResponseArrival, compare_responses, content_digest
from ..ics.sequence import following, format_icr
from ..mail import compose_email, open_email
from ..smime import CertificateLike, CipherName, Credentials, DigestName, Trust
from ..store import InboxEntry, OutboxEntry, OutboxState, Store
from ._events import (
    AcknowledgementToSend,
    ContrlAccepted,
    ContrlDuplicate,
    ContrlReceived,
    ContrlRejected,
    ContrlUnmatched,
    DuplicateReceived,
    Event,
    GaveUp,
    NotUnderstood,
    OpenFailed,
    Outgoing,
    OutgoingKind,
    PendingSend,
    PlainTextReceived,
    ResendDue,
    ResponseReceived,
    Superseded,
)
from ._summary import LodgementSummary

__all__ = ["ICONTRL_DETAIL", "Lodgeable", "LodgementClient", "MessageSpec", "PkiLike"]

MessageSpec: TypeAlias = "Message | tuple[str, Iterable[Segment]]"
"""One message to lodge: a :class:`~icsclient.edifact.envelope.Message` or a
``(type, body segments)`` pair."""

Lodgeable: TypeAlias = "bytes | bytearray | Interchange | MessageSpec | Sequence[MessageSpec]"
"""What :meth:`LodgementClient.lodge` takes: an interchange (bytes or parsed), one message
(a :class:`~icsclient.edifact.envelope.Message` or a ``(type, body segments)`` pair) or a
sequence of messages."""

_Build: TypeAlias = Callable[[str], "tuple[bytes, bytes]"]
"""An ``allocate_and_record`` callback: (interchange, e-mail) for an ICR."""

ICONTRL_DETAIL = "ICONTRL sent; the CCF never answers an acknowledgement"
"""The outbox detail of an ICONTRL once sent (its state becomes ACKNOWLEDGED: final)."""

DUPLICATE_DETECTED = 26
"""0085 syntax error code: duplicate detected."""

_HISTORY = 50
"""How many superseded response digests are remembered per report."""

_NOT_AN_ANSWER = frozenset({"8", "14"})
"""CUSRES functions (BGM 1225: status, advice) that tell of a report without answering it."""


class PkiLike(Protocol):
    """What :meth:`LodgementClient.for_pki` reads from a throw-away PKI
    (:class:`icsclient.testing.pki.ThrowawayPKI`)."""

    @property
    def client(self) -> Credentials:
        """The client's credentials."""

    @property
    def gateway(self) -> Credentials:
        """The gateway's credentials (only its certificate is used)."""

    @property
    def client_site(self) -> str:
        """The client's site ID."""

    @property
    def client_email(self) -> str:
        """The client's e-mail address."""

    @property
    def gateway_email(self) -> str:
        """The gateway's e-mail address."""

    def trust_for_client(self, **overrides: object) -> Trust:
        """The client's trust: the test root, the gateway pinned."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _first_message_type(interchange: bytes) -> str | None:
    """The type of the first message (UNH S009), reading only the start of ``interchange``."""
    try:
        for seg in iter_segments(interchange, chunk_size=1024):
            if seg.tag == "UNH":
                return seg.get(1, 0)
            if seg.tag in ("UNZ", "UNT"):
                return None
    except ReceivedError:
        return None
    return None


def _acknowledged_by(icontrl: bytes) -> tuple[str, str] | None:
    """The (sender, ICR) an ICONTRL interchange acknowledges, from its UCI."""
    try:
        for seg in iter_segments(icontrl):
            if seg.tag == "UCI":
                return seg.get(1, 0), seg.get(0, 0)
    except ReceivedError:
        return None
    return None


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class LodgementClient:
    """Lodge interchanges with the CCF and read what comes back, without doing any I/O.

    The client composes and opens e-mails and keeps every fact in ``store`` (a
    :class:`~icsclient.store.Store`: :class:`~icsclient.store.SqliteStore` for real use);
    the caller moves the bytes (SMTP, a mailbox) and reports back::

        out = client.lodge(messages)          # recorded QUEUED with a new ICR
        smtp.send(out.email); client.sent(out)
        for event in client.receive(raw):     # every e-mail that arrives
            if isinstance(event, SendEmail):  # an ICONTRL to send back
                smtp.send(event.outgoing.email); client.sent(event.outgoing)
        for event in client.due():            # now and then: overdue CONTRLs
            ...                               # ResendDue (send again) or GaveUp

    Call :meth:`recover` once at start-up: it finds what a crash left half done.

    ``site`` is our site ID (the UNB sender), ``credentials`` sign what we send and
    decrypt what we receive, ``gateway_cert`` is the CCF's certificate (or several during
    its rollover) to encrypt to, ``trust`` says whose signatures we accept (its
    ``gateway_site`` is the UNB sender we accept).  ``mail_from`` / ``mail_to`` address
    the e-mails; ``test`` sets the UNB test indicator.  An interchange without a CONTRL is
    sent again after ``resend_after``, up to ``max_attempts`` sending attempts in all,
    then given up.  ``clock`` returns the current aware time; every method also takes
    ``now``.  ``pad`` writes our ICRs zero-padded to 14 digits; ``gateway_site`` is the
    UNB recipient (default ``trust.gateway_site``, else ``AAA336C``); ``cipher`` and
    ``digest`` choose the S/MIME algorithms; ``keep_raw_email`` keeps each received
    e-mail in the inbox beside its interchange.

    One client object belongs to one thread; several clients (threads, processes) may
    share one store.
    """

    def __init__(
        self,
        store: Store,
        site: str,
        credentials: Credentials,
        gateway_cert: CertificateLike | Iterable[CertificateLike],
        trust: Trust,
        *,
        mail_from: str,
        mail_to: str,
        test: bool = False,
        resend_after: timedelta = timedelta(minutes=30),
        max_attempts: int = 3,
        clock: Callable[[], datetime] = _utcnow,
        pad: bool = False,
        gateway_site: str | None = None,
        cipher: CipherName = "aes256_cbc",
        digest: DigestName = "sha256",
        keep_raw_email: bool = True,
    ) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"store must be an icsclient Store, not {type(store).__name__}")
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be icsclient Credentials")
        if not isinstance(trust, Trust):
            raise TypeError("trust must be an icsclient Trust")
        if not isinstance(resend_after, timedelta) or resend_after <= timedelta(0):
            raise BuildError(f"resend_after must be a positive timedelta, got {resend_after!r}")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise BuildError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        self.store = store
        """The ledger holding the outbox, inbox and quarantine."""
        self.site = check_site_id(site)
        """Our site ID: the UNB sender of what we lodge."""
        self.credentials = credentials
        """Our certificate and key: sign outgoing, decrypt incoming."""
        self.gateway_cert = gateway_cert
        """The CCF certificate(s) outgoing e-mails are encrypted to."""
        self.trust = trust
        """Whose signatures incoming e-mails must carry."""
        self.mail_from = mail_from
        """Our e-mail address."""
        self.mail_to = mail_to
        """The CCF's e-mail address."""
        self.test = bool(test)
        """Whether lodged interchanges carry the UNB test indicator."""
        self.resend_after = resend_after
        """How long to wait for a CONTRL before sending again."""
        self.max_attempts = max_attempts
        """Sending attempts in all (the first included) before giving up."""
        self.clock = clock
        """Returns the current time (timezone-aware)."""
        self.pad = bool(pad)
        """Whether our ICRs are written zero-padded to 14 digits."""
        default_recipient = trust.gateway_site or CCF_SITE
        self.gateway_site = check_site_id(gateway_site or default_recipient, "gateway site ID")
        """The UNB recipient of what we lodge (the CCF: ``AAA336C``)."""
        self.cipher: CipherName = cipher
        """The content encryption algorithm of outgoing e-mails."""
        self.digest: DigestName = digest
        """The signature digest of outgoing e-mails."""
        self.keep_raw_email = bool(keep_raw_email)
        """Whether the inbox keeps each received e-mail beside its interchange."""
        self._responses: dict[str, Outcome] = {}
        self._unranked: Counter[Outcome] = Counter()
        self._superseded = 0
        self._duplicates = 0
        self._open_failures = 0

    @classmethod
    def for_pki(cls, pki: PkiLike, store: Store, **options: Any) -> LodgementClient:
        """A client wired to a throw-away PKI from :func:`~icsclient.testing.pki.make_test_pki`.

        For tests, demos and notebooks: the PKI's client site, credentials and e-mail
        address, its gateway certificate and e-mail address, and its client trust.
        ``options`` are the keyword arguments of the constructor (``clock``, ``test``,
        ``resend_after`` ...) and override ``mail_from`` / ``mail_to``.
        """
        settings: dict[str, Any] = {"mail_from": pki.client_email, "mail_to": pki.gateway_email}
        settings.update(options)
        return cls(
            store,
            pki.client_site,
            pki.client,
            pki.gateway.certificate,
            pki.trust_for_client(),
            **settings,
        )

    def __repr__(self) -> str:
        return (
            f"LodgementClient(site={self.site!r}, store={self.store!r}, test={self.test}, "
            f"resend_after={self.resend_after}, max_attempts={self.max_attempts})"
        )

    # ------------------------------------------------------------------ helpers

    def _now(self, now: datetime | None) -> datetime:
        when = self.clock() if now is None else now
        if not isinstance(when, datetime) or when.utcoffset() is None:
            raise BuildError(f"the time must be a timezone-aware datetime, got {when!r}")
        return when

    def _compose(self, interchange: bytes, now: datetime) -> bytes:
        return compose_email(
            interchange,
            signer=self.credentials,
            gateway=self.gateway_cert,
            mail_from=self.mail_from,
            mail_to=self.mail_to,
            digest=self.digest,
            cipher=self.cipher,
            date=now,
            validate=False,
        )

    def _foreseen(self, build: _Build, ahead: int = 0) -> _Build:
        """``build``, done ahead for the ICR the store will most likely hand out next
        (or, with ``ahead``, after that many others).

        :meth:`~icsclient.store.Store.allocate_and_record` runs its callback while it
        holds the ledger's write lock, and signing and encrypting are most of the callback:
        another process sharing the ledger would wait for them.  So build now, before the
        lock, for the ICR :meth:`~icsclient.store.Store.peek_icr` announces, and have the
        callback return that when the store hands out that very ICR (it does, unless
        another process took it in between: then it builds again, inside).  The number is
        still allocated and recorded with its interchange in one transaction; an e-mail
        made for a number not handed out is dropped, never sent.
        """
        try:
            number = self.store.peek_icr(self.site)
            for _ in range(ahead):
                number = following(number)
            guess = format_icr(number, pad=self.pad)
            ready = build(guess)
        except Exception:  # the real call, inside the transaction, says what is wrong
            return build

        def record(icr: str) -> tuple[bytes, bytes]:
            return ready if icr == guess else build(icr)

        return record

    def _outgoing(
        self,
        entry: OutboxEntry,
        kind: OutgoingKind,
        email: bytes,
        acknowledges: tuple[str, str] | None = None,
    ) -> Outgoing:
        return Outgoing(
            site=entry.site,
            icr=entry.icr,
            kind=kind,
            email=email,
            interchange=entry.interchange,
            mail_from=self.mail_from,
            mail_to=self.mail_to,
            attempt=entry.attempts + 1,
            acknowledges=acknowledges,
        )

    def _to_send(self, entry: OutboxEntry, now: datetime) -> Outgoing:
        """The Outgoing for an outbox entry, composing its e-mail if it has none yet."""
        email = entry.email
        if email is None:
            email = self._compose(entry.interchange, now)
            self.store.set_email(entry.site, entry.icr, email)
        if _first_message_type(entry.interchange) == "CONTRL":
            target = _acknowledged_by(entry.interchange)
            return self._outgoing(entry, OutgoingKind.ACKNOWLEDGEMENT, email, target)
        return self._outgoing(entry, OutgoingKind.LODGEMENT, email)

    def _lookup(self, what: Outgoing | str) -> Outgoing:
        if isinstance(what, Outgoing):
            return what
        entry = self.store.get_outbox(self.site, what)
        if entry is None:
            raise BuildError(f"ICR {what!r} of site {self.site} is not in the outbox")
        return self._to_send(entry, self._now(None))

    def _messages(self, source: Lodgeable) -> list[MessageSpec]:
        if isinstance(source, (bytes, bytearray, memoryview)):
            source = parse_interchange(bytes(source), strict=True)
        items: list[MessageSpec]
        if isinstance(source, Interchange):
            if source.sender != self.site:
                raise BuildError(
                    f"the interchange's sender is {source.sender!r}, not this client's site "
                    f"{self.site!r}"
                )
            items = list(source.messages)
        elif isinstance(source, Message) or (
            isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], str)
        ):
            items = [source]
        else:
            items = list(source)
        if not items:
            raise BuildError("nothing to lodge: no messages")
        for item in items:
            if (item.type if isinstance(item, Message) else item[0]) == "CONTRL":
                raise BuildError(
                    "lodge() takes business messages; the client writes acknowledgements "
                    "(ICONTRL) itself when it receives"
                )
        return items

    # ------------------------------------------------------------------ sending

    def lodge(self, messages: Lodgeable, *, now: datetime | None = None) -> Outgoing:
        """Build, sign and encrypt an interchange with our next ICR; record it QUEUED.

        ``messages`` is one message, a sequence of messages (each a
        :class:`~icsclient.edifact.envelope.Message` or a ``(type, body segments)`` pair:
        UNH/UNT are written here), or an interchange (bytes or parsed) whose messages are
        re-enveloped: the UNB (ICR, time, recipient, test indicator) is always this
        client's.  The ICR is allocated and the interchange and e-mail recorded in one
        store transaction.  Send ``email`` of the result, then call :meth:`sent` (or
        :meth:`send_failed`).

        Raises :class:`~icsclient.errors.BuildError` for what cannot be lodged (CONTRL
        messages, no messages, another site's interchange, over 10 MB, characters outside
        UNOC) and :class:`~icsclient.errors.StoreError` when the ledger fails; in both
        cases no ICR is used.
        """
        return self.lodge_many([messages], now=now)[0]

    def lodge_many(
        self, batch: Iterable[Lodgeable], *, now: datetime | None = None
    ) -> list[Outgoing]:
        """:meth:`lodge` each item of ``batch``, with consecutive ICRs and one commit.

        The interchanges are built, signed and encrypted first (for the ICRs the store
        will hand out), then all numbers are allocated and all interchanges recorded in
        one store transaction (one disk sync for the lot), and only then returned: send
        them in order and report each with :meth:`sent`.  If any item cannot be lodged,
        :class:`~icsclient.errors.BuildError` is raised and no ICR is used.
        """
        when = self._now(now)
        builds = [self._lodgement_builder(self._messages(item), when) for item in batch]
        ready = [
            (self._foreseen(build, ahead), count) for ahead, (build, count) in enumerate(builds)
        ]

        def record(build: _Build, count: int) -> Outgoing:
            entry = self.store.allocate_and_record(
                self.site, build, now=when, pad=self.pad, message_count=count
            )
            assert entry.email is not None
            return self._outgoing(entry, OutgoingKind.LODGEMENT, entry.email)

        if len(ready) <= 1:
            return [record(build, count) for build, count in ready]
        with self.store.transaction():
            return [record(build, count) for build, count in ready]

    def _lodgement_builder(self, items: list[MessageSpec], when: datetime) -> tuple[_Build, int]:
        """The ``allocate_and_record`` callback building an interchange of ``items``."""

        def build(icr: str) -> tuple[bytes, bytes]:
            data = build_interchange(
                self.site, items, icr, recipient=self.gateway_site, test=self.test, prepared=when
            )
            return data, self._compose(data, when)

        return build, len(items)

    def lodge_built(
        self,
        build: Callable[[str], bytes],
        *,
        message_count: int = 1,
        now: datetime | None = None,
    ) -> Outgoing:
        """Lodge the interchange ``build(icr)`` returns, exactly as built: for tests and demos.

        :meth:`lodge` always writes a valid envelope; this sends what the caller made, so
        that a deliberately faulty interchange (a wrong UNT count, say) shows the CCF's
        CONTRL rejection.  ``build`` receives our next ICR as it must be written and runs
        inside the store transaction that records it.  Only the start of the bytes is
        checked: a UNB with this client's site as sender and that ICR.  Raises
        :class:`~icsclient.errors.BuildError` otherwise (no ICR is used).
        """
        when = self._now(now)

        def record(icr: str) -> tuple[bytes, bytes]:
            data = build(icr)
            if not isinstance(data, (bytes, bytearray)):
                raise BuildError(f"build({icr!r}) must return bytes, not {type(data).__name__}")
            head = next(iter_segments(bytes(data[:4096]), chunk_size=4096), None)
            if head is None or head.tag != "UNB":
                raise BuildError(f"build({icr!r}) returned bytes that do not start with a UNB")
            if (head.get(1, 0), head.get(4)) != (self.site, icr):
                raise BuildError(
                    f"build({icr!r}) wrote UNB sender {head.get(1, 0)!r} and ICR "
                    f"{head.get(4)!r}; expected {self.site!r} and {icr!r}"
                )
            return bytes(data), self._compose(bytes(data), when)

        try:
            entry = self.store.allocate_and_record(
                self.site, record, now=when, pad=self.pad, message_count=message_count
            )
        except ReceivedError as exc:  # the tokenizer could not read the start
            raise BuildError(f"the built interchange cannot be read: {exc}") from None
        assert entry.email is not None
        return self._outgoing(entry, OutgoingKind.LODGEMENT, entry.email)

    def sent(self, what: Outgoing | str, *, now: datetime | None = None) -> None:
        """Record that an outgoing e-mail (an :class:`Outgoing` or its ICR) was handed over.

        A lodgement now waits for its CONTRL until ``now + resend_after``.  An ICONTRL
        completes: the interchange it acknowledges is marked acknowledged and the ICONTRL's
        outbox entry becomes ACKNOWLEDGED (nothing will answer it).

        The record survives a crash of the process but is not waited onto the disk
        (``Store.transaction(durable=False)``: one disk sync less per e-mail): after an
        operating system crash or power loss soon after, the e-mail may be back in the
        QUEUED state, and :meth:`recover` offers it again -- the same e-mail with the same
        ICR, which the CCF recognises as a duplicate (an ICONTRL sent twice is harmless).
        """
        out = self._lookup(what)
        when = self._now(now)
        with self.store.transaction(durable=False):  # one commit for all the writes
            if out.kind is OutgoingKind.LODGEMENT:
                resend = when + self.resend_after
                self.store.mark_sent(out.site, out.icr, now=when, next_resend=resend)
                return
            # An ICONTRL completes: nothing answers it, and its interchange is acknowledged.
            self.store.mark_sent(
                out.site,
                out.icr,
                now=when,
                next_resend=None,
                final=OutboxState.ACKNOWLEDGED,
                detail=ICONTRL_DETAIL,
            )
            if out.acknowledges is not None:
                self.store.mark_acknowledged(*out.acknowledges, missing_ok=True)

    def _acknowledged(self, out: Outgoing, now: datetime) -> None:
        """Complete an ICONTRL left in the SENT state: final, its interchange acknowledged."""
        self.store.mark_state(
            out.site, out.icr, OutboxState.ACKNOWLEDGED, detail=ICONTRL_DETAIL, now=now
        )
        if out.acknowledges is not None:
            self.store.mark_acknowledged(*out.acknowledges, missing_ok=True)

    def send_failed(
        self,
        what: Outgoing | str,
        reason: str,
        *,
        now: datetime | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        """Record that sending failed before the mail server took the e-mail (``reason``).

        The attempt counts towards ``max_attempts``; :meth:`due` offers the e-mail again
        after ``retry_after`` (default ``resend_after``).
        """
        out = self._lookup(what)
        when = self._now(now)
        wait = self.resend_after if retry_after is None else retry_after
        self.store.record_attempt(
            out.site, out.icr, now=when, next_resend=when + wait, detail=str(reason)
        )

    def due(self, now: datetime | None = None) -> list[Event]:
        """What is due at ``now``: :class:`ResendDue`, :class:`PendingSend` or :class:`GaveUp`.

        A sent interchange whose CONTRL is overdue is offered again with the same ICR and
        the same e-mail (so the CCF can recognise the duplicate) while it has had fewer
        than ``max_attempts`` attempts; then it is given up (state GAVE_UP).  An e-mail
        left queued (its send failed, or was never reported) is offered again once its
        retry time, or ``resend_after`` after it was recorded, has passed.  Send each
        offered e-mail and call :meth:`sent`; until then the same entry is offered again.
        """
        when = self._now(now)
        found: list[tuple[OutboxEntry, bool]] = [
            (e, True) for e in self.store.due(when) if e.site == self.site
        ]
        found.extend(
            (e, False)
            for e in self.store.outbox(OutboxState.QUEUED)
            if e.site == self.site and (e.next_resend or e.created + self.resend_after) <= when
        )
        events: list[Event] = []
        for entry, was_sent in found:
            if entry.attempts >= self.max_attempts:
                what = "no CONTRL" if was_sent else "not sent"
                self.store.mark_state(
                    entry.site,
                    entry.icr,
                    OutboxState.GAVE_UP,
                    detail=f"{what} after {entry.attempts} attempt(s)",
                    now=when,
                )
                events.append(GaveUp(entry.site, entry.icr, entry.attempts, entry.last_sent))
            elif was_sent:
                events.append(ResendDue(self._to_send(entry, when), entry.last_sent))
            else:
                events.append(PendingSend(self._to_send(entry, when)))
        return events

    # ------------------------------------------------------------------ receiving

    def receive(self, raw_email: bytes, *, now: datetime | None = None) -> list[Event]:
        """Open a received e-mail, store its interchange, acknowledge it, read it.

        In order: the e-mail is decrypted and verified (failing that: :class:`OpenFailed`,
        the e-mail kept in the quarantine); the interchange is stored in the inbox; if it
        carries a business message an ICONTRL is recorded with our next ICR and returned
        as :class:`AcknowledgementToSend` (always the first event); then its content is
        read, once: CONTRL reports update the outbox (:class:`ContrlAccepted`,
        :class:`ContrlRejected`, :class:`ContrlDuplicate`, :class:`ContrlUnmatched`) and
        CUSRES responses are delivered (:class:`ResponseReceived`, with
        :class:`Superseded` when they arrive out of order).  An interchange received
        before is acknowledged again but not delivered again
        (:class:`DuplicateReceived`).  A plain-text response gives
        :class:`PlainTextReceived`.

        Nothing raised by the e-mail's content escapes; :class:`~icsclient.errors.StoreError`
        does (the ledger failed: retry later, nothing was lost).
        """
        return self.receive_many([raw_email], now=now)[0]

    def receive_many(
        self, raw_emails: Iterable[bytes], *, now: datetime | None = None
    ) -> list[list[Event]]:
        """Receive several e-mails at once: :meth:`receive` for each, with one commit.

        Returns the events of each e-mail, in the order given.  The e-mails are opened and
        their ICONTRLs composed first; then everything is stored, acknowledged and read
        in one store transaction (one disk sync for the lot instead of one per e-mail),
        and only then returned: no ICONTRL is handed out before every interchange of the
        batch is durably stored.  Use it for the mail waiting in a mailbox.  If the
        ledger fails, :class:`~icsclient.errors.StoreError` is raised and nothing of
        the batch is stored (receive them all again later).
        """
        when = self._now(now)
        arrivals: list[Callable[[], list[Event]]] = []
        icontrls = 0
        for raw_email in raw_emails:
            arrival, acknowledges = self._arrival(bytes(raw_email), when, icontrls)
            arrivals.append(arrival)
            icontrls += acknowledges
        if len(arrivals) == 1:
            return [arrivals[0]()]
        with self.store.transaction():
            return [arrival() for arrival in arrivals]

    def _arrival(
        self, raw: bytes, when: datetime, ahead: int
    ) -> tuple[Callable[[], list[Event]], bool]:
        """Open ``raw``; return what records it (to run in the store transaction) and
        whether that allocates an ICONTRL (``ahead`` others are allocated before it).

        A failure to open is recorded in the quarantine; a plain-text response too.
        """
        try:
            opened = open_email(raw, recipient=self.credentials, trust=self.trust)
        except Exception as exc:  # anything wrong with what came in is quarantined
            reason = f"the e-mail could not be opened: {_describe(exc)}"
            return self._quarantining(raw, reason, exc, when)
        if opened.plain_text:
            subject, text = opened.subject.text, opened.text or ""

            def plain() -> list[Event]:
                qid = self.store.quarantine(raw, f"plain-text response: {subject}", when)
                return [PlainTextReceived(subject, text, qid)]

            return plain, False
        data = opened.interchange or b""
        try:
            parsed = parse_interchange(data, strict=False)
        except Exception as exc:
            reason = f"the interchange could not be read: {_describe(exc)}"
            return self._quarantining(raw, reason, exc, when)
        if parsed.recipient != self.site or not parsed.control_reference or not parsed.sender:
            reason = (
                f"the interchange {parsed.control_reference!r} from {parsed.sender!r} is "
                f"addressed to {parsed.recipient!r}, not to this client's site {self.site!r}"
            )
            return self._quarantining(raw, reason, None, when)
        # Storing, recording the ICONTRL and reading the content are one commit: the
        # ICONTRL is handed out (returned) only once the interchange is durably stored, and
        # a crash before the commit leaves nothing (the CCF sends the interchange again).
        # The ICONTRL is composed ahead, outside the store's lock (see _foreseen).
        acknowledges = needs_acknowledgement(parsed)
        icontrl = (
            self._foreseen(self._icontrl_builder(parsed, when), ahead) if acknowledges else None
        )

        def record() -> list[Event]:
            with self.store.transaction():
                return self._record(raw, data, parsed, when, icontrl)

        return record, acknowledges

    def _record(
        self, raw: bytes, data: bytes, parsed: Interchange, when: datetime, icontrl: _Build | None
    ) -> list[Event]:
        """Store a received interchange, record its ICONTRL, read it (in a transaction)."""
        entry, duplicate = self.store.store_received(
            parsed.sender,
            parsed.control_reference,
            data,
            raw_email=raw if self.keep_raw_email else None,
            now=when,
            acknowledged=not needs_acknowledgement(parsed),
        )
        events = self._acknowledge(entry, parsed, when, icontrl)
        if duplicate and entry.processed:
            self._duplicates += 1
            events.append(
                DuplicateReceived(
                    entry.sender,
                    entry.icr,
                    (entry.sender, entry.icr),
                    entry.received,
                    acknowledged_again=bool(events),
                )
            )
            return events
        events.extend(self._process(entry, parsed, when))
        return events

    def _quarantining(
        self, raw: bytes, reason: str, exc: BaseException | None, now: datetime
    ) -> tuple[Callable[[], list[Event]], bool]:
        """An :meth:`_arrival` that quarantines ``raw``."""
        return (lambda: [self._quarantine(raw, reason, exc, now)]), False

    def _quarantine(
        self, raw: bytes, reason: str, exc: BaseException | None, now: datetime
    ) -> OpenFailed:
        self._open_failures += 1
        qid = self.store.quarantine(raw, reason, now)
        return OpenFailed(reason, type(exc).__name__ if exc is not None else "MailError", qid)

    def _icontrl_builder(self, parsed: Interchange, now: datetime) -> _Build:
        """The ``allocate_and_record`` callback building the ICONTRL for ``parsed``."""

        def build(icr: str) -> tuple[bytes, bytes]:
            data = build_icontrl(
                parsed, sender=self.site, icr=icr, prepared=now, recipient=self.gateway_site
            )
            return data, self._compose(data, now)

        return build

    def _acknowledge(
        self, entry: InboxEntry, parsed: Interchange, now: datetime, build: _Build | None = None
    ) -> list[Event]:
        """Record an ICONTRL for a stored interchange; a CONTRL is only marked acknowledged.

        ``build`` makes the ICONTRL (default: :meth:`_icontrl_builder`).
        """
        if not needs_acknowledgement(parsed):
            if not entry.acknowledged:
                self.store.mark_acknowledged(entry.sender, entry.icr)
            return []
        if build is None:
            build = self._icontrl_builder(parsed, now)
        try:
            out = self.store.allocate_and_record(self.site, build, now=now, pad=self.pad)
        except BuildError as exc:
            return [NotUnderstood(entry.sender, entry.icr, f"cannot acknowledge it: {exc}")]
        assert out.email is not None
        target = (entry.sender, entry.icr)
        outgoing = self._outgoing(out, OutgoingKind.ACKNOWLEDGEMENT, out.email, target)
        return [AcknowledgementToSend(outgoing, entry.sender, entry.icr)]

    def _process(self, entry: InboxEntry, parsed: Interchange, now: datetime) -> list[Event]:
        """Read a stored interchange's messages, act on them and mark it processed."""
        events: list[Event] = []
        summary: list[dict[str, Any]] = []
        kinds: list[str] = []
        for message in parsed.messages:
            if message.type not in kinds:
                kinds.append(message.type)
            try:
                if message.type == "CONTRL":
                    report = parse_contrl(message)
                    events.append(self._apply_contrl(report, entry, now))
                    summary.append({"contrl": report.control_reference, "ok": report.accepted})
                elif message.type == "CUSRES":
                    response = parse_cusres(message)
                    events.extend(self._apply_response(response, entry, parsed))
                    summary.append(
                        {
                            "cusres": response.document_name,
                            "reference": response.sender_reference,
                            "version": response.sender_version,
                            "outcome": response.outcome.value,
                        }
                    )
                else:
                    events.append(
                        NotUnderstood(
                            entry.sender,
                            entry.icr,
                            f"message {message.reference} is a "
                            f"{message.type or 'message of no type'}, which the client does not "
                            "read; it is kept in the inbox",
                        )
                    )
            except ReceivedError as exc:
                events.append(
                    NotUnderstood(entry.sender, entry.icr, f"message {message.reference}: {exc}")
                )
        detail = "; ".join(e.reason for e in events if isinstance(e, NotUnderstood)) or None
        self.store.mark_processed(
            entry.sender,
            entry.icr,
            json.dumps(summary, separators=(",", ":")),
            kind="+".join(kinds) or None,
            detail=detail,
        )
        return events

    # ------------------------------------------------------------------ CONTRL

    def _find_outbox(self, icr: str) -> OutboxEntry | None:
        entry = self.store.get_outbox(self.site, icr)
        if entry is None and icr.isdigit() and 0 < int(icr) <= 99999999999999:
            for pad in (False, True):
                other = format_icr(int(icr), pad=pad)
                if other != icr:
                    entry = self.store.get_outbox(self.site, other)
                    if entry is not None:
                        break
        return entry

    def _apply_contrl(
        self, report: ContrlReport, received: InboxEntry, now: datetime
    ) -> ContrlReceived:
        explanation = report.explain()
        entry = self._find_outbox(report.control_reference) if report.sender == self.site else None
        if entry is None:
            return ContrlUnmatched(
                report.sender,
                report.control_reference,
                report,
                explanation,
                None,
                received.sender,
                received.icr,
            )
        state = entry.state
        if report.error == DUPLICATE_DETECTED:
            if not state.is_final:
                state = OutboxState.ACKNOWLEDGED
                detail = "the CCF reported a duplicate (26): it already had this interchange"
                self.store.mark_state(entry.site, entry.icr, state, detail=detail, now=now)
            cls: type[ContrlReceived] = ContrlDuplicate
        elif report.accepted:
            state = OutboxState.ACKNOWLEDGED
            self.store.mark_state(entry.site, entry.icr, state, now=now)
            cls = ContrlAccepted
        else:
            return self._rejected(entry, report, explanation, received, now)
        return cls(entry.site, entry.icr, report, explanation, state, received.sender, received.icr)

    def _rejected(
        self,
        entry: OutboxEntry,
        report: ContrlReport,
        explanation: str,
        received: InboxEntry,
        now: datetime,
    ) -> ContrlRejected:
        if report.rejected:
            rejected = tuple(str(n) for n in range(1, entry.message_count + 1))
        else:
            rejected = tuple(m.reference for m in report.rejected_messages)
        everything = report.rejected or len(set(rejected)) >= entry.message_count
        state = OutboxState.REJECTED if everything else OutboxState.ACKNOWLEDGED
        self.store.mark_state(entry.site, entry.icr, state, detail=explanation, now=now)
        lines = explanation.splitlines()
        errors = tuple(line for line in lines if ": " in line or " rejected" in line)
        return ContrlRejected(
            entry.site,
            entry.icr,
            report,
            explanation,
            state,
            received.sender,
            received.icr,
            errors=errors or tuple(lines[:1]),
            rejected_messages=rejected,
        )

    # ------------------------------------------------------------------ CUSRES

    def _response_key(self, reference: str) -> str:
        return f"lodgement/{self.site}/response/{reference}"

    def _apply_response(
        self, response: CusresResponse, entry: InboxEntry, parsed: Interchange
    ) -> list[Event]:
        here = (entry.sender, entry.icr, response.message_reference)
        delivered = ResponseReceived(
            sender=entry.sender,
            icr=entry.icr,
            message_reference=response.message_reference,
            sender_reference=response.sender_reference,
            sender_version=response.sender_version,
            document_name=response.document_name,
            outcome=response.outcome,
            prepared=parsed.prepared,
            response=response,
        )
        reference = response.sender_reference
        if not reference or response.function in _NOT_AN_ANSWER:
            # Nothing to stand for, or a status report or advice (BGM 1225 8 / 14): those
            # tell of a report but do not answer it, so they never supersede its response.
            self._unranked[response.outcome] += 1
            return [delivered]
        incoming = ResponseArrival(
            prepared=parsed.prepared,
            arrived=entry.received,
            content=content_digest(response.segments),
            sender_reference=reference,
        )
        key = self._response_key(reference)
        stored = self.store.get_meta(key)
        record = json.loads(stored) if stored else None
        if record is None or tuple(record["at"]) == here:
            self._stand(key, here, incoming, response, [] if record is None else record["history"])
            return [delivered]
        current = ResponseArrival(
            prepared=datetime.fromisoformat(record["prepared"]) if record["prepared"] else None,
            arrived=datetime.fromisoformat(record["arrived"]),
            content=record["content"],
            sender_reference=reference,
        )
        there = (str(record["at"][0]), str(record["at"][1]), str(record["at"][2]))
        verdict = compare_responses(current, incoming, history=record["history"])
        if verdict.duplicate:
            self._duplicates += 1
            return [
                DuplicateReceived(
                    entry.sender, entry.icr, (there[0], there[1]), None, acknowledged_again=False
                )
            ]
        self._superseded += 1
        if verdict.standing is incoming:
            history = [*record["history"], record["content"]][-_HISTORY:]
            self._stand(key, here, incoming, response, history)
            return [Superseded(reference, there, here, False, verdict.reason), delivered]
        record["history"] = [*record["history"], incoming.content][-_HISTORY:]
        self.store.set_meta(key, json.dumps(record, separators=(",", ":")))
        return [Superseded(reference, here, there, True, verdict.reason)]

    def _stand(
        self,
        key: str,
        at: tuple[str, str, str],
        arrival: ResponseArrival,
        response: CusresResponse,
        history: list[str],
    ) -> None:
        """Record ``response`` as the one standing for its report."""
        record = {
            "at": list(at),
            "prepared": arrival.prepared.isoformat() if arrival.prepared else None,
            "arrived": arrival.arrived.isoformat(),
            "content": arrival.content,
            "history": history,
            "outcome": response.outcome.value,
        }
        self.store.set_meta(key, json.dumps(record, separators=(",", ":")))
        assert response.sender_reference is not None
        self._responses[response.sender_reference] = response.outcome

    # ------------------------------------------------------------------ recovery

    def recover(self, now: datetime | None = None) -> list[Event]:
        """Finish what a crash (or an unreported send) left half done; call at start-up.

        - an interchange stored but never acknowledged gets its ICONTRL: the one already
          recorded if it was never sent (:class:`AcknowledgementToSend`), else a new one;
          an ICONTRL sent just before the crash is recorded as such;
        - an interchange stored but never read is read now (its events as from
          :meth:`receive`);
        - a lodged interchange still queued is offered (:class:`PendingSend`).

        Safe to call at any time and more than once: nothing is sent twice by it alone.
        """
        when = self._now(now)
        events: list[Event] = []
        queued = [e for e in self.store.outbox(OutboxState.QUEUED) if e.site == self.site]
        waiting: dict[tuple[str, str], OutboxEntry] = {}
        for entry in queued:
            if _first_message_type(entry.interchange) == "CONTRL":
                target = _acknowledged_by(entry.interchange)
                if target is not None:
                    waiting.setdefault(target, entry)
        for entry in self.store.outbox(OutboxState.SENT):
            if entry.site == self.site and _first_message_type(entry.interchange) == "CONTRL":
                self._acknowledged(self._to_send(entry, when), entry.last_sent or when)
        offered: set[str] = set()
        for inbox in self.store.unacknowledged():
            parsed = parse_interchange(inbox.interchange, strict=False)
            key = (inbox.sender, inbox.icr)
            if key in waiting:
                icontrl = waiting[key]
                offered.add(icontrl.icr)
                events.append(
                    AcknowledgementToSend(self._to_send(icontrl, when), inbox.sender, inbox.icr)
                )
            elif parsed.recipient == self.site:
                events.extend(self._acknowledge(inbox, parsed, when))
        for inbox in self.store.unprocessed():
            parsed = parse_interchange(inbox.interchange, strict=False)
            if parsed.recipient == self.site:
                events.extend(self._process(inbox, parsed, when))
        for entry in queued:
            if entry.icr in offered:
                continue
            out = self._to_send(entry, when)
            if out.kind is OutgoingKind.ACKNOWLEDGEMENT:
                if out.acknowledges is None:
                    events.append(PendingSend(out))
                    continue
                sender, icr = out.acknowledges
                events.append(AcknowledgementToSend(out, sender, icr))
            else:
                events.append(PendingSend(out))
        return events

    # ------------------------------------------------------------------ reporting

    def summary(self) -> LodgementSummary:
        """Counts of this site's lodgements by state, resends, acknowledgements, responses."""
        states: Counter[OutboxState] = Counter()
        lodged = resends = icontrls = icontrls_sent = 0
        for entry in self.store.outbox():
            if entry.site != self.site:
                continue
            if _first_message_type(entry.interchange) == "CONTRL":
                icontrls += 1
                icontrls_sent += entry.last_sent is not None
                continue
            lodged += 1
            states[entry.state] += 1
            resends += max(entry.attempts - 1, 0)
        responses: Counter[Outcome] = Counter(self._responses.values())
        responses.update(self._unranked)
        return LodgementSummary(
            site=self.site,
            lodged=lodged,
            states=states,
            resends=resends,
            acknowledgements=icontrls,
            acknowledgements_sent=icontrls_sent,
            quarantined=len(self.store.quarantined()),
            responses=responses,
            superseded=self._superseded,
            duplicates=self._duplicates,
            open_failures=self._open_failures,
        )
