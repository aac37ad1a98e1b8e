"""The lodgement client: bytes in, events and e-mails out, every fact in a Store (does I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..edifact.envelope import Message
from ..errors import BuildError, ReceivedError
from ..ics.envelope import build_interchange
from ..ics.names import CCF_SITE, check_site_id
from ..mail import compose_email
from ..smime import WARN_DAYS, CertificateLike, CipherName, Credentials, DigestName, Trust
from ..store import OutboxEntry, Store
from ._config import (
    check_addresses,
    check_dates,
    check_site,
    credentials_list,
    gateway_certificates,
)
from ._events import (
    Event,
    Outgoing,
    OutgoingKind,
)
from ._inbound import Inbound
from ._outbound import (
    Build,
    Lodgeable,
    MessageSpec,
    PkiLike,
    checked_builder,
    foreseen,
    messages_of,
    overdue,
)
from ._state import Change, Input
from ._summary import LodgementSummary, summarize

__all__ = ["ICONTRL_DETAIL", "LodgementClient"]

ICONTRL_DETAIL = "ICONTRL sent; the CCF never answers an acknowledgement"
"""The outbox detail of an ICONTRL once sent (its state becomes ACKNOWLEDGED: final)."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LodgementClient:
    """Lodge interchanges with the CCF and read what comes back, without doing any I/O.

    The client composes and opens e-mails and keeps every fact in ``store`` (a
    :class:`~icsclient.store.Store`: :class:`~icsclient.store.SqliteStore` for real use);
    the caller moves the bytes (SMTP, a mailbox) and reports back::

        envelope = {"mail_from": client.mail_from, "rcpt_to": client.mail_to}
        out = client.lodge(messages)          # recorded QUEUED with a new ICR
        smtp.send(out.email, **envelope); client.sent(out)
        for event in client.receive(raw):     # every e-mail that arrives
            if isinstance(event, SendEmail):  # an ICONTRL to send back
                smtp.send(event.outgoing.email, **envelope); client.sent(event.outgoing)
        for event in client.due():            # now and then: overdue CONTRLs
            ...                               # ResendDue (send again) or GaveUp

    (``smtp`` is a :class:`~icsclient.transport.SmtpSender`; ``examples/process_maildir.py``
    runs the whole loop.)

    Call :meth:`recover` once at start-up: it finds what a crash left half done.

    ``site`` is our site ID (the UNB sender), ``credentials`` sign what we send and
    decrypt what we receive (during our own certificate rollover a sequence ``[new, old]``:
    the first signs, every one decrypts), ``gateway_cert`` is the CCF's certificate (or
    several during its rollover) to encrypt to, ``trust`` says whose signatures we accept (its
    ``gateway_site`` is the UNB sender we accept).  ``mail_from`` / ``mail_to`` address
    the e-mails; ``test`` sets the UNB test indicator.  An interchange without a CONTRL is
    sent again after ``resend_after``, up to ``max_attempts`` sending attempts in all,
    then given up.  ``clock`` returns the current aware time; every method also takes
    ``now``.  ``pad`` writes our ICRs zero-padded to 14 digits; ``gateway_site`` is the
    UNB recipient (default ``trust.gateway_site``, else ``AAA336C``); ``cipher`` and
    ``digest`` choose the S/MIME algorithms; ``keep_raw_email`` keeps each received
    e-mail in the inbox beside its interchange.

    A wrong set-up is refused when the client is made, not found at the gateway hours
    later: the gateway certificate is loaded (a missing or broken file raises
    :class:`~icsclient.smime.CredentialsError`), ``mail_from`` / ``mail_to`` must be
    addresses (:class:`~icsclient.errors.BuildError`), our site ID must not be the
    gateway's (:class:`~icsclient.errors.ConfigurationError`), and our signing
    certificate and the gateway's must be valid at ``clock()`` and again at every lodgement
    (:class:`~icsclient.smime.CertificateExpiredError`, naming the subject and dates).
    Within ``warn_days`` (30) of expiry it warns
    (:class:`~icsclient.smime.CertificateExpiringWarning`), and a site ID that the signing
    certificate's subject does not name gives a
    :class:`~icsclient.lodgement.SiteNotInCertificateWarning`.

    What the client is: an orchestrator.  It does no network or mailbox I/O and reads no
    clock of its own, but every call reads and writes the ledger through ``store`` (the
    store does the I/O: a SQLite file for :class:`~icsclient.store.SqliteStore`).  Which
    outbox state an entry moves to is decided by the pure state machine in
    ``icsclient.lodgement._state`` (its table is the diagram on the lifecycle page);
    receiving is done by ``_inbound``.  Everything it counts lives in the ledger, so
    :meth:`summary` gives the same numbers after a restart.

    One client object belongs to one thread; several clients (threads, processes) may
    share one store.
    """

    def __init__(
        self,
        store: Store,
        site: str,
        credentials: Credentials | Sequence[Credentials],
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
        warn_days: int | None = WARN_DAYS,
    ) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"store must be an icsclient Store, not {type(store).__name__}")
        keys = credentials_list(credentials)
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
        self.credentials = keys[0]
        """Our certificate and key that sign outgoing e-mails (and decrypt incoming)."""
        self.decrypting = keys
        """Every certificate and key of ours that may decrypt incoming e-mail (a rollover)."""
        self.gateway_cert = gateway_certificates(gateway_cert)
        """The CCF certificate(s) outgoing e-mails are encrypted to, loaded."""
        self.trust = trust
        """Whose signatures incoming e-mails must carry."""
        mail_from, mail_to = check_addresses(mail_from, mail_to)
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
        self.warn_days = warn_days
        """Warn this many days before our or the gateway's certificate expires (None: never)."""
        check_site(self.site, self.gateway_site, self.credentials)
        check_dates(self.credentials, self.gateway_cert, self._now(None), warn_days)
        self._inbound = Inbound(self)

    @classmethod
    def for_pki(cls, pki: PkiLike, store: Store, **options: Any) -> LodgementClient:
        """A client wired to a throw-away PKI from :func:`~icsclient.testing.pki.make_test_pki`.

        For tests, demos and notebooks: the PKI's client site, credentials and e-mail
        address, its gateway certificate and e-mail address, and its client trust.
        ``options`` are the keyword arguments of the constructor (``clock``, ``test``,
        ``resend_after`` ...) and override any of these, ``credentials`` (e.g. ``[new,
        pki.client]`` for a rollover), ``gateway_cert`` and ``trust`` included.
        """
        settings: dict[str, Any] = {
            "credentials": pki.client,
            "gateway_cert": pki.gateway.certificate,
            "trust": pki.trust_for_client(),
            "mail_from": pki.client_email,
            "mail_to": pki.gateway_email,
        }
        settings.update(options)
        return cls(store, pki.client_site, **settings)

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
        if entry.is_acknowledgement:
            kind = OutgoingKind.ACKNOWLEDGEMENT
            return self._outgoing(entry, kind, email, entry.acknowledges)
        return self._outgoing(entry, OutgoingKind.LODGEMENT, email)

    def _lookup(self, what: Outgoing | str) -> Outgoing:
        if isinstance(what, Outgoing):
            return what
        entry = self.store.get_outbox(self.site, what)
        if entry is None:
            raise BuildError(f"ICR {what!r} of site {self.site} is not in the outbox")
        return self._to_send(entry, self._now(None))

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
        :class:`~icsclient.errors.BuildError` is raised and no ICR is used.  An expired (or
        not yet valid) own or gateway certificate at ``now`` raises
        :class:`~icsclient.smime.CertificateExpiredError` first.
        """
        when = self._now(now)
        check_dates(self.credentials, self.gateway_cert, when, None)
        items = [messages_of(item, self.site) for item in batch]
        builds = [
            foreseen(self.store, self.site, self.pad, self._lodgement_builder(messages, when), n)
            for n, messages in enumerate(items)
        ]

        def record(build: Build, messages: list[MessageSpec]) -> Outgoing:
            first = messages[0]
            entry = self.store.allocate_and_record(
                self.site,
                build,
                now=when,
                pad=self.pad,
                message_count=len(messages),
                kind=first.type if isinstance(first, Message) else first[0],
            )
            assert entry.email is not None
            return self._outgoing(entry, OutgoingKind.LODGEMENT, entry.email)

        if len(builds) <= 1:
            return [record(build, messages) for build, messages in zip(builds, items, strict=False)]
        with self.store.transaction():
            return [record(build, messages) for build, messages in zip(builds, items, strict=False)]

    def _lodgement_builder(self, items: list[MessageSpec], when: datetime) -> Build:
        """The ``allocate_and_record`` callback building an interchange of ``items``."""

        def build(icr: str) -> tuple[bytes, bytes]:
            data = build_interchange(
                self.site, items, icr, recipient=self.gateway_site, test=self.test, prepared=when
            )
            return data, self._compose(data, when)

        return build

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
        :class:`~icsclient.errors.BuildError` otherwise (no ICR is used), and
        :class:`~icsclient.smime.CertificateExpiredError` as :meth:`lodge_many` does.
        """
        when = self._now(now)
        check_dates(self.credentials, self.gateway_cert, when, None)

        record, kind = checked_builder(build, self.site, lambda data: self._compose(data, when))
        try:
            entry = self.store.allocate_and_record(
                self.site,
                record,
                now=when,
                pad=self.pad,
                message_count=message_count,
                kind=kind,
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
                change = Change(Input.SENT, when, resend, attempt=True, sent=True)
                self.store.update_outbox(out.site, out.icr, change, op="sent")
                return
            self._acknowledged(out, when, attempt=True)

    def _acknowledged(self, out: Outgoing, now: datetime, *, attempt: bool) -> None:
        """An ICONTRL completes: nothing answers it, and its interchange is acknowledged."""
        change = Change(
            Input.ICONTRL_SENT,
            now,
            detail=ICONTRL_DETAIL,
            sets_detail=True,
            attempt=attempt,
            sent=attempt,
        )
        self.store.update_outbox(out.site, out.icr, change, op="sent")
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
        change = Change(
            Input.SEND_FAILED, when, when + wait, str(reason), sets_detail=True, attempt=True
        )
        self.store.update_outbox(out.site, out.icr, change, op="send_failed")

    def due(self, now: datetime | None = None) -> list[Event]:
        """What is due at ``now``: :class:`ResendDue`, :class:`PendingSend` or :class:`GaveUp`.

        A sent interchange whose CONTRL is overdue is offered again with the same ICR and
        the same e-mail (so the CCF can recognise the duplicate) while it has had fewer
        than ``max_attempts`` attempts; then it is given up (state GAVE_UP).  An e-mail
        left queued (its send failed, or was never reported) is offered again once its
        retry time, or ``resend_after`` after it was recorded, has passed.  Send each
        offered e-mail and call :meth:`sent`; until then the same entry is offered again.
        """
        return overdue(self, self._now(now))

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
            if not isinstance(raw_email, (bytes, bytearray, memoryview)):
                hint = (
                    ": encode it, or read the file in binary mode"
                    if isinstance(raw_email, str)
                    else ""
                )
                raise TypeError(
                    "receive() takes the raw e-mail as bytes (as read from the mailbox), "
                    f"not {type(raw_email).__name__}{hint}"
                )
            arrival, acknowledges = self._inbound.arrival(bytes(raw_email), when, icontrls)
            arrivals.append(arrival)
            icontrls += acknowledges
        if len(arrivals) == 1:
            return [arrivals[0]()]
        with self.store.transaction():
            return [arrival() for arrival in arrivals]

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
        return self._inbound.recover(self._now(now))

    # ------------------------------------------------------------------ reporting

    def summary(self) -> LodgementSummary:
        """Counts of this site's lodgements by state, resends, acknowledgements, responses."""
        return summarize(self.store, self.site)
