"""The auditor's HTTP endpoints: dossier (JSON and HTML), diff, verify, the ledger's
head, and the people registry — through the ASGI app, on both stores."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ruswf.app.audit.ledger import Ledger
from ruswf.app.service import RusApp
from tests.api.conftest import auth, client, tokens  # noqa: F401  (fixtures shared with tests/api)
from tests.audit.conftest import RawStore

Auth = Callable[[str], dict[str, str]]
BASE = "/api/v1/initiatives"


def test_dossier_answers_json_and_a_printable_html_page(
    client: TestClient,  # noqa: F811  (the fixture imported above)
    auth: Auth,  # noqa: F811
    decided: str,
) -> None:
    url = f"{BASE}/{decided}/decisions/3/dossier"
    body = client.get(url, headers=auth("auditor")).json()
    assert body["decision"]["outcome"] == "approved"
    assert body["initiative"]["title"] == "Branschanalys 2.0"
    page = client.get(url, headers={**auth("auditor"), "Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Beslutsunderlag: Branschanalys 2.0</h1>" in page.text
    by_query = client.get(url + "?format=html", headers=auth("secretary"))
    assert by_query.headers["content-type"].startswith("text/html")
    assert client.get(url, headers=auth("reporter")).status_code == 403


def test_decisions_are_listed_with_their_dossiers(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    decided: str,
) -> None:
    listed = client.get(f"{BASE}/{decided}/decisions", headers=auth("preparer")).json()
    assert [d["type"] for d in listed["items"]] == ["Deferred", "ReferredBack", "Approved"]
    assert listed["items"][0]["dossier"].endswith("/decisions/1/dossier")


def test_dossier_of_a_decision_never_taken_is_a_404_problem(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    decided: str,
) -> None:
    response = client.get(f"{BASE}/{decided}/decisions/4/dossier", headers=auth("auditor"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "has no decision 4" in response.json()["detail"]


def test_diff_endpoint_for_readers_of_history_only(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    decided: str,
) -> None:
    found = client.get(f"{BASE}/{decided}/diff?from=6&to=7", headers=auth("coordinator")).json()
    assert [c["field"] for c in found["fields"]] == ["title"]
    latest = client.get(f"{BASE}/{decided}/diff?from=9", headers=auth("auditor")).json()
    assert latest["to"] == 10
    assert client.get(f"{BASE}/{decided}/diff?from=1", headers=auth("reporter")).status_code == 403
    backwards = client.get(f"{BASE}/{decided}/diff?from=5&to=4", headers=auth("auditor"))
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "to"


def test_verify_endpoint_names_the_row_altered_with_sql(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    app: RusApp,
    raw: RawStore,
    decided: str,
) -> None:
    Ledger(app).seal()
    body = client.get("/api/v1/audit/verify", headers=auth("auditor")).json()
    assert (body["ok"], body["checked"], body["first_bad"]) == (True, 10, None)
    assert body["sealed"] + body["pending"] == 10
    raw.alter(10, "RSR st", "RSR xx")
    bad = client.get("/api/v1/audit/verify", headers=auth("admin")).json()
    assert bad["ok"] is False
    assert (bad["first_bad"]["position"], bad["first_bad"]["problem"]) == (10, "altered")


def test_audit_head_for_auditors(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    app: RusApp,
    decided: str,
) -> None:
    Ledger(app).seal()
    head = client.get("/api/v1/audit/head", headers=auth("auditor")).json()
    assert (head["position"], head["count"], head["signature"]) == (10, 10, None)
    assert head["ledger_hash"] == Ledger(app).head().ledger_hash
    assert client.get("/api/v1/audit/head", headers=auth("secretary")).status_code == 403


def test_people_registry_register_read_and_erase_by_role(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    content: dict[str, Any],
) -> None:
    person = {"name": "Greta Personsdotter", "email": "greta@example.se"}
    key = {"Idempotency-Key": "person-1"}
    created = client.post("/api/v1/people", json=person, headers={**auth("coordinator"), **key})
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    assert created.headers["location"].endswith(person_id)
    again = client.post("/api/v1/people", json=person, headers={**auth("coordinator"), **key})
    assert again.json()["id"] == person_id
    other = client.post(
        "/api/v1/people", json={"name": "Annan"}, headers={**auth("coordinator"), **key}
    )
    assert other.status_code == 422
    assert client.post("/api/v1/people", json=person, headers=auth("auditor")).status_code == 403
    assert client.get(f"/api/v1/people/{person_id}", headers=auth("reporter")).status_code == 403
    assert client.get(f"/api/v1/people/{person_id}", headers=auth("auditor")).json()["email"] == (
        "greta@example.se"
    )
    proposed = client.post(
        BASE, json={**content, "contact_person": person_id}, headers=auth("coordinator")
    )
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["contact_person"] == person_id
    assert client.delete(
        f"/api/v1/people/{person_id}", headers=auth("coordinator")
    ).status_code == (403)
    erased = client.delete(f"/api/v1/people/{person_id}", headers=auth("admin"))
    assert erased.status_code == 200
    assert (erased.json()["name"], erased.json()["erased"]) == ("[raderad]", True)
    missing = client.get("/api/v1/people/p_0000000000000000", headers=auth("admin"))
    assert missing.status_code == 404


@pytest.mark.parametrize("value", ["greta@example.se", "Greta Personsdotter", "p_123"])
def test_an_initiative_refuses_a_contact_that_is_not_a_person_id(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    content: dict[str, Any],
    value: str,
) -> None:
    response = client.post(
        BASE, json={**content, "contact_person": value}, headers=auth("coordinator")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "contact_person"


def test_the_serving_process_seals_new_events_in_the_background(
    client: TestClient,  # noqa: F811
    auth: Auth,  # noqa: F811
    content: dict[str, Any],
) -> None:
    client.post(BASE, json=content, headers=auth("coordinator"))
    deadline = time.monotonic() + 10
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get("/api/v1/audit/verify", headers=auth("auditor")).json()
        if body["pending"] == 0:
            break
        time.sleep(0.1)
    assert (body["ok"], body["sealed"], body["pending"]) == (True, 1, 0)
