"""Calendar fixtures: the API on a fresh store (SQLite and PostgreSQL), a token per role,
and an initiative on a meeting's agenda."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose, RecordPreparation, Schedule, Submit
from tests.api.conftest import USERS, actor, auth, client, tokens

__all__ = ["USERS", "actor", "auth", "client", "tokens"]  # the API tests' users and fixtures

MEETING = "rsr-2026-02-19"
"""RSR's meeting of 19 February 2026 in the shipped annual cycle."""


@pytest.fixture
def admin() -> ActorRef:
    return actor("admin")


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
