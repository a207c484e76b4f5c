"""Random sequences of actions, valid and invalid, on one initiative in memory."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ruswf.app.strategy_loader import load_strategy
from ruswf.domain.errors import TransitionNotAllowedError, ValidationError
from ruswf.domain.initiative import Initiative
from ruswf.domain.lifecycle import TERMINAL_STATES, TRANSITIONS, Action, State

from .driver import COMMANDS, invalid_input, propose, replay, state_of, valid_input

STRATEGY = load_strategy()


class InitiativeLifecycle(RuleBasedStateMachine):
    """One initiative; every step tries an action and checks the aggregate against replay."""

    def __init__(self) -> None:
        super().__init__()
        self.initiative: Initiative = propose(STRATEGY)
        self.events: list[Any] = list(self.initiative.collect_events())

    def _attempt(self, action: Action, arguments: dict[str, Any]) -> None:
        COMMANDS[action](self.initiative, STRATEGY, arguments)

    @rule(action=st.sampled_from(Action))
    def take_action_with_valid_input(self, action: Action) -> None:
        before = self.initiative.lifecycle_state
        allowed = action in self.initiative.allowed_actions()
        arguments = valid_input(STRATEGY, self.initiative, action)
        if allowed:
            self._attempt(action, arguments)
            new = self.initiative.collect_events()
            assert len(new) == 1
            self.events.extend(new)
            dest = next(d for a, src, d, _ in TRANSITIONS if a is action and before in src)
            assert self.initiative.lifecycle_state is (dest or before)
        else:
            self._expect_nothing_recorded(TransitionNotAllowedError, action, arguments)

    @rule(action=st.sampled_from(Action))
    def take_action_with_invalid_input(self, action: Action) -> None:
        allowed = action in self.initiative.allowed_actions()
        arguments = invalid_input(STRATEGY, self.initiative, action)
        expected = ValidationError if allowed else TransitionNotAllowedError
        self._expect_nothing_recorded(expected, action, arguments)

    def _expect_nothing_recorded(
        self, expected: type[Exception], action: Action, arguments: dict[str, Any]
    ) -> None:
        before = state_of(self.initiative)
        try:
            self._attempt(action, arguments)
        except expected:
            pass
        else:
            raise AssertionError(f"{action.value} with {arguments} did not raise {expected}")
        assert self.initiative.collect_events() == []
        assert state_of(self.initiative) == before

    @invariant()
    def state_is_a_lifecycle_state(self) -> None:
        assert isinstance(self.initiative.lifecycle_state, State)

    @invariant()
    def replay_of_the_events_equals_the_live_aggregate(self) -> None:
        assert state_of(replay(self.events)) == state_of(self.initiative)
        assert self.initiative.version == len(self.events)

    @invariant()
    def terminal_states_allow_nothing(self) -> None:
        if self.initiative.lifecycle_state in TERMINAL_STATES:
            assert self.initiative.allowed_actions() == ()


def test_random_action_sequences_keep_the_live_aggregate_equal_to_its_replay() -> None:
    """Invalid actions raise and record nothing; replay equals live state at every step."""
    run_state_machine_as_test(
        InitiativeLifecycle,
        settings=settings(max_examples=50, stateful_step_count=30, deadline=None),
    )
