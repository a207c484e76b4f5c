"""Validation of an initiative's content and of free-text input, against the strategy."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import Strategy

TITLE_MAX = 200
TEXT_MAX = 20_000
LIST_MAX = 100

CONTENT_FIELDS = (
    "title",
    "summary",
    "goal_area",
    "lead_actor",
    "priorities",
    "partner_actors",
    "principles",
    "arena",
    "indicators",
    "contact_person",
)
REQUIRED_FIELDS = ("title", "summary", "goal_area", "lead_actor")


def text(value: object, field: str, *, max_length: int = TEXT_MAX, required: bool = True) -> str:
    """A trimmed text; required texts must not be blank."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if "\x00" in value:
        raise ValidationError(field, "must not contain NUL characters")
    stripped = value.strip()
    if required and not stripped:
        raise ValidationError(field, "must not be empty")
    if len(stripped) > max_length:
        raise ValidationError(field, f"must be at most {max_length} characters")
    return stripped


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """A number (not a bool) that is finite; an int too large for a float is not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # e.g. 10**400, which JSON allows
        return False


def number(value: object, field: str) -> float | int | None:
    if value is None:
        return None
    if not is_finite_number(value):
        raise ValidationError(field, "must be a finite number or null")
    return value


def texts(value: object, field: str, *, min_items: int = 0) -> list[str]:
    """A list of non-blank texts."""
    if value is None:
        value = []
    if not isinstance(value, list):
        raise ValidationError(field, "must be a list of strings")
    if len(value) > LIST_MAX:
        raise ValidationError(field, f"must have at most {LIST_MAX} entries")
    items = [text(item, f"{field}[{i}]") for i, item in enumerate(value)]
    if len(items) < min_items:
        raise ValidationError(
            field, f"must have at least {min_items} entr{'y' if min_items == 1 else 'ies'}"
        )
    return items


def _ids(value: object, field: str, known: set[str], what: str) -> list[str]:
    items = texts(value, field)
    for index, item in enumerate(items):
        if item not in known:
            raise ValidationError(f"{field}[{index}]", f"unknown {what} {item!r}")
    if len(set(items)) != len(items):
        raise ValidationError(field, "must not repeat an entry")
    return items


def _indicators(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError("indicators", "must be a list of indicators")
    if len(value) > LIST_MAX:
        raise ValidationError("indicators", f"must have at most {LIST_MAX} entries")
    result: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        where = f"indicators[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationError(where, "must be an object with name, unit, baseline, target")
        unknown = set(item) - {"name", "unit", "baseline", "target"}
        if unknown:
            raise ValidationError(f"{where}.{sorted(unknown)[0]}", "unknown field")
        result.append(
            {
                "name": text(item.get("name"), f"{where}.name", max_length=TITLE_MAX),
                "unit": text(item.get("unit"), f"{where}.unit", max_length=TITLE_MAX),
                "baseline": number(item.get("baseline"), f"{where}.baseline"),
                "target": number(item.get("target"), f"{where}.target"),
            }
        )
    names = [i["name"] for i in result]
    if len(set(names)) != len(names):
        raise ValidationError("indicators", "indicator names must be unique")
    return result


def _arena(value: object, strategy: Strategy) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    known = {a.id for a in strategy.arenas}
    if isinstance(value, bool) or not isinstance(value, int) or value not in known:
        raise ValidationError("arena", f"must be one of {sorted(known)}")
    return value


def validate_field(strategy: Strategy, name: str, value: object) -> Any:
    """One content field, validated and normalised."""
    if name == "title":
        return text(value, name, max_length=TITLE_MAX)
    if name == "summary":
        return text(value, name)
    if name == "goal_area":
        goal = text(value, name, max_length=TITLE_MAX)
        if strategy.goal_area(goal) is None:
            known = ", ".join(g.id for g in strategy.goal_areas)
            raise ValidationError(name, f"unknown goal area {goal!r} (known: {known})")
        return goal
    if name == "lead_actor":
        lead = text(value, name, max_length=TITLE_MAX)
        if strategy.actor(lead) is None:
            raise ValidationError(name, f"unknown actor {lead!r}")
        return lead
    if name == "priorities":
        return _ids(value, name, {p.id for p in strategy.priorities}, "priority")
    if name == "partner_actors":
        return _ids(value, name, {a.id for a in strategy.actors}, "actor")
    if name == "principles":
        return _ids(value, name, {p.id for p in strategy.principles}, "principle")
    if name == "arena":
        return _arena(value, strategy)
    if name == "indicators":
        return _indicators(value)
    if name == "contact_person":
        return _person_id(value)
    raise ValidationError(name, "unknown field")


# A contact person is referenced by the id of an entry in the erasable people registry
# (`ruswf gdpr register`), never by name, e-mail or phone: events keep no personal data.
PERSON_ID = re.compile(r"^p_[0-9a-f]{16}$")


def _person_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not PERSON_ID.match(value.strip()):
        raise ValidationError(
            "contact_person", "must be a person id from the people registry (p_ and 16 hex digits)"
        )
    return value.strip()


def validate_content(strategy: Strategy, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A complete content for a new initiative."""
    for name in raw:
        if name not in CONTENT_FIELDS:
            raise ValidationError(name, "unknown field")
    for name in REQUIRED_FIELDS:
        if raw.get(name) is None:
            raise ValidationError(name, "is required")
    content = {name: validate_field(strategy, name, raw.get(name)) for name in CONTENT_FIELDS}
    _check_partners(content)
    return content


def validate_changes(
    strategy: Strategy, current: Mapping[str, Any], raw: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields a revision really changes, validated; raises if it changes nothing."""
    changes: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in CONTENT_FIELDS:
            raise ValidationError(name, "unknown field")
        if name in REQUIRED_FIELDS and value is None:
            raise ValidationError(name, "must not be null")
        normalised = validate_field(strategy, name, value)
        if normalised != current.get(name):
            changes[name] = normalised
    if not changes:
        raise ValidationError("body", "the revision changes no field")
    _check_partners({**current, **changes})
    return changes


def _check_partners(content: Mapping[str, Any]) -> None:
    if content["lead_actor"] in content["partner_actors"]:
        raise ValidationError("partner_actors", "must not include the lead actor")
