"""Every action from every state, driven by the lifecycle table itself.

The parameters are the cross product of `State` and `Action`, split by `TRANSITIONS`, so
a new state or action is tested the moment it is added to the table.
"""

from __future__ import annotations

import pytest

from ruswf.domain.errors import TransitionNotAllowedError
from ruswf.domain.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Facts,
    State,
    actions_from,
    allowed_actions,
    next_state,
)
from ruswf.domain.strategy import Strategy

from .driver import COMMANDS, GUARD_ESTABLISHED_BY, initiative_in, path_to, valid_input


def _defined(state: State, action: Action) -> bool:
    return any(a is action and state in sources for a, sources, _, _ in TRANSITIONS)


def _target(state: State, action: Action) -> State:
    dest = next(d for a, sources, d, _ in TRANSITIONS if a is action and state in sources)
    return state if dest is None else dest


PAIRS = [(state, action) for state in State for action in Action]
ALLOWED = [pytest.param(s, a, id=f"{s.value}-{a.value}") for s, a in PAIRS if _defined(s, a)]
DISALLOWED = [pytest.param(s, a, id=f"{s.value}-{a.value}") for s, a in PAIRS if not _defined(s, a)]


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_every_state_is_reachable_from_proposal(state: State, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, state)
    assert initiative.lifecycle_state is state
    assert len(path_to(state)) <= len(State)


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_every_action_appears_in_the_lifecycle_table(action: Action) -> None:
    assert any(a is action for a, _, _, _ in TRANSITIONS)
    assert action in COMMANDS


def test_every_guard_has_an_action_that_establishes_it() -> None:
    guards = {guard for _, _, _, guard in TRANSITIONS if guard}
    assert guards <= set(GUARD_ESTABLISHED_BY)
    assert all(hasattr(Facts(), guard) for guard in guards)


@pytest.mark.parametrize(("state", "action"), ALLOWED)
def test_allowed_action_records_one_event_and_moves_to_its_target(
    state: State, action: Action, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, state)
    initiative.collect_events()
    version = initiative.version

    COMMANDS[action](initiative, strategy, valid_input(strategy, initiative, action))

    assert initiative.lifecycle_state is _target(state, action)
    assert len(initiative.collect_events()) == 1
    assert initiative.version == version + 1


@pytest.mark.parametrize(("state", "action"), DISALLOWED)
def test_disallowed_action_raises_naming_state_and_allowed_actions(
    state: State, action: Action, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, state)
    initiative.collect_events()
    allowed = [a.value for a in initiative.allowed_actions()]

    with pytest.raises(TransitionNotAllowedError) as raised:
        COMMANDS[action](initiative, strategy, valid_input(strategy, initiative, action))

    error = raised.value
    assert (error.action, error.state, error.allowed_actions) == (
        action.value,
        state.value,
        allowed,
    )
    assert f"'{state.value}'" in str(error)
    assert all(name in str(error) for name in allowed)
    assert initiative.collect_events() == []
    assert initiative.lifecycle_state is state


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
def test_initiative_allows_every_action_of_its_state_once_guards_are_met(
    state: State, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, state)
    assert list(initiative.allowed_actions()) == actions_from(state)


def test_terminal_states_are_closed_rejected_and_withdrawn() -> None:
    assert {State.CLOSED, State.REJECTED, State.WITHDRAWN} == TERMINAL_STATES


@pytest.mark.parametrize("state", sorted(TERMINAL_STATES), ids=lambda s: s.value)
def test_terminal_state_allows_nothing(state: State) -> None:
    assert allowed_actions(state, Facts(has_preparation=True)) == ()
    assert "none" in str(_error(state, Action.WITHDRAW))


def test_schedule_without_preparation_is_not_allowed_and_says_why() -> None:
    error = _error(State.COUNCIL_PREPARATION, Action.SCHEDULE)
    assert Action.SCHEDULE.value not in error.allowed_actions
    assert "preparation" in error.why


def test_next_state_follows_the_table_when_guards_hold() -> None:
    facts = Facts(has_preparation=True)
    assert next_state(State.COUNCIL_PREPARATION, Action.SCHEDULE, facts) is State.DECISION
    assert next_state(State.DECISION, Action.DEFER, facts) is State.DECISION


def _error(state: State, action: Action) -> TransitionNotAllowedError:
    with pytest.raises(TransitionNotAllowedError) as raised:
        next_state(state, action, Facts())
    return raised.value
