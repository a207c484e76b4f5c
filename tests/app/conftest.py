"""Fixtures of the application tests: actors by role and a driver for the lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ruswf.app.authorization import ROLE_ACTIONS, Role
from ruswf.app.service import RusApp
from ruswf.app.views import InitiativeView
from ruswf.domain.commands import ActorRef, Propose
from ruswf.domain.lifecycle import Action
from tests.domain.driver import example_body

# A body for every action that the service accepts on the standard initiative: the
# definitions' examples, with this initiative's meetings, period and indicator.
BODIES: dict[str, dict[str, Any]] = {
    action.value: example_body(action, **on_the_standard_initiative)
    for action, on_the_standard_initiative in {
        Action.SUBMIT: {},
        Action.REVISE: {"summary": "Analys av besöksnäringens utveckling, reviderad."},
        Action.RETURN_FOR_REVISION: {},
        Action.RECORD_PREPARATION: {},
        Action.SCHEDULE: {"council": "rsr", "meeting_date": "2026-05-21"},
        Action.APPROVE: {},
        Action.REJECT: {},
        Action.DEFER: {"meeting_date": "2026-06-18"},
        Action.REFER_BACK: {},
        Action.REPORT_PROGRESS: {"period": "2026-T2", "indicator_values": {"Nya företag": 3}},
        Action.CLOSE: {},
        Action.WITHDRAW: {},
    }.items()
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
    return app.propose(Propose(**content), coordinator).id
