"""Finding 13: the read rules of docs/security.md, each made a deliberate rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

Auth = Callable[[str], dict[str, str]]


@pytest.mark.parametrize("query", [{"version": "1"}, {"as_of": "2030-01-01T00:00:00Z"}])
def test_reporter_may_not_rebuild_past_states_as_history_is_forbidden(
    client: TestClient, auth: Auth, content: dict[str, Any], query: dict[str, str]
) -> None:
    created = client.post("/api/v1/initiatives", json=content, headers=auth("coordinator"))
    path = f"/api/v1/initiatives/{created.json()['id']}"
    assert client.get(f"{path}/history", headers=auth("reporter")).status_code == 403
    past = client.get(path, params=query, headers=auth("reporter"))
    assert past.status_code == 403, past.text
    assert past.headers["content-type"].startswith("application/problem+json")
    assert client.get(path, headers=auth("reporter")).status_code == 200
    assert client.get(path, params=query, headers=auth("auditor")).status_code == 200
