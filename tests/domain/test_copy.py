"""The repository copies a cached aggregate before each command: the copy must be
independent of the original (a failed save must leave the cached one untouched)."""

from __future__ import annotations

from copy import deepcopy

from ruswf.domain.lifecycle import State
from ruswf.domain.strategy import Strategy

from .driver import COORDINATOR, DAY, initiative_in, state_of


def test_a_copied_initiative_changes_without_changing_the_original(strategy: Strategy) -> None:
    original = initiative_in(strategy, State.PROPOSAL)
    original.collect_events()
    before = state_of(original)
    copy = deepcopy(original)
    assert state_of(copy) == before
    copy.revise(strategy, COORDINATOR, DAY, {"summary": "Ändrad i kopian."})
    copy.submit(COORDINATOR, DAY)
    assert state_of(original) == before
    assert original.content is not copy.content
    assert len(copy.timeline) == len(original.timeline) + 2
    assert original.pending_events == []
