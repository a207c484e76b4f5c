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


def test_second_concurrent_verification_answers_429_with_retry_after(
    client: TestClient, auth: Auth
) -> None:
    """One verification (a scan of the whole store) at a time per process: the lock is
    held here as a running verification would hold it."""
    from ruswf.api import system

    assert client.get("/api/v1/audit/verify", headers=auth("auditor")).status_code == 200
    with system._VERIFYING:
        busy = client.get("/api/v1/audit/verify", headers=auth("auditor"))
    assert busy.status_code == 429, busy.text
    assert int(busy.headers["retry-after"]) > 0
    assert client.get("/api/v1/audit/verify", headers=auth("auditor")).status_code == 200


def test_readiness_check_opens_no_new_database_connection(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/readyz (unauthenticated) asks the store on a pooled connection: a call must not
    cost PostgreSQL a new connection, nor SQLite a new file handle."""
    import sqlite3

    import psycopg

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("/readyz opened a new connection")

    monkeypatch.setattr(psycopg, "connect", refuse)
    monkeypatch.setattr(sqlite3, "connect", refuse)
    for _ in range(3):
        assert client.get("/readyz").status_code == 200
