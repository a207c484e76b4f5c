"""Words for people: the catalogue (`labels.toml`) of Swedish and English labels and
texts, read once, and dates and times as people read them. Event types and actions are
named by the web UI's timeline and the decision dossier; the UI's own texts
(`ruswf.api.ui.i18n`) and the labels of a form's choices come from the same catalogue."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Stockholm")
"""Times are shown in Swedish time."""

CATALOGUE_FILE = "labels.toml"
"""The catalogue of words for people beside this module: one table a kind of word, each
entry `{sv = ..., en = ...}`."""

Pair = tuple[str, str]
"""A text in Swedish and in English."""


def _load_catalogue() -> dict[str, Any]:
    source = resources.files(__package__).joinpath(CATALOGUE_FILE)
    catalogue: dict[str, Any] = tomllib.loads(source.read_text(encoding="utf-8"))
    return catalogue


def pairs(table: Mapping[str, Mapping[str, str]]) -> dict[str, Pair]:
    """A catalogue table as `{key: (Swedish, English)}`."""
    return {key: (words["sv"], words["en"]) for key, words in table.items()}


CATALOGUE = _load_catalogue()
"""The catalogue, read once."""

EVENT_LABELS = pairs(CATALOGUE["events"])
"""Each event `type` (as in `/history`) → (Swedish, English)."""

ACTION_LABELS = pairs(CATALOGUE["actions"])
"""Each action (and `propose`) → (Swedish, English), as a heading or button text."""

ROLE_LABELS = pairs(CATALOGUE["roles"])
"""Each role → (Swedish, English)."""

STATE_LABELS = pairs(CATALOGUE["states"])
"""Each lifecycle state → (Swedish, English)."""

OUTCOME_LABELS = pairs(CATALOGUE["outcomes"])
"""Each outcome of a decision (`approved`, `rejected`, `deferred`, `referred_back`) →
(Swedish, English), in the order reports list them."""

CHOICE_LABELS: dict[str, dict[str, Pair]] = {
    name: pairs(choices) for name, choices in CATALOGUE["choices"].items()
}
"""For a command field with fixed choices (recommendation, progress status): each
choice → (Swedish, English)."""

MONTHS_SV: tuple[str, ...] = tuple(CATALOGUE["months"]["sv"])
MONTHS_EN: tuple[str, ...] = tuple(CATALOGUE["months"]["en"])


def label(table: Mapping[str, Pair], key: str, lang: str = "sv") -> str:
    """The label of `key` in `lang` (the key itself when the table has none)."""
    found = table.get(key)
    if found is None:
        return key
    return found[1] if lang == "en" else found[0]


def event_label(event_type: str, lang: str = "sv") -> str:
    return label(EVENT_LABELS, event_type, lang)


def action_label(action: str, lang: str = "sv") -> str:
    return label(ACTION_LABELS, action, lang)


def state_label(state: str, lang: str = "sv") -> str:
    return label(STATE_LABELS, state, lang)


def outcome_label(outcome: str, lang: str = "sv") -> str:
    return label(OUTCOME_LABELS, outcome, lang)


def choice_label(field_name: str, value: str | None, lang: str = "sv") -> str:
    """A fixed choice of a command field in words (the value itself when it has none)."""
    return label(CHOICE_LABELS.get(field_name, {}), value or "", lang)


# Both formatters are pure: a page shows the same dates and times again and again
# (every event of a history, every reporting period), so their words are kept.
@functools.lru_cache(maxsize=16384)
def format_date(value: date | str | None, lang: str = "sv") -> str:
    """'1 december 2026' (or 'December 1, 2026' in English)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        day = value.astimezone(ZONE).date() if value.tzinfo else value.date()
    else:
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if lang == "en":
        return f"{MONTHS_EN[day.month - 1]} {day.day}, {day.year}"
    return f"{day.day} {MONTHS_SV[day.month - 1]} {day.year}"


@functools.lru_cache(maxsize=16384)
def format_time(value: datetime | str | None, lang: str = "sv") -> str:
    """'1 december 2026 19:16' in Europe/Stockholm."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    local = moment.astimezone(ZONE)
    return f"{format_date(local.date(), lang)} {local:%H:%M}"
