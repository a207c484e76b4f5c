"""Security tests reuse the API fixtures (a token per role, the ASGI client, auth headers)
and drive the workflow through the HTTP API, as a user would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import FIRST_MEETING, auth, client, tokens

__all__ = ["auth", "client", "tokens"]

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def approve_via_api(client: TestClient, auth: Auth) -> Callable[..., str]:
    """`approve_via_api(content, decision_text)`: an initiative proposed, prepared,
    scheduled and approved through the API; returns its id."""

    def make(content: dict[str, Any], decision_text: str) -> str:
        created = client.post("/api/v1/initiatives", json=content, headers=auth("coordinator"))
        assert created.status_code == 201, created.text
        initiative = created.json()["id"]
        steps = [
            ("coordinator", "submit", {}),
            ("preparer", "record_preparation", {"memo": "PM", "recommendation": "approve"}),
            ("preparer", "schedule", {"council": "rsr", "meeting_date": FIRST_MEETING}),
            ("secretary", "approve", {"decision_text": decision_text}),
        ]
        for who, action, body in steps:
            done = client.post(
                f"/api/v1/initiatives/{initiative}/actions/{action}", json=body, headers=auth(who)
            )
            assert done.status_code == 200, done.text
        return str(initiative)

    return make
