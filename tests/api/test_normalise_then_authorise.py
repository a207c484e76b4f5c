"""Finding 1 and 4 of the security review, over HTTP: an organisation id is compared
after it is normalised, and a keyed retry is authorised like a first request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import OTHER_ORG

Auth = Callable[[str], dict[str, str]]
DISGUISES = [
    f" {OTHER_ORG}",
    f"{OTHER_ORG} ",
    f"{OTHER_ORG}\u00a0",  # no-break space
    f"\u2003{OTHER_ORG}",  # em space
    f"{OTHER_ORG}\u3000",  # ideographic space
    OTHER_ORG.capitalize(),
    OTHER_ORG.upper(),
]


@pytest.mark.parametrize("lead", DISGUISES, ids=repr)
def test_a_coordinator_cannot_propose_in_another_organisations_disguised_name(
    client: TestClient, auth: Auth, content: dict[str, Any], lead: str
) -> None:
    answer = client.post(
        "/api/v1/initiatives", json={**content, "lead_actor": lead}, headers=auth("coordinator")
    )
    assert answer.status_code in (403, 422), answer.text
    listed = client.get("/api/v1/initiatives", headers=auth("reporter")).json()
    assert listed["total"] == 0


def test_a_propose_key_replayed_by_the_same_user_as_admin_is_refused(
    client: TestClient, auth: Auth, content: dict[str, Any], tokens: dict[str, str]
) -> None:
    """The admin token belongs to another user here; the service test covers the same
    user id and organisation in another role (tests/app/test_authorise_first.py)."""
    key = {"Idempotency-Key": "k-admin"}
    first = client.post("/api/v1/initiatives", json=content, headers={**auth("coordinator"), **key})
    assert first.status_code == 201
    again = client.post("/api/v1/initiatives", json=content, headers={**auth("admin"), **key})
    assert again.status_code == 403
