"""The catalogue of words for people (`ruswf/app/labels.toml`): complete in both
languages, and naming everything the UI labels (no store needed)."""

from __future__ import annotations

from typing import Any

from ruswf.app.authorization import Role
from ruswf.app.labels import ACTION_LABELS, CATALOGUE, EVENT_LABELS, MONTHS_EN, ROLE_LABELS
from ruswf.domain.commands import RECOMMENDATIONS
from ruswf.domain.initiative import Initiative
from ruswf.domain.lifecycle import Action


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


def test_every_event_action_and_role_has_a_label() -> None:
    events = {
        name
        for name, value in vars(Initiative).items()
        if isinstance(value, type) and issubclass(value, Initiative.Event | Initiative.Proposed)
    }
    # the bases of the events, never recorded themselves
    assert events - {"Event", "Created", "Decided"} == set(EVENT_LABELS)
    assert {a.value for a in Action} | {"propose"} == set(ACTION_LABELS)
    assert {r.value for r in Role} == set(ROLE_LABELS)


def test_the_months_and_the_choices_are_complete() -> None:
    assert len(MONTHS_EN) == 12
    assert MONTHS_EN[0] == "January"
    assert set(CATALOGUE["choices"]["recommendation"]) == set(RECOMMENDATIONS)
