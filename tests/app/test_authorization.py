"""The role table: who may take which action, generated from `ROLE_ACTIONS` and `Action`."""

from __future__ import annotations

import pytest

from ruswf.app.authorization import (
    LEAD_ACTOR_BOUND,
    PROPOSE,
    ROLE_ACTIONS,
    Role,
    may_act,
    roles_for,
)
from ruswf.domain.lifecycle import Action

EVERY_ACTION = [PROPOSE, *(a.value for a in Action)]
MATRIX = [pytest.param(r, a, id=f"{r.value}-{a}") for r in Role for a in EVERY_ACTION]


def test_every_role_has_a_row() -> None:
    assert set(ROLE_ACTIONS) == set(Role)


@pytest.mark.parametrize("action", EVERY_ACTION)
def test_every_action_is_granted_to_exactly_one_role(action: str) -> None:
    """Separation of duties: no action is shared, none is forgotten."""
    assert len(roles_for(action)) == 1


@pytest.mark.parametrize(("role", "action"), MATRIX)
def test_role_may_act_on_its_own_organisations_initiative_only_if_granted(
    role: Role, action: str
) -> None:
    assert may_act(role, "sundsvall", action, "sundsvall") is (action in ROLE_ACTIONS[role])


@pytest.mark.parametrize(("role", "action"), MATRIX)
def test_only_lead_actor_bound_roles_are_limited_to_their_organisation(
    role: Role, action: str
) -> None:
    granted = action in ROLE_ACTIONS[role]
    expected = granted and role not in LEAD_ACTOR_BOUND
    assert may_act(role, "kramfors", action, "sundsvall") is expected


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.REPORTER, Role.ADMIN])
def test_reading_roles_have_no_workflow_actions(role: Role) -> None:
    assert ROLE_ACTIONS[role] == frozenset()


def test_coordinator_is_bound_to_the_lead_actor() -> None:
    assert frozenset({Role.COORDINATOR}) == LEAD_ACTOR_BOUND
