"""UI fixtures: the ASGI app on a fresh store (SQLite and PostgreSQL), a token per role,
and a browser-like client per signed-in user (its session cookie and CSRF token)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from ruswf.api.main import create_app
from ruswf.app.settings import Settings
from tests.api.conftest import ready_for, tokens

__all__ = [
    "ready_for",
    "tokens",
]  # the API tests' fixtures: an initiative ready for an action, a token per user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def asgi(settings: Settings, tokens: dict[str, str]) -> Iterator[Callable[[], TestClient]]:
    """Clients of one app: each its own cookie jar, so one per signed-in user."""
    api = create_app(settings)
    clients: list[TestClient] = []

    def new_client() -> TestClient:
        client = TestClient(api, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield new_client
    for client in reversed(clients):
        client.__exit__(None, None, None)


@dataclass
class Browser:
    """A signed-in client and its session's CSRF token."""

    http: TestClient
    csrf: str

    def post(self, path: str, data: dict[str, object]) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.csrf, **data})


@pytest.fixture
def signed_in(asgi: Callable[[], TestClient], tokens: dict[str, str]) -> Callable[[str], Browser]:
    """Sign in as one of USERS (a fresh client each time)."""

    def sign_in(who: str) -> Browser:
        client = asgi()
        answer = client.post("/login", data={"token": tokens[who]})
        assert answer.status_code == 303, answer.text
        page = client.get("/logout")  # the sign-out form carries the csrf_token
        found = CSRF.search(page.text)
        assert found, page.text[:500]
        return Browser(client, found.group(1))

    return sign_in
