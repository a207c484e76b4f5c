"""Replay for auditors: an initiative's history as it stood, and what changed between two
versions — which fields, by whom, why (`ruswf audit history`, `ruswf audit diff`,
`GET /api/v1/initiatives/{id}/diff`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ruswf.app.service import RusApp
from ruswf.app.views import EventView
from ruswf.domain.errors import ValidationError

# View fields that are not facts of the initiative (or change with every event).
NOT_COMPARED = frozenset({"allowed_actions", "version", "updated_at", "state_label"})
# Event fields that say why something was done.
WHY_FIELDS = ("reason", "comment", "decision_text", "memo", "narrative", "final_report")
MAX_DIFF_SPAN = 2000


def why(event: EventView) -> str | None:
    """The reason, comment or text an event gives for itself (None: none given)."""
    for name in WHY_FIELDS:
        value = event.data.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def history_as_of(
    app: RusApp,
    initiative_id: object,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
) -> tuple[dict[str, Any], list[EventView]]:
    """The initiative as it stood (now, at `version` or at `as_of`) and its events up to
    then."""
    view = app.get_initiative(initiative_id, version=version, as_of=as_of)
    events = [e for e in app.history(initiative_id) if e.version <= view.version]
    return view.as_dict(), events


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each compared field whose value differs, with both values."""
    names = [n for n in after if n not in NOT_COMPARED]
    names += [n for n in before if n not in NOT_COMPARED and n not in after]
    return [
        {"field": name, "from": before.get(name), "to": after.get(name)}
        for name in names
        if before.get(name) != after.get(name)
    ]


def diff(app: RusApp, initiative_id: object, first: int, second: int) -> dict[str, Any]:
    """What changed from version `first` to version `second` (first ≤ second): the
    fields, and each event between them with who did it, when, why and what it changed."""
    if first < 1:
        raise ValidationError("from", "must be at least 1")
    if second < first:
        raise ValidationError("to", f"must not be before 'from' ({first})")
    if second - first > MAX_DIFF_SPAN:
        raise ValidationError("to", f"at most {MAX_DIFF_SPAN} versions apart")
    views = {v: app.get_initiative(initiative_id, version=v).as_dict() for v in (first, second)}
    events = [e for e in app.history(initiative_id) if first < e.version <= second]
    steps: list[dict[str, Any]] = []
    before = views[first]
    for event in events:
        after = (
            views[second]
            if event.version == second
            else app.get_initiative(initiative_id, version=event.version).as_dict()
        )
        steps.append(
            {
                "version": event.version,
                "type": event.type,
                "recorded_at": event.recorded_at,
                "effective_date": event.effective_date,
                "actor": event.actor,
                "why": why(event),
                "changed": [c["field"] for c in changed_fields(before, after)],
                "data": event.data,
            }
        )
        before = after
    return {
        "initiative_id": views[second]["id"],
        "from": first,
        "to": second,
        "fields": changed_fields(views[first], views[second]),
        "events": steps,
    }
