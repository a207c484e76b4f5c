"""The calendar over HTTP: adjustments (admins only, with a reason), meetings' status,
409 for a cancelled meeting, the audit trail."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.calendar.conftest import MEETING

Auth = Callable[[str], dict[str, str]]
MOVE = f"/api/v1/meetings/{MEETING}/actions/move"
CANCEL = f"/api/v1/meetings/{MEETING}/actions/cancel"


def rsr_2026(client: TestClient, auth: Auth) -> dict[str, dict[str, object]]:
    response = client.get("/api/v1/meetings?council=rsr&year=2026", headers=auth("reporter"))
    assert response.status_code == 200
    return {m["id"]: m for m in response.json()["items"]}


def test_an_admin_moves_a_meeting(client: TestClient, auth: Auth) -> None:
    response = client.post(
        MOVE, json={"date": "2026-02-26", "reason": "Sportlov"}, headers=auth("admin")
    )
    assert response.status_code == 200
    assert response.json()["id"] == MEETING
    listed = rsr_2026(client, auth)[MEETING]
    assert (listed["date"], listed["moved_from"], listed["status"]) == (
        "2026-02-26",
        "2026-02-19",
        "planned",
    )
    assert listed["start"] == "2026-02-26T09:00:00+01:00"


def test_an_admin_cancels_and_adds_meetings(client: TestClient, auth: Auth) -> None:
    assert client.post(CANCEL, json={"reason": "Inga ärenden"}, headers=auth("admin")).is_success
    added = client.post(
        "/api/v1/meetings",
        json={"council": "rsr", "date": "2026-09-24", "reason": "Extra möte"},
        headers=auth("admin"),
    )
    assert added.status_code == 201
    assert added.json()["id"] == "rsr-2026-09-24"
    meetings = rsr_2026(client, auth)
    assert meetings[MEETING]["status"] == "cancelled"
    assert meetings["rsr-2026-09-24"]["status"] == "planned"


@pytest.mark.parametrize("role", ["coordinator", "preparer", "secretary", "auditor", "reporter"])
def test_adjusting_is_for_admins_only(client: TestClient, auth: Auth, role: str) -> None:
    response = client.post(CANCEL, json={"reason": "Inga ärenden"}, headers=auth(role))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["needed_roles"] == ["admin"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (MOVE, {"date": "2026-02-26"}),
        (CANCEL, {}),
        ("/api/v1/meetings", {"council": "rsr", "date": "2026-09-24"}),
        (CANCEL, {"reason": "  "}),
    ],
    ids=["move", "cancel", "add", "blank"],
)
def test_an_adjustment_without_a_reason_is_422_naming_it(
    client: TestClient, auth: Auth, path: str, body: dict[str, str]
) -> None:
    response = client.post(path, json=body, headers=auth("admin"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["reason"]


def test_a_move_to_a_day_off_is_422_naming_the_date(client: TestClient, auth: Auth) -> None:
    response = client.post(
        MOVE, json={"date": "2026-06-19", "reason": "Flytt"}, headers=auth("admin")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "date"
    assert "Midsommarafton" in response.json()["detail"]


def test_an_unknown_meeting_is_404(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/api/v1/meetings/rsr-2026-02-20/actions/cancel",
        json={"reason": "Fel"},
        headers=auth("admin"),
    )
    assert response.status_code == 404
    assert response.json()["meeting_id"] == "rsr-2026-02-20"


def ready_for_schedule(client: TestClient, auth: Auth, content: dict[str, object]) -> str:
    created = client.post("/api/v1/initiatives", json=content, headers=auth("coordinator"))
    assert created.status_code == 201, created.text
    initiative = created.json()["id"]
    for who, action, body in (
        ("coordinator", "submit", {}),
        ("preparer", "record_preparation", {"memo": "PM", "recommendation": "approve"}),
    ):
        response = client.post(
            f"/api/v1/initiatives/{initiative}/actions/{action}", json=body, headers=auth(who)
        )
        assert response.status_code == 200, response.text
    return str(initiative)


def test_scheduling_on_a_cancelled_meeting_is_409_naming_it(
    client: TestClient, auth: Auth, content: dict[str, object]
) -> None:
    initiative = ready_for_schedule(client, auth, content)
    client.post(CANCEL, json={"reason": "Inga ärenden"}, headers=auth("admin"))
    response = client.post(
        f"/api/v1/initiatives/{initiative}/actions/schedule",
        json={"council": "rsr", "meeting_date": "2026-02-19"},
        headers=auth("preparer"),
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["meeting_id"] == MEETING
    assert MEETING in response.json()["detail"]


def test_an_initiative_on_a_moved_meeting_shows_the_new_date(
    client: TestClient, auth: Auth, content: dict[str, object]
) -> None:
    initiative = ready_for_schedule(client, auth, content)
    client.post(
        f"/api/v1/initiatives/{initiative}/actions/schedule",
        json={"council": "rsr", "meeting_date": "2026-02-19"},
        headers=auth("preparer"),
    )
    client.post(MOVE, json={"date": "2026-02-26", "reason": "Sportlov"}, headers=auth("admin"))
    view = client.get(f"/api/v1/initiatives/{initiative}", headers=auth("reporter")).json()
    assert view["agenda"]["meeting_date"] == "2026-02-26"
    listed = rsr_2026(client, auth)[MEETING]
    assert [a["initiative_id"] for a in listed["agenda"]] == [initiative]


def test_initiatives_on_a_cancelled_meeting_need_a_new_one(
    client: TestClient, auth: Auth, content: dict[str, object]
) -> None:
    initiative = ready_for_schedule(client, auth, content)
    client.post(
        f"/api/v1/initiatives/{initiative}/actions/schedule",
        json={"council": "rsr", "meeting_date": "2026-02-19"},
        headers=auth("preparer"),
    )
    client.post(CANCEL, json={"reason": "Inga ärenden"}, headers=auth("admin"))
    assert [i["initiative_id"] for i in rsr_2026(client, auth)[MEETING]["needs_new_meeting"]] == [
        initiative
    ]
    todo = client.get("/api/v1/meetings/needs-new-meeting", headers=auth("secretary")).json()
    assert [(i["initiative_id"], i["meeting_id"]) for i in todo["items"]] == [(initiative, MEETING)]


def test_adjustments_are_in_the_audit_trail_and_the_meetings_history(
    client: TestClient, auth: Auth
) -> None:
    client.post(MOVE, json={"date": "2026-02-26", "reason": "Sportlov"}, headers=auth("admin"))
    client.post(CANCEL, json={"reason": "Inga ärenden"}, headers=auth("admin"))
    trail = client.get("/api/v1/audit/events?user=adm", headers=auth("auditor")).json()
    assert [(e["type"], e["reason"]) for e in trail["items"]] == [
        ("Seeded", None),
        ("MeetingMoved", "Sportlov"),
        ("MeetingCancelled", "Inga ärenden"),
    ]
    history = client.get(f"/api/v1/meetings/{MEETING}/history", headers=auth("reporter")).json()
    assert [(e["type"], e["actor"]["user"], e["data"]["reason"]) for e in history["events"]] == [
        ("MeetingMoved", "adm", "Sportlov"),
        ("MeetingCancelled", "adm", "Inga ärenden"),
    ]
    assert history["meeting"]["status"] == "cancelled"


def test_the_strategy_shows_every_year_the_cycle_covers(client: TestClient, auth: Auth) -> None:
    def cycle() -> dict[str, object]:
        found = client.get("/api/v1/strategy", headers=auth("reporter")).json()["annual_cycle"]
        assert isinstance(found, dict)
        return found

    years = cycle()["years"]
    assert isinstance(years, list)
    numbers = [y["year"] for y in years]
    assert len(numbers) >= 4
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    this_year = years[1]  # the current year (the cycle starts one year before it)
    first = next(m["id"] for m in this_year["meetings"] if m["council"] == "rsr")
    cancelled = client.post(
        f"/api/v1/meetings/{first}/actions/cancel",
        json={"reason": "Inga ärenden"},
        headers=auth("admin"),
    )
    assert cancelled.status_code == 200
    after = cycle()["years"]
    assert isinstance(after, list)
    statuses = {m["id"]: m["status"] for m in after[1]["meetings"]}
    assert statuses[first] == "cancelled"
    assert cycle()["summer_break"] == [7]


def test_a_retried_keyed_move_returns_the_first_result_and_records_nothing_new(
    client: TestClient, auth: Auth
) -> None:
    headers = {**auth("admin"), "Idempotency-Key": "move-1"}
    body = {"date": "2026-02-26", "reason": "Sportlov"}
    first = client.post(MOVE, json=body, headers=headers)
    again = client.post(MOVE, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    history = client.get(f"/api/v1/meetings/{MEETING}/history", headers=auth("admin")).json()
    assert [e["type"] for e in history["events"]] == ["MeetingMoved"]


def test_a_keyed_add_retried_answers_201_again(client: TestClient, auth: Auth) -> None:
    headers = {**auth("admin"), "Idempotency-Key": "add-1"}
    body = {"council": "rsr", "date": "2026-09-24", "reason": "Extra möte"}
    assert client.post("/api/v1/meetings", json=body, headers=headers).status_code == 201
    again = client.post("/api/v1/meetings", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == "rsr-2026-09-24"


def test_an_idempotency_key_reused_for_another_request_is_422(
    client: TestClient, auth: Auth
) -> None:
    headers = {**auth("admin"), "Idempotency-Key": "k-1"}
    client.post(CANCEL, json={"reason": "Inga ärenden"}, headers=headers)
    other = client.post(CANCEL, json={"reason": "Annat skäl"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
