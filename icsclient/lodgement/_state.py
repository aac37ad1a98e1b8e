"""The outbox state machine: a transition table and pure decisions, no I/O.

Every outbox state the lodgement client writes is decided here.  An *input* (the e-mail
was handed over, a CONTRL arrived, the CONTRL is overdue ...) moves an entry from one
:class:`~icsclient.store.OutboxState` to another as :data:`TRANSITIONS` says; a
:class:`Change` carries one input with its time and detail, and the store calls it with the
entry's state *as read inside its write transaction* (so a CONTRL that another process
recorded a moment earlier is not overwritten) and writes what it returns.  The decisions
(:func:`on_contrl`, :func:`on_overdue`, :func:`decide_response`) read reports and responses
and return what to do; they change nothing themselves.

The lifecycle page's state diagram is :func:`mermaid_diagram` of the table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ..ics.contrl import ContrlReport
from ..ics.cusres import CusresResponse
from ..ics.ordering import ResponseArrival, compare_responses
from ..store import OutboxState, StandingResponse

__all__ = [
    "TRANSITIONS",
    "Change",
    "ContrlDecision",
    "Input",
    "ResponseDecision",
    "decide_response",
    "mermaid_diagram",
    "on_contrl",
    "on_overdue",
    "ranks",
]

QUEUED, SENT = OutboxState.QUEUED, OutboxState.SENT
ACKNOWLEDGED, REJECTED, GAVE_UP = (
    OutboxState.ACKNOWLEDGED,
    OutboxState.REJECTED,
    OutboxState.GAVE_UP,
)

DUPLICATE_DETECTED = 26
"""0085 syntax error code: duplicate detected."""

DUPLICATE_DETAIL = "the CCF reported a duplicate (26): it already had this interchange"

HISTORY = 50
"""How many superseded response digests are remembered per report."""

_NOT_AN_ANSWER = frozenset({"8", "14"})
"""CUSRES functions (BGM 1225: status, advice) that tell of a report without answering it."""


class Input(enum.Enum):
    """What happens to an outbox entry."""

    SENT = "sent"
    """A lodgement was handed to the mail server."""
    SEND_FAILED = "send failed"
    """Sending failed before the mail server took the e-mail."""
    ICONTRL_SENT = "ICONTRL sent"
    """An ICONTRL was handed over: nothing will answer it."""
    CONTRL_ACCEPTED = "CONTRL accepted"
    """The CCF's CONTRL accepted the interchange."""
    CONTRL_PARTLY_REJECTED = "CONTRL rejected some messages"
    """The CONTRL rejected some of its messages, not all."""
    CONTRL_REJECTED = "CONTRL rejected"
    """The CONTRL rejected the interchange or every message in it."""
    CONTRL_DUPLICATE = "CONTRL duplicate (26)"
    """The CONTRL said the CCF already had this interchange."""
    OVERDUE = "overdue"
    """No CONTRL in time, attempts left: offered again, the state stays."""
    LAST_OVERDUE = "overdue, no attempts left"
    """No CONTRL in time after the last attempt."""


def _table() -> dict[tuple[OutboxState, Input], OutboxState]:
    table: dict[tuple[OutboxState, Input], OutboxState] = {}
    for state in OutboxState:
        live = not state.is_final
        table[state, Input.SENT] = SENT if live else state  # a final state won the race
        table[state, Input.SEND_FAILED] = state
        table[state, Input.ICONTRL_SENT] = ACKNOWLEDGED
        # A CONTRL decides, even after GAVE_UP (it arrived late) or a resend's report.
        table[state, Input.CONTRL_ACCEPTED] = ACKNOWLEDGED
        table[state, Input.CONTRL_PARTLY_REJECTED] = ACKNOWLEDGED
        table[state, Input.CONTRL_REJECTED] = REJECTED
        # A duplicate report only tells that the CCF had it: it settles a live entry.
        table[state, Input.CONTRL_DUPLICATE] = ACKNOWLEDGED if live else state
        table[state, Input.OVERDUE] = state
        table[state, Input.LAST_OVERDUE] = GAVE_UP if live else state
    return table


TRANSITIONS: Mapping[tuple[OutboxState, Input], OutboxState] = MappingProxyType(_table())
"""``(state, input) -> state`` for every pair."""

_WRITES_ONLY_ON_CHANGE = frozenset({Input.CONTRL_DUPLICATE, Input.OVERDUE, Input.LAST_OVERDUE})
"""Inputs that leave an entry untouched (not even ``updated``) when its state stays."""

_RESCHEDULES = frozenset({Input.SENT, Input.SEND_FAILED})
"""Inputs that set when to send again (a live entry)."""


@attrs.frozen
class Change:
    """One input applied to an outbox entry at ``at``: a callable for
    :meth:`~icsclient.store.Store.update_outbox`.

    Called with the entry's current state and attempts, it returns the columns to write:
    the state from :data:`TRANSITIONS`, ``updated``; an attempt counted (``attempt``),
    ``last_sent`` (``sent``), ``next_resend`` (``None`` in a final state), ``detail`` if
    ``sets_detail``.
    """

    input: Input
    at: datetime
    next_resend: datetime | None = None
    detail: str | None = None
    sets_detail: bool = False
    attempt: bool = False
    sent: bool = False

    def __call__(self, state: OutboxState, attempts: int) -> dict[str, Any]:
        new = TRANSITIONS[state, self.input]
        if new is state and self.input in _WRITES_ONLY_ON_CHANGE:
            return {}
        values: dict[str, Any] = {"state": new, "updated": self.at}
        if self.attempt:
            values["attempts"] = attempts + 1
        if self.sent:
            values["last_sent"] = self.at
        if new.is_final:
            values["next_resend"] = None
        elif self.input in _RESCHEDULES:
            values["next_resend"] = self.next_resend
        if self.sets_detail:
            values["detail"] = self.detail
        return values


# ---------------------------------------------------------------------- decisions


@attrs.frozen
class ContrlDecision:
    """What a CONTRL report does to the outbox entry it reports on."""

    input: Input
    detail: str | None
    """The entry's new detail."""
    rejected_messages: tuple[str, ...] = ()
    """References of the messages it rejected."""

    def change(self, at: datetime) -> Change:
        """The :class:`Change` to write."""
        return Change(self.input, at, detail=self.detail, sets_detail=True)


def on_contrl(report: ContrlReport, message_count: int, explanation: str) -> ContrlDecision:
    """Decide what ``report`` means for a lodged interchange of ``message_count`` messages."""
    if report.error == DUPLICATE_DETECTED:
        return ContrlDecision(Input.CONTRL_DUPLICATE, DUPLICATE_DETAIL)
    if report.accepted:
        return ContrlDecision(Input.CONTRL_ACCEPTED, None)
    if report.rejected:
        rejected = tuple(str(n) for n in range(1, message_count + 1))
    else:
        rejected = tuple(m.reference for m in report.rejected_messages)
    everything = report.rejected or len(set(rejected)) >= message_count
    verdict = Input.CONTRL_REJECTED if everything else Input.CONTRL_PARTLY_REJECTED
    return ContrlDecision(verdict, explanation, rejected)


def on_overdue(attempts: int, max_attempts: int) -> Input:
    """An entry whose CONTRL is overdue (or still queued): offer it again, or give up."""
    return Input.LAST_OVERDUE if attempts >= max_attempts else Input.OVERDUE


def ranks(response: CusresResponse) -> bool:
    """Whether ``response`` can stand for its report: it quotes one, and answers it
    (a status report or advice, BGM 1225 8 / 14, tells of a report without answering)."""
    return bool(response.sender_reference) and response.function not in _NOT_AN_ANSWER


class Verdict(enum.Enum):
    """How an incoming response compares with the one standing for its report."""

    STANDS = "stands"
    """The first response to the report (or the same one again): it stands."""
    DUPLICATE = "duplicate"
    """A re-sent copy of a response already received: not delivered again."""
    SUPERSEDES = "supersedes"
    """It replaces the standing response."""
    IGNORED = "ignored"
    """The standing response is newer: this one is superseded on arrival."""


@attrs.frozen
class ResponseDecision:
    """What to do with an incoming response to a report."""

    verdict: Verdict
    keep: StandingResponse | None
    """What the store must keep as standing (``None``: nothing to write)."""
    other: tuple[str, str, str] | None = None
    """Where the response it was compared with is (sender, ICR, message reference)."""
    reason: str = ""
    """Which rule decided."""


def decide_response(
    current: StandingResponse | None, incoming: StandingResponse
) -> ResponseDecision:
    """The standing-response rule (:func:`~icsclient.ics.ordering.compare_responses`):
    which of ``current`` (standing, if any) and ``incoming`` stands for the report."""
    if current is None or current.at == incoming.at:
        history = () if current is None else current.history
        return ResponseDecision(Verdict.STANDS, attrs.evolve(incoming, history=history))
    arriving = _arrival(incoming)
    verdict = compare_responses(_arrival(current), arriving, history=list(current.history))
    if verdict.duplicate:
        return ResponseDecision(Verdict.DUPLICATE, None, current.at, verdict.reason)
    if verdict.standing is arriving:
        history = (*current.history, current.content)[-HISTORY:]
        keep = attrs.evolve(incoming, history=history)
        return ResponseDecision(Verdict.SUPERSEDES, keep, current.at, verdict.reason)
    history = (*current.history, incoming.content)[-HISTORY:]
    keep = attrs.evolve(current, history=history)
    return ResponseDecision(Verdict.IGNORED, keep, current.at, verdict.reason)


def _arrival(response: StandingResponse) -> ResponseArrival:
    return ResponseArrival(
        prepared=response.prepared,
        arrived=response.arrived,
        content=response.content,
        sender_reference=response.reference,
    )


# ---------------------------------------------------------------------- the diagram


def mermaid_diagram() -> str:
    """The state diagram of :data:`TRANSITIONS` as a mermaid ``stateDiagram-v2`` block
    (self-transitions left out), as ``docs/concepts/lifecycle.md`` shows it."""
    edges: dict[tuple[OutboxState, OutboxState], list[str]] = {}
    for (old, given), new in TRANSITIONS.items():
        if new is not old:
            edges.setdefault((old, new), []).append(given.value)
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {QUEUED.name}: recorded with its ICR"]
    for (old, new), inputs in edges.items():
        lines.append(f"    {old.name} --> {new.name}: {', '.join(inputs)}")
    lines += [f"    {state.name} --> [*]" for state in OutboxState if state.is_final]
    lines.append("```")
    return "\n".join(lines) + "\n"
