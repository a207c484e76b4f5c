"""The HTTP contract through the ASGI app, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import LEAD, VALID_BODIES

Auth = Callable[[str], dict[str, str]]
BASE = "/api/v1/initiatives"


def propose(client: TestClient, auth: Auth, content: dict[str, Any], **headers: str) -> Any:
    return client.post(BASE, json=content, headers={**auth("coordinator"), **headers})


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def test_healthz_answers_ok(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_answers_ready_when_store_reachable(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 200


def test_openapi_is_published(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/initiatives/{initiative_id}/actions/approve" in schema["paths"]


def test_strategy_lists_goal_areas_actors_and_councils_with_ids(
    client: TestClient, auth: Auth
) -> None:
    body = client.get("/api/v1/strategy", headers=auth("reporter")).json()
    assert [g["id"] for g in body["goal_areas"]] == ["place", "live", "grow"]
    assert {"id": "sundsvall", "name": "Sundsvalls kommun"}.items() <= next(
        a for a in body["actors"] if a["id"] == "sundsvall"
    ).items()
    assert {c["id"] for c in body["councils"]} == {"rsr", "ssr", "strategic_group"}
    assert len(body["arenas"]) == 4
    assert len(body["principles"]) == 6


def test_propose_answers_201_with_location_and_etag(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    response = propose(client, auth, content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{BASE}/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["state"] == "proposal"
    assert body["version"] == 1
    assert set(body["allowed_actions"]) == {"submit", "revise", "withdraw"}


def test_get_initiative_answers_state_version_and_allowed_actions_for_caller(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    as_preparer = client.get(f"{BASE}/{initiative}", headers=auth("preparer")).json()
    assert as_preparer["state"] == "proposal"
    assert as_preparer["allowed_actions"] == []
    as_coordinator = client.get(f"{BASE}/{initiative}", headers=auth("coordinator")).json()
    assert "submit" in as_coordinator["allowed_actions"]
    as_other_org = client.get(f"{BASE}/{initiative}", headers=auth("other_coordinator")).json()
    assert as_other_org["allowed_actions"] == []


def test_action_moves_the_initiative_and_returns_new_etag(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    response = client.post(
        f"{BASE}/{initiative}/actions/submit", json={}, headers=auth("coordinator")
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "council_preparation"
    assert response.headers["etag"] == '"2"'


def test_whole_lifecycle_over_http_reaches_closed(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    steps = [
        ("coordinator", "submit"),
        ("preparer", "record_preparation"),
        ("preparer", "schedule"),
        ("secretary", "approve"),
        ("coordinator", "report_progress"),
        ("coordinator", "close"),
    ]
    for who, action in steps:
        response = client.post(
            f"{BASE}/{initiative}/actions/{action}", json=VALID_BODIES[action], headers=auth(who)
        )
        assert response.status_code == 200, (action, response.text)
    assert response.json()["state"] == "closed"


def test_version_and_as_of_return_the_initiative_as_it_stood(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    between = datetime.now(UTC).isoformat()
    client.post(f"{BASE}/{initiative}/actions/submit", json={}, headers=auth("coordinator"))
    assert (
        client.get(f"{BASE}/{initiative}?version=1", headers=auth("auditor")).json()["state"]
        == "proposal"
    )
    at = client.get(f"{BASE}/{initiative}", params={"as_of": between}, headers=auth("auditor"))
    assert at.json()["state"] == "proposal"
    assert at.headers["etag"] == '"1"'
    assert (
        client.get(f"{BASE}/{initiative}", headers=auth("auditor")).json()["state"]
        == "council_preparation"
    )


def test_as_of_before_the_initiative_existed_answers_404(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    response = client.get(
        f"{BASE}/{initiative}", params={"as_of": "2001-01-01T00:00:00Z"}, headers=auth("auditor")
    )
    assert_problem(response, 404)


def test_history_lists_every_event_with_actor_and_times(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    client.post(
        f"{BASE}/{initiative}/actions/withdraw",
        json={"reason": "Ändrade planer."},
        headers=auth("coordinator"),
    )
    body = client.get(f"{BASE}/{initiative}/history", headers=auth("auditor")).json()
    assert body["total"] == 2
    first, second = body["items"]
    assert [first["version"], second["version"]] == [1, 2]
    assert [first["type"], second["type"]] == ["Proposed", "Withdrawn"]
    assert second["actor"] == {"user": "anna", "organisation": LEAD, "role": "coordinator"}
    assert second["data"]["reason"] == "Ändrade planer."
    assert second["recorded_at"] >= first["recorded_at"]


def test_list_is_paged_and_filtered(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    for _ in range(3):
        propose(client, auth, content)
    other = {**content, "goal_area": "place"}
    propose(client, auth, other)
    page = client.get(BASE, params={"limit": 2, "offset": 0}, headers=auth("reporter")).json()
    assert page["total"] == 4
    assert len(page["items"]) == 2
    assert (page["limit"], page["offset"]) == (2, 0)
    filtered = client.get(BASE, params={"goal_area": "place"}, headers=auth("reporter")).json()
    assert filtered["total"] == 1
    assert filtered["items"][0]["goal_area"] == "place"
    mine = client.get(BASE, params={"state": "proposal"}, headers=auth("coordinator")).json()
    assert all("submit" in item["allowed_actions"] for item in mine["items"])


def test_request_without_token_answers_401(client: TestClient) -> None:
    body = assert_problem(client.get(BASE), 401)
    assert "bearer" in body["detail"].lower()


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Basic abc", "Bearer ruswf_000000000000_" + "x" * 43]
)
def test_malformed_or_unknown_token_answers_401(client: TestClient, header: str) -> None:
    assert_problem(client.get(BASE, headers={"Authorization": header}), 401)


def test_revoked_token_answers_401(client: TestClient, settings: Any, strategy: Any) -> None:
    from ruswf.app.store.tokens import TokenStore

    store = TokenStore(settings, strategy)
    info, token = store.create("temp", "reporter", "region_vasternorrland")
    assert client.get(BASE, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    store.revoke(info.id)
    store.close()
    assert_problem(client.get(BASE, headers={"Authorization": f"Bearer {token}"}), 401)


def test_unknown_initiative_answers_404(client: TestClient, auth: Auth) -> None:
    assert_problem(
        client.get(f"{BASE}/00000000-0000-0000-0000-000000000000", headers=auth("auditor")), 404
    )
    assert_problem(client.get(f"{BASE}/not-a-uuid", headers=auth("auditor")), 404)


def test_disallowed_action_answers_409_naming_state_and_allowed_actions(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    response = client.post(
        f"{BASE}/{initiative}/actions/approve",
        json=VALID_BODIES["approve"],
        headers=auth("secretary"),
    )
    body = assert_problem(response, 409)
    assert body["state"] == "proposal"
    assert body["allowed_actions"] == ["submit", "revise", "withdraw"]


def test_schedule_without_preparation_answers_409(
    client: TestClient, auth: Auth, ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("record_preparation")
    response = client.post(
        f"{BASE}/{initiative}/actions/schedule",
        json=VALID_BODIES["schedule"],
        headers=auth("preparer"),
    )
    assert "schedule" not in assert_problem(response, 409)["allowed_actions"]


def test_stale_if_match_answers_412(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    headers = {**auth("coordinator"), "If-Match": '"7"'}
    response = client.post(f"{BASE}/{initiative}/actions/submit", json={}, headers=headers)
    assert_problem(response, 412)
    assert client.get(f"{BASE}/{initiative}", headers=auth("auditor")).json()["version"] == 1


def test_current_if_match_is_accepted(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    headers = {**auth("coordinator"), "If-Match": '"1"'}
    assert (
        client.post(f"{BASE}/{initiative}/actions/submit", json={}, headers=headers).status_code
        == 200
    )


def test_oversized_body_answers_413_before_parsing(client: TestClient, auth: Auth) -> None:
    response = client.post(
        BASE,
        content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
        headers={**auth("coordinator"), "content-type": "application/json"},
    )
    assert_problem(response, 413)


def test_invalid_field_answers_422_naming_the_field(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    body = assert_problem(propose(client, auth, {**content, "goal_area": "moon"}), 422)
    assert body["errors"][0]["field"] == "goal_area"
    missing = assert_problem(
        propose(client, auth, {k: v for k, v in content.items() if k != "title"}), 422
    )
    assert missing["errors"][0]["field"] == "title"


def test_missing_reason_answers_422_naming_reason(
    client: TestClient, auth: Auth, ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("reject")
    body = assert_problem(
        client.post(
            f"{BASE}/{initiative}/actions/reject", json={"reason": "  "}, headers=auth("secretary")
        ),
        422,
    )
    assert body["errors"][0]["field"] == "reason"


def test_meeting_outside_the_annual_cycle_answers_422(
    client: TestClient, auth: Auth, ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("schedule")
    response = client.post(
        f"{BASE}/{initiative}/actions/schedule",
        json={"council": "rsr", "meeting_date": "2026-01-16"},
        headers=auth("preparer"),
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "meeting_date"


def test_malformed_json_answers_422(client: TestClient, auth: Auth) -> None:
    response = client.post(
        BASE,
        content=b"{not json",
        headers={**auth("coordinator"), "content-type": "application/json"},
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "body"


def test_idempotent_retry_returns_first_response_and_records_nothing(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    first = propose(client, auth, content, **{"Idempotency-Key": "k-1"})
    again = propose(client, auth, content, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert client.get(BASE, headers=auth("reporter")).json()["total"] == 1
    initiative = first.json()["id"]
    headers = {**auth("coordinator"), "Idempotency-Key": "k-2"}
    one = client.post(f"{BASE}/{initiative}/actions/submit", json={}, headers=headers)
    two = client.post(f"{BASE}/{initiative}/actions/submit", json={}, headers=headers)
    assert one.status_code == two.status_code == 200
    assert one.json()["version"] == two.json()["version"] == 2
    assert client.get(f"{BASE}/{initiative}/history", headers=auth("auditor")).json()["total"] == 2


def test_idempotency_key_reused_with_other_body_answers_422(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    propose(client, auth, content, **{"Idempotency-Key": "k-3"})
    response = propose(client, auth, {**content, "title": "Annat"}, **{"Idempotency-Key": "k-3"})
    assert assert_problem(response, 422)["errors"][0]["field"] == "Idempotency-Key"


def test_request_id_is_accepted_and_returned(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    assert client.get("/healthz").headers["x-request-id"]


def test_audit_verify_reports_ok_and_count(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    propose(client, auth, content)
    body = client.get("/api/v1/audit/verify", headers=auth("auditor")).json()
    assert body["ok"] is True
    assert body["checked"] >= 1
    assert body["first_bad"] is None


def test_reporter_may_not_read_history_or_audit(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    assert_problem(client.get(f"{BASE}/{initiative}/history", headers=auth("reporter")), 403)
    assert_problem(client.get("/api/v1/audit/verify", headers=auth("reporter")), 403)


def test_coordinator_cannot_propose_for_another_organisation(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    response = client.post(
        BASE, json={**content, "lead_actor": "kramfors"}, headers=auth("coordinator")
    )
    assert assert_problem(response, 403)["needed_organisation"] == "kramfors"


def test_coordinator_of_other_organisation_cannot_act(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    initiative = propose(client, auth, content).json()["id"]
    for action in ("submit", "revise", "withdraw"):
        response = client.post(
            f"{BASE}/{initiative}/actions/{action}",
            json=VALID_BODIES[action],
            headers=auth("other_coordinator"),
        )
        assert assert_problem(response, 403)["needed_organisation"] == LEAD
    retry = {**auth("other_coordinator"), "Idempotency-Key": "steal"}
    assert_problem(client.post(f"{BASE}/{initiative}/actions/submit", json={}, headers=retry), 403)


def test_embedded_projections_show_a_command_in_the_board_within_a_second(
    client: TestClient, auth: Auth, content: dict[str, Any], settings: Any
) -> None:
    """Read the board table directly (no catch-up by the request), as a reporting job would."""
    import sqlite3
    import time

    import psycopg

    initiative = propose(client, auth, content).json()["id"]
    client.post(f"{BASE}/{initiative}/actions/submit", json={}, headers=auth("coordinator"))

    def board_state() -> str | None:
        if settings.backend == "sqlite":
            with sqlite3.connect(settings.sqlite_path()) as conn:
                row = conn.execute(
                    "SELECT state FROM proj_board WHERE initiative_id = ?", (initiative,)
                ).fetchone()
        else:
            schema = settings.postgres_params()["schema"]
            with psycopg.connect(settings.postgres_conninfo()) as conn:
                row = conn.execute(
                    f'SELECT state FROM "{schema}".proj_board WHERE initiative_id::text = %s',
                    (initiative,),
                ).fetchone()
        return None if row is None else str(row[0])

    deadline = time.monotonic() + 1.0
    while board_state() != "council_preparation":
        assert time.monotonic() < deadline, "not visible in the board within 1 s"
        time.sleep(0.05)


def test_a_read_waits_for_a_long_catch_up_only_briefly_and_answers_from_the_views(
    settings: Any, auth: Auth, content: dict[str, Any]
) -> None:
    """A long catch-up in the process (a first build of a large store, which takes minutes)
    does not hold up reads: they wait READ_CATCH_UP_WAIT seconds at most for it."""
    import threading
    import time

    from ruswf.api.deps import READ_CATCH_UP_WAIT
    from ruswf.api.main import create_app

    with TestClient(create_app(settings, embedded_projections=False)) as quiet:
        propose(quiet, auth, content)
        projections = quiet.app.state.ruswf.projections  # type: ignore[attr-defined]
        started, release = threading.Event(), threading.Event()

        def hold(done: int, head: int) -> None:
            started.set()
            release.wait(30)

        long_catch_up = threading.Thread(target=projections.catch_up, kwargs={"progress": hold})
        long_catch_up.start()
        try:
            assert started.wait(10)
            began = time.monotonic()
            listed = quiet.get(BASE, headers=auth("coordinator"))
            waited = time.monotonic() - began
            assert listed.status_code == 200
            assert READ_CATCH_UP_WAIT <= waited < READ_CATCH_UP_WAIT + 3
            assert long_catch_up.is_alive()
        finally:
            release.set()
            long_catch_up.join(30)
