"""The full role × action matrix, generated from the authorization table."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from ruswf.app.authorization import ROLE_ACTIONS, Role
from ruswf.domain.lifecycle import Action
from tests.api.conftest import VALID_BODIES

MATRIX = [(role, action) for role in Role for action in Action]


@pytest.mark.parametrize(
    ("role", "action"), MATRIX, ids=[f"{r.value}-{a.value}" for r, a in MATRIX]
)
def test_role_may_take_exactly_the_actions_of_its_row(
    client: TestClient,
    auth: Callable[[str], dict[str, str]],
    ready_for: Callable[[str], str],
    role: Role,
    action: Action,
) -> None:
    initiative = ready_for(action.value)
    response = client.post(
        f"/api/v1/initiatives/{initiative}/actions/{action.value}",
        json=VALID_BODIES[action.value],
        headers=auth(role.value),
    )
    if action.value in ROLE_ACTIONS[role]:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403, response.text
        assert role.value not in response.json()["needed_roles"]


def test_every_action_has_a_valid_body_in_the_matrix() -> None:
    assert set(VALID_BODIES) == {a.value for a in Action}
