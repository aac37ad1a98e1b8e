"""The outbox state machine: every (state, input) pair, the decisions, the generated diagram."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from icsclient.lodgement._state import (
    TRANSITIONS,
    Change,
    Input,
    Verdict,
    decide_response,
    mermaid_diagram,
    on_overdue,
)
from icsclient.store import OutboxState, StandingResponse

T0 = datetime(2024, 1, 27, 7, 30, tzinfo=timezone.utc)
LATER = T0 + timedelta(minutes=30)
LIFECYCLE = Path(__file__).parents[1] / "docs" / "concepts" / "lifecycle.md"

Q, S, A, R, G = (
    OutboxState.QUEUED,
    OutboxState.SENT,
    OutboxState.ACKNOWLEDGED,
    OutboxState.REJECTED,
    OutboxState.GAVE_UP,
)

EXPECTED = {
    #                           QUEUED  SENT  ACKNOWLEDGED  REJECTED  GAVE_UP
    Input.SENT:                   (S,    S,    A,            R,        G),
    Input.SEND_FAILED:            (Q,    S,    A,            R,        G),
    Input.ICONTRL_SENT:           (A,    A,    A,            A,        A),
    Input.CONTRL_ACCEPTED:        (A,    A,    A,            A,        A),
    Input.CONTRL_PARTLY_REJECTED: (A,    A,    A,            A,        A),
    Input.CONTRL_REJECTED:        (R,    R,    R,            R,        R),
    Input.CONTRL_DUPLICATE:       (A,    A,    A,            R,        G),
    Input.OVERDUE:                (Q,    S,    A,            R,        G),
    Input.LAST_OVERDUE:           (G,    G,    A,            R,        G),
}  # fmt: skip


def test_the_table_has_every_pair_and_no_other() -> None:
    pairs = {(state, given) for state in OutboxState for given in Input}
    assert set(TRANSITIONS) == pairs
    assert set(EXPECTED) == set(Input)


@pytest.mark.parametrize("given", list(Input), ids=lambda i: i.name)
@pytest.mark.parametrize("state", list(OutboxState), ids=lambda s: s.name)
def test_every_state_and_input(state: OutboxState, given: Input) -> None:
    expected = EXPECTED[given][list(OutboxState).index(state)]
    assert TRANSITIONS[state, given] is expected
    change = Change(given, LATER, next_resend=LATER + timedelta(hours=1), detail="why",
                    sets_detail=True, attempt=True, sent=True)  # fmt: skip
    values = change(state, 2)
    if expected is state and given in (
        Input.CONTRL_DUPLICATE,
        Input.OVERDUE,
        Input.LAST_OVERDUE,
    ):
        assert values == {}  # nothing happened: not even `updated` is written
        return
    assert values["state"] is expected and values["updated"] == LATER
    assert values["attempts"] == 3 and values["last_sent"] == LATER and values["detail"] == "why"
    if expected.is_final:
        assert values["next_resend"] is None
    elif given in (Input.SENT, Input.SEND_FAILED):
        assert values["next_resend"] == LATER + timedelta(hours=1)
    else:
        assert "next_resend" not in values


def test_a_change_writes_only_what_it_carries() -> None:
    assert Change(Input.CONTRL_ACCEPTED, T0)(S, 1) == {
        "state": A,
        "updated": T0,
        "next_resend": None,
    }


def test_overdue_gives_up_after_the_last_attempt() -> None:
    assert on_overdue(1, 3) is Input.OVERDUE
    assert on_overdue(3, 3) is Input.LAST_OVERDUE


def _response(at: str, prepared: datetime | None, content: str) -> StandingResponse:
    return StandingResponse("AAA676Y", "HAWB1", ("AAA336C", at, "1"), prepared, T0, content, "a")


def test_the_standing_response_rule() -> None:
    first = _response("1", datetime(2024, 1, 1, 10), "c1")
    decision = decide_response(None, first)
    assert decision.verdict is Verdict.STANDS and decision.keep == first
    newer = _response("2", datetime(2024, 1, 1, 11), "c2")
    decision = decide_response(first, newer)
    assert decision.verdict is Verdict.SUPERSEDES and decision.other == first.at
    assert decision.keep is not None and decision.keep.history == ("c1",)
    older = _response("3", datetime(2024, 1, 1, 9), "c3")
    decision = decide_response(newer, older)
    assert decision.verdict is Verdict.IGNORED and decision.keep is not None
    assert decision.keep.at == newer.at and decision.keep.history == ("c3",)
    standing = decide_response(first, newer).keep
    assert standing is not None
    decision = decide_response(standing, _response("4", datetime(2024, 1, 1, 10), "c1"))
    assert decision.verdict is Verdict.DUPLICATE and decision.keep is None


def test_the_lifecycle_page_shows_the_table() -> None:
    """Regenerate with: python -c "from icsclient.lodgement._state import mermaid_diagram as m;
    print(m())" and paste it under "The outbox states" in docs/concepts/lifecycle.md."""
    assert mermaid_diagram() in LIFECYCLE.read_text()
