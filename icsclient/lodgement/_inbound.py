"""What the lodgement client does with a received e-mail: open, store, acknowledge, read.

:class:`Inbound` is the receiving half of :class:`~icsclient.lodgement.LodgementClient`:
it calls the store (which does I/O) and leaves every outbox state to
:mod:`icsclient.lodgement._state`.  Anything wrong with what came in ends in the
quarantine (it could not be opened) or in the inbox with its reason (it could not be
read): never in an exception, so a bad e-mail cannot block a mailbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..edifact.envelope import Interchange, parse_interchange
from ..errors import BuildError, StoreError
from ..ics.contrl import ContrlReport, parse_contrl
from ..ics.cusres import CusresResponse, parse_cusres
from ..ics.icontrl import build_icontrl, needs_acknowledgement
from ..ics.ordering import content_digest
from ..ics.sequence import format_icr
from ..mail import open_email
from ..store import InboxEntry, OutboxEntry, OutboxState, StandingResponse
from ._events import (
    AcknowledgementToSend,
    ContrlAccepted,
    ContrlDuplicate,
    ContrlReceived,
    ContrlRejected,
    ContrlUnmatched,
    DuplicateReceived,
    Event,
    NotUnderstood,
    OpenFailed,
    OutgoingKind,
    PendingSend,
    PlainTextReceived,
    ResponseReceived,
    Superseded,
)
from ._outbound import Build, foreseen
from ._state import Input, Verdict, decide_response, on_contrl, ranks
from ._summary import DUPLICATES, OPEN_FAILURES, SUPERSEDED, UNRANKED

if TYPE_CHECKING:
    from ._client import LodgementClient

__all__ = ["Inbound"]


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class Inbound:
    """Receiving for ``client``: e-mails in, events out, facts in its store."""

    def __init__(self, client: LodgementClient) -> None:
        self.client = client
        self.store = client.store
        self.site = client.site

    def arrival(
        self, raw: bytes, when: datetime, ahead: int
    ) -> tuple[Callable[[], list[Event]], bool]:
        """Open ``raw``; return what records it (to run in the store transaction) and
        whether that allocates an ICONTRL (``ahead`` others are allocated before it).

        A failure to open is recorded in the quarantine; a plain-text response too.
        """
        try:
            opened = open_email(raw, recipient=self.client.decrypting, trust=self.client.trust)
        except Exception as exc:  # anything wrong with what came in is quarantined
            reason = f"the e-mail could not be opened: {_describe(exc)}"
            return self._quarantining(raw, reason, exc, when), False
        if opened.plain_text:
            subject, text = opened.subject.text, opened.text or ""

            def plain() -> list[Event]:
                qid = self.store.quarantine(raw, f"plain-text response: {subject}", when)
                return [PlainTextReceived(subject, text, qid)]

            return plain, False
        data = opened.interchange or b""
        try:
            parsed = parse_interchange(data, strict=False)
            acknowledges = needs_acknowledgement(parsed)
        except Exception as exc:
            reason = f"the interchange could not be read: {_describe(exc)}"
            return self._quarantining(raw, reason, exc, when), False
        if parsed.recipient != self.site or not parsed.control_reference or not parsed.sender:
            reason = (
                f"the interchange {parsed.control_reference!r} from {parsed.sender!r} is "
                f"addressed to {parsed.recipient!r}, not to this client's site {self.site!r}"
            )
            return self._quarantining(raw, reason, None, when), False
        # Storing, recording the ICONTRL and reading the content are one commit: the
        # ICONTRL is handed out (returned) only once the interchange is durably stored, and
        # a crash before the commit leaves nothing (the CCF sends the interchange again).
        # The ICONTRL is composed ahead, outside the store's lock (see _foreseen).
        icontrl = None
        if acknowledges:
            icontrl = foreseen(
                self.store, self.site, self.client.pad, self.icontrl_builder(parsed, when), ahead
            )

        def record() -> list[Event]:
            with self.store.transaction():
                return self._record(raw, data, parsed, acknowledges, when, icontrl)

        return record, acknowledges

    def _record(
        self,
        raw: bytes,
        data: bytes,
        parsed: Interchange,
        acknowledges: bool,
        when: datetime,
        icontrl: Build | None,
    ) -> list[Event]:
        """Store a received interchange, record its ICONTRL, read it (in a transaction)."""
        entry, duplicate = self.store.store_received(
            parsed.sender,
            parsed.control_reference,
            data,
            raw_email=raw if self.client.keep_raw_email else None,
            now=when,
            acknowledged=not acknowledges,
        )
        events = self.acknowledge(entry, parsed, acknowledges, when, icontrl)
        if duplicate and entry.processed:
            self.store.add_count(self.site, DUPLICATES)
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
        events.extend(self.process(entry, parsed, when))
        return events

    def _quarantining(
        self, raw: bytes, reason: str, exc: BaseException | None, now: datetime
    ) -> Callable[[], list[Event]]:
        def quarantine() -> list[Event]:
            with self.store.transaction():
                self.store.add_count(self.site, OPEN_FAILURES)
                qid = self.store.quarantine(raw, reason, now)
            kind = type(exc).__name__ if exc is not None else "MailError"
            return [OpenFailed(reason, kind, qid)]

        return quarantine

    def icontrl_builder(self, parsed: Interchange, now: datetime) -> Build:
        """The ``allocate_and_record`` callback building the ICONTRL for ``parsed``."""
        client = self.client

        def build(icr: str) -> tuple[bytes, bytes]:
            data = build_icontrl(
                parsed, sender=self.site, icr=icr, prepared=now, recipient=client.gateway_site
            )
            return data, client._compose(data, now)

        return build

    def acknowledge(
        self,
        entry: InboxEntry,
        parsed: Interchange,
        acknowledges: bool,
        now: datetime,
        build: Build | None = None,
    ) -> list[Event]:
        """Record an ICONTRL for a stored interchange; a CONTRL is only marked acknowledged.

        ``build`` makes the ICONTRL (default: :meth:`icontrl_builder`).
        """
        if not acknowledges:
            if not entry.acknowledged:
                self.store.mark_acknowledged(entry.sender, entry.icr)
            return []
        target = (entry.sender, entry.icr)
        try:
            out = self.store.allocate_and_record(
                self.site,
                build or self.icontrl_builder(parsed, now),
                now=now,
                pad=self.client.pad,
                kind="CONTRL",
                acknowledges=target,
            )
        except BuildError as exc:
            return [NotUnderstood(entry.sender, entry.icr, f"cannot acknowledge it: {exc}")]
        assert out.email is not None
        outgoing = self.client._outgoing(out, OutgoingKind.ACKNOWLEDGEMENT, out.email, target)
        return [AcknowledgementToSend(outgoing, entry.sender, entry.icr)]

    def process(self, entry: InboxEntry, parsed: Interchange, now: datetime) -> list[Event]:
        """Read a stored interchange's messages, act on them and mark it processed.

        A message that cannot be read is reported (:class:`NotUnderstood`) and its reason
        kept in the inbox entry's detail.
        """
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
            except StoreError:
                raise  # the ledger failed: the whole receipt is rolled back, to be retried
            except Exception as exc:
                # An IcsError: what came in is wrong.  Anything else is a parser's fault on
                # hostile input; either way the interchange is stored and must not block.
                reason = f"message {message.reference}: {_describe(exc)}"
                events.append(NotUnderstood(entry.sender, entry.icr, reason))
        detail = "; ".join(e.reason for e in events if isinstance(e, NotUnderstood)) or None
        self.store.mark_processed(
            entry.sender,
            entry.icr,
            _json(summary),
            kind="+".join(kinds) or None,
            detail=detail,
        )
        return events

    def recover(self, when: datetime) -> list[Event]:
        """:meth:`~icsclient.lodgement.LodgementClient.recover`."""
        events: list[Event] = []
        queued = [e for e in self.store.outbox(OutboxState.QUEUED) if e.site == self.site]
        waiting: dict[tuple[str, str], OutboxEntry] = {}
        for entry in queued:
            if entry.is_acknowledgement and entry.acknowledges is not None:
                waiting.setdefault(entry.acknowledges, entry)
        for entry in self.store.outbox(OutboxState.SENT):
            if entry.site == self.site and entry.is_acknowledgement:
                out = self.client._to_send(entry, when)
                self.client._acknowledged(out, entry.last_sent or when, attempt=False)
        offered: set[str] = set()
        for inbox in self.store.unacknowledged():
            parsed = parse_interchange(inbox.interchange, strict=False)
            key = (inbox.sender, inbox.icr)
            if key in waiting:
                icontrl = waiting[key]
                offered.add(icontrl.icr)
                events.append(
                    AcknowledgementToSend(
                        self.client._to_send(icontrl, when), inbox.sender, inbox.icr
                    )
                )
            elif parsed.recipient == self.site:
                acknowledges = needs_acknowledgement(parsed)
                events.extend(self.acknowledge(inbox, parsed, acknowledges, when))
        for inbox in self.store.unprocessed():
            parsed = parse_interchange(inbox.interchange, strict=False)
            if parsed.recipient == self.site:
                events.extend(self.process(inbox, parsed, when))
        for entry in queued:
            if entry.icr in offered:
                continue
            out = self.client._to_send(entry, when)
            if out.kind is OutgoingKind.ACKNOWLEDGEMENT:
                if out.acknowledges is None:
                    events.append(PendingSend(out))
                    continue
                sender, icr = out.acknowledges
                events.append(AcknowledgementToSend(out, sender, icr))
            else:
                events.append(PendingSend(out))
        return events

    # ------------------------------------------------------------------ CONTRL

    def _find_outbox(self, icr: str) -> OutboxEntry | None:
        entry = self.store.get_outbox(self.site, icr)
        if entry is None and icr.isdigit() and icr.isascii() and 0 < int(icr) <= 99999999999999:
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
        here = (received.sender, received.icr)
        if entry is None:
            return ContrlUnmatched(
                report.sender, report.control_reference, report, explanation, None, *here
            )
        decision = on_contrl(report, entry.message_count, explanation)
        change = decision.change(now)
        self.store.update_outbox(entry.site, entry.icr, change, op="on_contrl")
        state = change(entry.state, entry.attempts).get("state", entry.state)
        if decision.input is Input.CONTRL_DUPLICATE:
            return ContrlDuplicate(entry.site, entry.icr, report, explanation, state, *here)
        if decision.input is Input.CONTRL_ACCEPTED:
            return ContrlAccepted(entry.site, entry.icr, report, explanation, state, *here)
        lines = explanation.splitlines()
        errors = tuple(line for line in lines if ": " in line or " rejected" in line)
        return ContrlRejected(
            entry.site,
            entry.icr,
            report,
            explanation,
            state,
            *here,
            errors=errors or tuple(lines[:1]),
            rejected_messages=decision.rejected_messages,
        )

    # ------------------------------------------------------------------ CUSRES

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
        if not ranks(response) or reference is None:
            self.store.add_count(self.site, UNRANKED + response.outcome.value)
            return [delivered]
        incoming = StandingResponse(
            site=self.site,
            reference=reference,
            at=here,
            prepared=parsed.prepared,
            arrived=entry.received,
            content=content_digest(response.segments),
            outcome=response.outcome.value,
        )
        decision = decide_response(self.store.get_response(self.site, reference), incoming)
        if decision.keep is not None:
            self.store.put_response(decision.keep)
        other = decision.other
        if decision.verdict is Verdict.STANDS or other is None:
            return [delivered]
        if decision.verdict is Verdict.DUPLICATE:
            self.store.add_count(self.site, DUPLICATES)
            previous = (other[0], other[1])
            return [
                DuplicateReceived(entry.sender, entry.icr, previous, None, acknowledged_again=False)
            ]
        self.store.add_count(self.site, SUPERSEDED)
        if decision.verdict is Verdict.SUPERSEDES:
            return [Superseded(reference, other, here, False, decision.reason), delivered]
        return [Superseded(reference, here, other, True, decision.reason)]


def _json(summary: list[dict[str, Any]]) -> str:
    return json.dumps(summary, separators=(",", ":"))
