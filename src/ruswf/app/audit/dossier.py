"""The decision dossier: everything a council had when it decided, as it stood then.

`GET /api/v1/initiatives/{id}/decisions/{n}/dossier` (JSON, or printable HTML). For the
initiative's n-th council decision (approve, reject, defer or refer back, counted from
1 in the order they were recorded), the dossier holds the initiative's content as it
stood just before the decision was recorded, the preparation memo and recommendation,
every earlier decision (deferrals, referrals back), the meeting, the history up to the
decision, and the decision event's seal in the audit ledger (its chain hash), so a
printed dossier can later be checked against the store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader

from ruswf.app.audit.ledger import Ledger
from ruswf.app.audit.people import People
from ruswf.app.errors import AppError
from ruswf.app.labels import choice_label, event_label, format_date, format_time, outcome_label
from ruswf.app.service import RusApp
from ruswf.app.views import EventView
from ruswf.domain.strategy import Strategy

DECISIONS = {
    "Approved": "approved",
    "Rejected": "rejected",
    "Deferred": "deferred",
    "ReferredBack": "referred_back",
}

_templates = Environment(
    loader=PackageLoader("ruswf.app.audit", "templates"),
    autoescape=True,  # every user text is escaped; nothing is marked safe
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters.update(sv_date=format_date, sv_time=format_time, event_label=event_label)


class DecisionNotFoundError(AppError):
    """The initiative has no n-th decision (HTTP 404)."""

    def __init__(self, initiative_id: object, number: int, total: int) -> None:
        super().__init__(f"initiative {initiative_id} has no decision {number} (it has {total})")
        self.number = number
        self.total = total


def decisions(events: list[EventView]) -> list[EventView]:
    """The council's decisions among an initiative's events, in order."""
    return [e for e in events if e.type in DECISIONS]


def _names(strategy: Strategy, view: dict[str, Any]) -> dict[str, Any]:
    goal = strategy.goal_area(view["goal_area"])
    lead = strategy.actor(view["lead_actor"])
    priorities = {p.id: p.name for p in strategy.priorities}
    principles = {p.id: p.name for p in strategy.principles}
    arenas = {a.id: a.name for a in strategy.arenas}
    return {
        "goal_area": goal.name if goal else view["goal_area"],
        "lead_actor": lead.name if lead else view["lead_actor"],
        "partner_actors": [
            (a.name if (a := strategy.actor(p)) else p) for p in view["partner_actors"]
        ],
        "priorities": [priorities.get(p, p) for p in view["priorities"]],
        "principles": [principles.get(p, p) for p in view["principles"]],
        "arena": arenas.get(view["arena"]) if view["arena"] is not None else None,
    }


def _event(e: EventView) -> dict[str, Any]:
    return e.as_dict()


def _decision(strategy: Strategy, e: EventView, number: int) -> dict[str, Any]:
    outcome = DECISIONS[e.type]
    council = strategy.council(e.data["council"])
    return {
        "number": number,
        "version": e.version,
        "type": e.type,
        "outcome": outcome,
        "outcome_label": outcome_label(outcome),
        "text": e.data.get("decision_text") or e.data.get("reason"),
        "council": e.data["council"],
        "council_name": council.name if council else e.data["council"],
        "meeting_date": e.data["meeting_date"],
        "next_meeting_date": e.data.get("next_meeting_date"),
        "recorded_at": e.recorded_at,
        "recorded_by": e.actor,
    }


def build_dossier(
    app: RusApp,
    initiative_id: object,
    number: int,
    *,
    ledger: Ledger,
    people: People,
) -> dict[str, Any]:
    """The dossier of the initiative's `number`-th decision (1-based)."""
    events = app.history(initiative_id)
    found = decisions(events)
    if not 1 <= number <= len(found):
        raise DecisionNotFoundError(initiative_id, number, len(found))
    decided = found[number - 1]
    strategy = app.strategy
    before = app.get_initiative(initiative_id, version=decided.version - 1).as_dict()
    before.pop("allowed_actions", None)
    earlier = [e for e in events if e.version < decided.version]
    preparations = [_event(e) for e in earlier if e.type == "PreparationRecorded"]
    meeting = app.calendar.meeting(  # as adjusted: a moved meeting is found at its new date
        decided.data["council"], date.fromisoformat(decided.data["meeting_date"])
    )
    council = strategy.council(decided.data["council"])
    return {
        "initiative_id": before["id"],
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "decision": _decision(strategy, decided, number),
        "decisions_total": len(found),
        "meeting": {
            "council": decided.data["council"],
            "council_name": council.name if council else decided.data["council"],
            "date": decided.data["meeting_date"],
            "format": meeting.format if meeting else None,
            "period": strategy.period_of(date.fromisoformat(decided.data["meeting_date"])).id,
        },
        "initiative": before,
        "names": _names(strategy, before),
        "contact_person": people.resolve(before.get("contact_person")),
        "preparation": preparations[-1] if preparations else None,
        "preparations": preparations,
        "earlier_decisions": [
            _decision(strategy, e, i + 1) for i, e in enumerate(found[: number - 1])
        ],
        "history": [_event(e) for e in events if e.version <= decided.version],
        "seal": _seal(ledger, before["id"], decided.version),
    }


def _seal(ledger: Ledger, initiative_id: str, version: int) -> dict[str, Any]:
    """The decision event's place in the hash chains, once it is sealed."""
    for row in ledger.chain(initiative_id):
        if row.originator_version == version:
            return {
                "sealed": True,
                "position": row.position,
                "event_hash": row.event_hash,
                "chain_hash": row.chain_hash,
                "ledger_hash": row.ledger_hash,
                "sealed_at": row.sealed_at,
            }
    return {"sealed": False}


def render_html(
    dossier: dict[str, Any], *, stylesheet: str | None = None, back: str | None = None
) -> str:
    """The dossier as a printable HTML page (escaped throughout), in Swedish with Swedish
    dates. Served (`stylesheet`: the web UI's style sheet) it links its style, so a CSP
    without inline styles holds; as a file on its own it carries the style inline.
    `back`: a link back to the initiative (the web UI's page)."""
    return _templates.get_template("dossier.html").render(
        d=dossier,
        stylesheet=stylesheet,
        back=back,
        choice_label=choice_label,
    )
