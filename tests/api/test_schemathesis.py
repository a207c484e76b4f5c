"""schemathesis against the app's own OpenAPI schema: no 5xx, responses match the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from ruswf.api.main import create_app
from ruswf.app.settings import Settings


@pytest.fixture
def api_schema(settings: Settings, tokens: dict[str, str]) -> Iterator[Any]:
    api = create_app(settings)
    with TestClient(api):  # runs the lifespan, so the app is wired while schemathesis calls it
        api.state.test_token = tokens["admin"]
        yield schemathesis.openapi.from_asgi("/openapi.json", api)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api_never_answers_5xx_and_matches_its_schema(case: schemathesis.Case, tokens: dict[str, str]) -> None:
    role = "secretary" if "/actions/" in case.path else "admin"
    case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"})
