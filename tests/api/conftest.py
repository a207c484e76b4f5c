"""API fixtures: the ASGI app on a fresh store, a token per role, initiatives in any state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ruswf.api.main import create_app
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.commands import ActorRef, Approve, Propose, RecordPreparation, Schedule, Submit
from ruswf.domain.lifecycle import Action
from ruswf.domain.strategy import Strategy
from tests.domain.driver import example_body

LEAD = "sundsvall"
OTHER_ORG = "kramfors"
FIRST_MEETING = "2026-01-15"  # RSR's first meeting of 2026 in the shipped annual cycle
LATER_MEETING = "2026-02-19"

# One user per role; the coordinator belongs to the lead actor of the test initiatives.
USERS: dict[str, tuple[str, str, str]] = {
    "coordinator": ("anna", "coordinator", LEAD),
    "other_coordinator": ("olle", "coordinator", OTHER_ORG),
    "preparer": ("per", "preparer", "region_vasternorrland"),
    "secretary": ("sara", "secretary", "region_vasternorrland"),
    "auditor": ("aud", "auditor", "lansstyrelsen"),
    "reporter": ("rep", "reporter", "region_vasternorrland"),
    "admin": ("adm", "admin", "region_vasternorrland"),
}

# A valid body for each action, for an initiative readied by `ready_for`: the
# definitions' examples, with this initiative's meetings and period.
VALID_BODIES: dict[str, dict[str, Any]] = {
    action.value: example_body(action, **on_this_initiative)
    for action, on_this_initiative in {
        Action.SUBMIT: {},
        Action.REVISE: {"summary": "Reviderad sammanfattning."},
        Action.RETURN_FOR_REVISION: {},
        Action.RECORD_PREPARATION: {},
        Action.SCHEDULE: {"council": "rsr", "meeting_date": FIRST_MEETING},
        Action.APPROVE: {},
        Action.REJECT: {},
        Action.DEFER: {"meeting_date": LATER_MEETING},
        Action.REFER_BACK: {},
        Action.REPORT_PROGRESS: {"period": "2026-T1", "indicator_values": None, "lessons": None},
        Action.CLOSE: {},
        Action.WITHDRAW: {},
    }.items()
}


@pytest.fixture
def tokens(settings: Settings, strategy: Strategy) -> Iterator[dict[str, str]]:
    """A bearer token for each user in USERS."""
    store = TokenStore(settings, strategy)
    try:
        yield {name: store.create(*user)[1] for name, user in USERS.items()}
    finally:
        store.close()


@pytest.fixture
def client(settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def auth(tokens: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """Headers authenticating as one of USERS."""
    return lambda who: {"Authorization": f"Bearer {tokens[who]}"}


def actor(who: str) -> ActorRef:
    user, role, organisation = USERS[who]
    return ActorRef(user=user, organisation=organisation, role=role)


@pytest.fixture
def ready_for(app: RusApp, content: dict[str, object]) -> Callable[[str], str]:
    """An initiative (led by LEAD) in a state where `action` is allowed; returns its id."""

    def make(action: str) -> str:
        coordinator, preparer, secretary = (
            actor("coordinator"),
            actor("preparer"),
            actor("secretary"),
        )
        initiative = app.propose(Propose(**content), coordinator).id
        if action in ("submit", "revise", "withdraw"):
            return initiative
        app.execute(initiative, Submit(), coordinator)
        if action in ("return_for_revision", "record_preparation"):
            return initiative
        app.execute(initiative, RecordPreparation(memo="PM", recommendation="approve"), preparer)
        if action == Action.SCHEDULE.value:
            return initiative
        app.execute(initiative, Schedule(council="rsr", meeting_date=FIRST_MEETING), preparer)
        if action in ("approve", "reject", "defer", "refer_back"):
            return initiative
        app.execute(initiative, Approve(decision_text="Godkänd."), secretary)
        return initiative

    return make
