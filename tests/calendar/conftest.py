"""Calendar fixtures: the API on a fresh store (SQLite and PostgreSQL), a token per role,
and an initiative on a meeting's agenda."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ruswf.api.main import create_app
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.commands import ActorRef, Propose, RecordPreparation, Schedule, Submit
from ruswf.domain.strategy import Strategy

USERS: dict[str, tuple[str, str, str]] = {
    "coordinator": ("anna", "coordinator", "sundsvall"),
    "preparer": ("per", "preparer", "region_vasternorrland"),
    "secretary": ("sara", "secretary", "region_vasternorrland"),
    "auditor": ("aud", "auditor", "lansstyrelsen"),
    "reporter": ("rep", "reporter", "region_vasternorrland"),
    "admin": ("adm", "admin", "region_vasternorrland"),
}
MEETING = "rsr-2026-02-19"
"""RSR's meeting of 19 February 2026 in the shipped annual cycle."""


def actor(who: str) -> ActorRef:
    user, role, organisation = USERS[who]
    return ActorRef(user=user, organisation=organisation, role=role)


@pytest.fixture
def admin() -> ActorRef:
    return actor("admin")


@pytest.fixture
def tokens(settings: Settings, strategy: Strategy) -> Iterator[dict[str, str]]:
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
    return lambda who: {"Authorization": f"Bearer {tokens[who]}"}


@pytest.fixture
def on_agenda(app: RusApp, content: dict[str, Any]) -> Callable[[str], str]:
    """An initiative (led by Sundsvall) scheduled for the RSR meeting on `day`."""

    def make(day: str = "2026-02-19") -> str:
        initiative = app.propose(Propose(**content), actor("coordinator")).id
        app.execute(initiative, Submit(), actor("coordinator"))
        app.execute(
            initiative, RecordPreparation(memo="PM", recommendation="approve"), actor("preparer")
        )
        app.execute(initiative, Schedule(council="rsr", meeting_date=day), actor("preparer"))
        return initiative

    return make
