"""Findings 5 and 13: the people registry's idempotency keys belong to a user (id and
organisation together) and die with an erasure; coordinators read only their own
organisation's contact persons."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.strategy import Strategy

KEY = {"Idempotency-Key": "kontakt-1"}


@pytest.fixture
def same_user_two_orgs(settings: Settings, strategy: Strategy) -> Iterator[dict[str, str]]:
    """`coordA` of sundsvall and `coordA` of harnosand: two people with one user id."""
    store = TokenStore(settings, strategy)
    try:
        yield {
            org: {"Authorization": f"Bearer {store.create('coordA', 'coordinator', org)[1]}"}
            for org in ("sundsvall", "harnosand")
        }
    finally:
        store.close()


def test_same_user_id_of_another_organisation_does_not_replay_the_first_person(
    client: TestClient, same_user_two_orgs: dict[str, dict[str, str]]
) -> None:
    sundsvall = client.post(
        "/api/v1/people",
        json={"name": "Sara Sundsvall", "organisation": "sundsvall"},
        headers={**same_user_two_orgs["sundsvall"], **KEY},
    )
    harnosand = client.post(
        "/api/v1/people",
        json={"name": "Hanna Härnösand", "organisation": "harnosand"},
        headers={**same_user_two_orgs["harnosand"], **KEY},
    )
    assert sundsvall.status_code == harnosand.status_code == 201
    assert harnosand.json()["id"] != sundsvall.json()["id"]
    assert harnosand.json()["name"] == "Hanna Härnösand"


def test_key_of_an_erased_person_is_refused_not_replayed(
    client: TestClient,
    auth: Callable[[str], dict[str, str]],
    same_user_two_orgs: dict[str, dict[str, str]],
) -> None:
    headers = {**same_user_two_orgs["sundsvall"], **KEY}
    first = client.post(
        "/api/v1/people",
        json={"name": "Sara Sundsvall", "organisation": "sundsvall"},
        headers=headers,
    )
    erased = client.delete(f"/api/v1/people/{first.json()['id']}", headers=auth("admin"))
    assert erased.status_code in (200, 202)
    again = client.post(
        "/api/v1/people", json={"name": "Någon Annan", "organisation": "sundsvall"}, headers=headers
    )
    assert again.status_code in (409, 422), again.text
    assert "Idempotency-Key" in again.text
    assert "[raderad]" not in again.text


def test_coordinator_reads_only_own_organisations_contact_persons(
    client: TestClient,
    auth: Callable[[str], dict[str, str]],
    same_user_two_orgs: dict[str, dict[str, str]],
) -> None:
    person = client.post(
        "/api/v1/people",
        json={"name": "Sara Sundsvall", "organisation": "sundsvall"},
        headers=same_user_two_orgs["sundsvall"],
    ).json()
    path = f"/api/v1/people/{person['id']}"
    assert client.get(path, headers=same_user_two_orgs["sundsvall"]).status_code == 200
    other = client.get(path, headers=same_user_two_orgs["harnosand"])
    assert other.status_code == 403, other.text
    assert "Sara" not in other.text
    for role in ("admin", "auditor", "preparer"):
        assert client.get(path, headers=auth(role)).status_code == 200


def test_coordinator_registers_contact_persons_of_its_own_organisation_only(
    client: TestClient, same_user_two_orgs: dict[str, dict[str, str]]
) -> None:
    headers = same_user_two_orgs["sundsvall"]
    other = client.post(
        "/api/v1/people", json={"name": "Hanna", "organisation": "harnosand"}, headers=headers
    )
    assert other.status_code == 403, other.text
    default = client.post("/api/v1/people", json={"name": "Sara"}, headers=headers)
    assert default.status_code == 201, default.text
    assert default.json()["organisation"] == "sundsvall"
    assert client.get(f"/api/v1/people/{default.json()['id']}", headers=headers).status_code == 200
