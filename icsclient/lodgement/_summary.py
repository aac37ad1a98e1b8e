"""A summary of a client's lodgements, for a report or the demo's closing table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from .._html import html_of
from ..ics.cusres import Outcome
from ..store import OutboxState, Store

__all__ = ["LodgementSummary", "summarize"]

DUPLICATES, SUPERSEDED, OPEN_FAILURES = "duplicates", "superseded", "open_failures"
"""Names of the ledger counters (:meth:`~icsclient.store.Store.counts`) the client keeps."""

UNRANKED = "unranked:"
"""Prefix of the counters of responses that stand for no report, by outcome value."""


def _states(value: Mapping[OutboxState, int]) -> Mapping[OutboxState, int]:
    return MappingProxyType(dict(value))


def _outcomes(value: Mapping[Outcome, int]) -> Mapping[Outcome, int]:
    return MappingProxyType(dict(value))


@attrs.frozen
class LodgementSummary:
    """Counts describing where one site's lodgements stand.

    From the ledger (everything recorded, across restarts): ``lodged`` interchanges of
    business messages, their count by outbox ``states``, ``resends`` (sending attempts
    beyond the first) and ``acknowledgements`` (ICONTRLs recorded) of which
    ``acknowledgements_sent`` went out; ``quarantined`` e-mails that could not be opened
    or were plain text.

    Also from the ledger (so the same before and after a restart): ``responses`` by
    outcome (the standing response of each report, plus every status report, advice and
    response naming no report), ``superseded`` out-of-order responses, ``duplicates``
    received again and ``open_failures``.  A ledger migrated from schema version 1 has
    the standing responses but starts the last three counts (and the responses naming no
    report) at 0: version 1 kept them only in the client's memory.
    """

    site: str
    lodged: int
    states: Mapping[OutboxState, int] = attrs.field(converter=_states)
    resends: int
    acknowledgements: int
    acknowledgements_sent: int
    quarantined: int
    responses: Mapping[Outcome, int] = attrs.field(converter=_outcomes)
    superseded: int
    duplicates: int
    open_failures: int

    def count(self, state: OutboxState) -> int:
        """How many lodged interchanges are in ``state``."""
        return self.states.get(state, 0)

    @property
    def pending(self) -> int:
        """Lodged interchanges not yet in a final state (queued, or sent and unanswered)."""
        return sum(n for state, n in self.states.items() if not state.is_final)

    @property
    def settled(self) -> bool:
        """Whether every lodged interchange reached a final state."""
        return self.pending == 0

    def rows(self) -> list[tuple[str, int]]:
        """(label, count) rows for a table, in a stable order; outcomes with no responses
        and states never reached are left out."""
        out: list[tuple[str, int]] = [("lodged", self.lodged)]
        out.extend(
            (state.value.lower().replace("_", " "), self.states[state])
            for state in OutboxState
            if self.states.get(state)
        )
        out.append(("resends", self.resends))
        out.extend(
            (f"responses {outcome.value}", self.responses[outcome])
            for outcome in Outcome
            if self.responses.get(outcome)
        )
        out.extend(
            (label, value)
            for label, value in (
                ("acknowledgements sent", self.acknowledgements_sent),
                ("acknowledgements unsent", self.acknowledgements - self.acknowledgements_sent),
                ("superseded responses", self.superseded),
                ("duplicates received", self.duplicates),
                ("e-mails that failed to open", self.open_failures),
                ("quarantined", self.quarantined),
            )
            if value or label == "acknowledgements sent"
        )
        return out

    def _repr_html_(self) -> str | None:
        """The rows as a table, with whether everything settled (Jupyter)."""
        return html_of(self)

    def __str__(self) -> str:
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        lines = [f"site {self.site}"]
        lines.extend(f"  {label:<{width}}  {value:>7,}" for label, value in rows)
        return "\n".join(lines)


LodgementSummary.__module__ = "icsclient.lodgement"  # its public home (and display's key)


def summarize(store: Store, site: str) -> LodgementSummary:
    """The :class:`LodgementSummary` of ``site`` from what ``store`` holds."""
    states: Counter[OutboxState] = Counter()
    lodged = resends = icontrls = icontrls_sent = 0
    for entry in store.outbox():
        if entry.site != site:
            continue
        if entry.is_acknowledgement:
            icontrls += 1
            icontrls_sent += entry.last_sent is not None
            continue
        lodged += 1
        states[entry.state] += 1
        resends += max(entry.attempts - 1, 0)
    counts = store.counts(site)
    responses: Counter[Outcome] = Counter(Outcome(r.outcome) for r in store.responses(site))
    for name, n in counts.items():
        if name.startswith(UNRANKED):
            responses[Outcome(name[len(UNRANKED) :])] += n
    return LodgementSummary(
        site=site,
        lodged=lodged,
        states=states,
        resends=resends,
        acknowledgements=icontrls,
        acknowledgements_sent=icontrls_sent,
        quarantined=len(store.quarantined()),
        responses=responses,
        superseded=counts.get(SUPERSEDED, 0),
        duplicates=counts.get(DUPLICATES, 0),
        open_failures=counts.get(OPEN_FAILURES, 0),
    )
