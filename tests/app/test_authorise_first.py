"""Normalise first, then authorise; a keyed retry is authorised like a first request."""

from __future__ import annotations

from typing import Any

import pytest

from ruswf.app.errors import PermissionDeniedError
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose, Revise, Submit
from ruswf.domain.errors import ValidationError

OTHER_ORGANISATION = "harnosand"
# Ways to spell another organisation's id that a careless check would not recognise.
DISGUISES = [
    " harnosand",
    "harnosand ",
    "harnosand\u00a0",  # no-break space
    "\u2003harnosand",  # em space
    "harnosand\u3000",  # ideographic space
    "\tharnosand\n",
    "Harnosand",
    "HARNOSAND",
]


@pytest.mark.parametrize("lead", DISGUISES, ids=repr)
def test_a_coordinator_cannot_propose_in_another_organisations_disguised_name(
    app: RusApp, coordinator: ActorRef, content: dict[str, Any], lead: str
) -> None:
    with pytest.raises((PermissionDeniedError, ValidationError)):
        app.propose(Propose(**{**content, "lead_actor": lead}), coordinator)
    assert app.recorder.max_notification_id() in (None, 0)


@pytest.mark.parametrize("lead", DISGUISES, ids=repr)
def test_a_coordinator_cannot_hand_an_initiative_to_a_disguised_other_organisation(
    app: RusApp, coordinator: ActorRef, proposed: str, lead: str
) -> None:
    with pytest.raises((PermissionDeniedError, ValidationError)):
        app.execute(proposed, Revise(changes={"lead_actor": lead}), coordinator)
    assert app.get_initiative(proposed).version == 1


def test_the_lead_actor_is_stored_normalised(
    app: RusApp, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    view = app.propose(
        Propose(**{**content, "lead_actor": f" {coordinator.organisation}\u00a0"}), coordinator
    )
    assert view.lead_actor == coordinator.organisation


def test_a_keyed_propose_replayed_by_the_same_user_in_another_role_is_refused(
    app: RusApp, coordinator: ActorRef, content: dict[str, Any]
) -> None:
    app.propose(Propose(**content), coordinator, idempotency_key="k-1")
    as_admin = ActorRef(coordinator.user, coordinator.organisation, "admin")
    with pytest.raises(PermissionDeniedError):
        app.propose(Propose(**content), as_admin, idempotency_key="k-1")


def test_a_keyed_action_replayed_by_the_same_user_in_another_role_is_refused(
    app: RusApp, coordinator: ActorRef, proposed: str
) -> None:
    app.execute(proposed, Submit(), coordinator, idempotency_key="k-2")
    as_reporter = ActorRef(coordinator.user, coordinator.organisation, "reporter")
    with pytest.raises(PermissionDeniedError):
        app.execute(proposed, Submit(), as_reporter, idempotency_key="k-2")


def test_a_keyed_retry_by_the_same_caller_still_answers_the_first_result(
    app: RusApp, coordinator: ActorRef, proposed: str
) -> None:
    first = app.execute(proposed, Submit(), coordinator, idempotency_key="k-3")
    again = app.execute(proposed, Submit(), coordinator, idempotency_key="k-3")
    assert (again.version, again.state) == (first.version, first.state)
