"""The catalogue of words for people (`ruswf/app/labels.toml`): complete in both
languages, and naming everything the UI labels (no store needed)."""

from __future__ import annotations

from typing import Any

from projections.annual_cycle import DECISIONS as REPORTED_OUTCOMES
from ruswf.app.audit.dossier import DECISIONS
from ruswf.app.authorization import Role
from ruswf.app.labels import (
    ACTION_LABELS,
    CATALOGUE,
    EVENT_LABELS,
    MONTHS_EN,
    OUTCOME_LABELS,
    ROLE_LABELS,
    STATE_LABELS,
    choice_label,
    outcome_label,
    state_label,
)
from ruswf.domain.commands import PROGRESS_STATUSES, RECOMMENDATIONS
from ruswf.domain.initiative import Initiative
from ruswf.domain.lifecycle import Action, State


def _entries(table: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every entry of the catalogue (a table with `sv` or `en`), with where it stands."""
    if "sv" in table or "en" in table:
        return [(path, table)]
    return [
        entry
        for key, value in table.items()
        if isinstance(value, dict)
        for entry in _entries(value, f"{path}.{key}")
    ]


def test_every_catalogue_entry_has_a_swedish_and_an_english_text() -> None:
    entries = _entries(CATALOGUE)
    assert len(entries) > 100
    for path, entry in entries:
        assert set(entry) == {"sv", "en"}, path
        assert all(entry.values()), path


def test_every_event_action_role_state_and_outcome_has_a_label() -> None:
    events = {
        name
        for name, value in vars(Initiative).items()
        if isinstance(value, type) and issubclass(value, Initiative.Event | Initiative.Proposed)
    }
    # the bases of the events, never recorded themselves
    assert events - {"Event", "Created", "Decided"} == set(EVENT_LABELS)
    assert {a.value for a in Action} | {"propose"} == set(ACTION_LABELS)
    assert {r.value for r in Role} == set(ROLE_LABELS)
    assert {s.value for s in State} == set(STATE_LABELS)
    # what the decision dossier and the reports call each decision's outcome
    assert set(DECISIONS.values()) == set(OUTCOME_LABELS) == set(REPORTED_OUTCOMES)


def test_the_months_and_the_choices_are_complete() -> None:
    assert len(MONTHS_EN) == 12
    assert MONTHS_EN[0] == "January"
    assert set(CATALOGUE["choices"]["recommendation"]) == set(RECOMMENDATIONS)
    assert set(CATALOGUE["choices"]["status"]) == set(PROGRESS_STATUSES)


def test_a_label_in_either_language_and_the_key_itself_when_none_is_known() -> None:
    assert state_label("follow_up") == "Uppföljning"
    assert state_label("follow_up", "en") == "Follow-up"
    assert outcome_label("referred_back") == "Återremiss"
    assert choice_label("recommendation", "approve", "en") == "Approve"
    assert choice_label("recommendation", None) == ""
    assert state_label("no_such_state") == "no_such_state"
