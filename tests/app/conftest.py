"""Fixtures of the application tests: actors by role and a driver for the lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ruswf.app.authorization import ROLE_ACTIONS, Role
from ruswf.app.service import RusApp
from ruswf.app.views import InitiativeView
from ruswf.domain.initiative import ActorRef

# A body for every action that the service accepts on the standard initiative.
BODIES: dict[str, dict[str, Any]] = {
    "submit": {"comment": "Till beredning."},
    "revise": {"summary": "Analys av besöksnäringens utveckling, reviderad."},
    "return_for_revision": {"reason": "Målen behöver förtydligas."},
    "record_preparation": {"memo": "Beredd i RUS-gruppen.", "recommendation": "approve"},
    "schedule": {"council": "rsr", "meeting_date": "2026-05-21"},
    "approve": {"decision_text": "Rådet ställer sig bakom insatsen."},
    "reject": {"reason": "Ryms inte inom prioriteringarna."},
    "defer": {"reason": "Underlaget behöver kompletteras.", "meeting_date": "2026-06-18"},
    "refer_back": {"reason": "Förankra med kommunerna."},
    "report_progress": {
        "period": "2026-T2",
        "status": "on_track",
        "narrative": "Enligt plan.",
        "indicator_values": {"Nya företag": 3},
    },
    "close": {"final_report": "Målen är nådda.", "lessons": ["Förankra tidigt."]},
    "withdraw": {"reason": "Finansieringen föll bort."},
}

Drive = Callable[..., InitiativeView]


@pytest.fixture
def actors(coordinator: ActorRef, preparer: ActorRef, secretary: ActorRef) -> dict[Role, ActorRef]:
    return {
        Role.COORDINATOR: coordinator,
        Role.PREPARER: preparer,
        Role.SECRETARY: secretary,
        Role.AUDITOR: ActorRef("aud-1", "region_vasternorrland", "auditor"),
        Role.REPORTER: ActorRef("rep-1", "region_vasternorrland", "reporter"),
        Role.ADMIN: ActorRef("adm-1", "region_vasternorrland", "admin"),
    }


@pytest.fixture
def drive(app: RusApp, actors: dict[Role, ActorRef]) -> Drive:
    """`drive(initiative_id, *actions)`: each action by the role that may take it."""

    def run(initiative_id: str, *actions: str) -> InitiativeView:
        view = app.get_initiative(initiative_id)
        for action in actions:
            role = next(r for r in Role if action in ROLE_ACTIONS[r])
            view = app.act(initiative_id, action, actors[role], BODIES[action])
        return view

    return run


@pytest.fixture
def proposed(app: RusApp, coordinator: ActorRef, content: dict[str, object]) -> str:
    """The id of a new initiative in `proposal`, led by the coordinator's organisation."""
    return app.propose(coordinator, content).id
