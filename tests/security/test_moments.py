"""Finding 8: moments whose UTC time is outside the years 1-9999 answer 422 naming the
field, never 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

OUT_OF_RANGE = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]
Auth = Callable[[str], dict[str, str]]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_as_of_outside_the_utc_calendar_answers_422(
    client: TestClient, auth: Auth, content: dict[str, Any], moment: str
) -> None:
    created = client.post("/api/v1/initiatives", json=content, headers=auth("coordinator"))
    answer = client.get(
        f"/api/v1/initiatives/{created.json()['id']}",
        params={"as_of": moment},
        headers=auth("auditor"),
    )
    assert answer.status_code == 422, answer.text
    assert "as_of" in answer.text


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_audit_events_window_outside_the_utc_calendar_answers_422(
    client: TestClient, auth: Auth, moment: str, field: str
) -> None:
    answer = client.get("/api/v1/audit/events", params={field: moment}, headers=auth("auditor"))
    assert answer.status_code == 422, answer.text
    assert field in answer.text


def test_as_of_with_an_offset_still_reads_the_past(
    client: TestClient, auth: Auth, content: dict[str, Any]
) -> None:
    created = client.post("/api/v1/initiatives", json=content, headers=auth("coordinator"))
    answer = client.get(
        f"/api/v1/initiatives/{created.json()['id']}",
        params={"as_of": "9999-12-31T23:59:59+01:00"},
        headers=auth("auditor"),
    )
    assert answer.status_code == 200, answer.text
