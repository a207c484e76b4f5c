"""The repository copies a cached aggregate before each command: the copy must be
independent of the original (a failed save must leave the cached one untouched).

The copy shares every value except the lists (events only replace dicts, and only
append to lists), so every action from every state is taken on a copy here: an event
that changed a shared value in place would show up in the original."""

from __future__ import annotations

from copy import deepcopy

import pytest

from ruswf.domain.lifecycle import TRANSITIONS, Action, State
from ruswf.domain.strategy import Strategy

from .driver import establish_guards, initiative_in, perform, state_of

TRANSITION_CASES = [
    pytest.param(state, action, id=f"{state.value}-{action.value}")
    for action, sources, _dest, _guard in TRANSITIONS
    for state in sources
]


@pytest.mark.parametrize(("state", "action"), TRANSITION_CASES)
def test_an_action_on_a_copy_leaves_the_original_unchanged(
    strategy: Strategy, state: State, action: Action
) -> None:
    original = initiative_in(strategy, state)
    original.collect_events()
    before = state_of(original)
    copy = deepcopy(original)
    assert state_of(copy) == before
    establish_guards(strategy, copy, action)
    perform(strategy, copy, action)
    assert state_of(original) == before
    assert len(copy.timeline) > len(original.timeline)
    assert original.pending_events == []
