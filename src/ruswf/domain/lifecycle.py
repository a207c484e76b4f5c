"""The lifecycle of an initiative: one `transitions` definition, the single source of truth.

The table below answers "is this move legal, and what may come next". The aggregate asks
it before recording an event; replaying events never consults it (the events' `apply`
only sets the state), so guards and side effects never re-run on replay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from transitions import Machine, MachineError

from ruswf.domain.errors import TransitionNotAllowedError


class State(StrEnum):
    """States of an initiative. The values are the contract."""

    PROPOSAL = "proposal"
    COUNCIL_PREPARATION = "council_preparation"
    DECISION = "decision"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    """Actions on an existing initiative (proposing creates one and is not a transition)."""

    SUBMIT = "submit"
    REVISE = "revise"
    RETURN_FOR_REVISION = "return_for_revision"
    RECORD_PREPARATION = "record_preparation"
    SCHEDULE = "schedule"
    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"
    REFER_BACK = "refer_back"
    REPORT_PROGRESS = "report_progress"
    CLOSE = "close"
    WITHDRAW = "withdraw"


P, C, D, F = State.PROPOSAL, State.COUNCIL_PREPARATION, State.DECISION, State.FOLLOW_UP

# The lifecycle as data: (action, from states, to state or None = stays, guard or None).
# A guard names a fact of the initiative that must hold; see `Facts`.
TRANSITIONS: tuple[tuple[Action, tuple[State, ...], State | None, str | None], ...] = (
    (Action.SUBMIT, (P,), C, None),
    (Action.REVISE, (P, C), None, None),
    (Action.RETURN_FOR_REVISION, (C,), P, None),
    (Action.RECORD_PREPARATION, (C,), None, None),
    (Action.SCHEDULE, (C,), D, "has_preparation"),
    (Action.APPROVE, (D,), F, None),
    (Action.REJECT, (D,), State.REJECTED, None),
    (Action.DEFER, (D,), None, None),
    (Action.REFER_BACK, (D,), C, None),
    (Action.REPORT_PROGRESS, (F,), None, None),
    (Action.CLOSE, (F,), State.CLOSED, None),
    (Action.WITHDRAW, (P, C, D), State.WITHDRAWN, None),
)

GUARD_EXPLANATIONS: dict[str, str] = {
    "has_preparation": "a preparation must be recorded before scheduling",
}

TERMINAL_STATES: frozenset[State] = frozenset(
    s for s in State if not any(s in sources for _, sources, _, _ in TRANSITIONS)
)


@dataclass(frozen=True)
class Facts:
    """The facts of an initiative that guards may test."""

    has_preparation: bool = False


class _Probe:
    """The model the machine moves; it stands in for the aggregate, which never changes here."""

    # Added by the Machine (declared here for the type checker only).
    trigger: Callable[[str], bool]

    def __init__(self, state: State, facts: Facts) -> None:
        self.state = state
        self.facts = facts

    def has_preparation(self, _event: Any) -> bool:
        return self.facts.has_preparation


def _machine(model: _Probe) -> Machine:
    return Machine(
        model=model,
        states=State,
        initial=model.state,
        transitions=[
            {
                "trigger": action.value,
                "source": list(sources),
                "dest": "=" if dest is None else dest,
                "conditions": [guard] if guard else [],
            }
            for action, sources, dest, guard in TRANSITIONS
        ],
        auto_transitions=False,
        send_event=True,
    )


def actions_from(state: State) -> list[Action]:
    """Actions the lifecycle defines from `state`, before guards."""
    return [action for action, sources, _, _ in TRANSITIONS if state in sources]


# The answers depend only on (state, facts), so each is computed by the machine once.
@lru_cache(maxsize=256)
def allowed_actions(state: State, facts: Facts) -> tuple[Action, ...]:
    """Actions allowed from `state` given the initiative's facts (guards applied)."""
    probe = _Probe(state, facts)
    _machine(probe)
    return tuple(a for a in actions_from(state) if getattr(probe, f"may_{a.value}")())


@lru_cache(maxsize=1024)
def next_state(state: State, action: Action, facts: Facts) -> State:
    """The state after `action`, or raise `TransitionNotAllowedError`."""
    probe = _Probe(state, facts)
    _machine(probe)
    try:
        moved = probe.trigger(action.value)
    except MachineError:
        moved = False
    if not moved:
        guard = next(
            (g for a, sources, _, g in TRANSITIONS if a is action and state in sources and g),
            None,
        )
        raise TransitionNotAllowedError(
            action.value,
            state.value,
            [a.value for a in allowed_actions(state, facts)],
            GUARD_EXPLANATIONS.get(guard, "") if guard else "",
        )
    result: State = probe.state
    return result
