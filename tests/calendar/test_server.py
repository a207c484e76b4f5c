"""A subscription URL against a real `ruswf serve` over a socket, as a calendar program
fetches it: no bearer token, and 404 once revoked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import icalendar
import pytest

from tests.calendar.conftest import MEETING
from tests.servers import serving


@pytest.fixture
def server(database_url: str, tokens: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`ruswf serve` on a free port; yields its base URL."""
    with serving(database_url, tmp_path / "serve.log") as running:
        yield running.url


def test_a_calendar_program_fetches_the_subscription_url_until_it_is_revoked(
    server: str, tokens: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['secretary']}"}
    with httpx.Client(base_url=server, timeout=10) as http:
        created = http.post("/api/v1/calendar/feeds", json={}, headers=headers)
        assert created.status_code == 201, created.text
        url = created.json()["url"]
        assert url.startswith(server)
        fetched = httpx.get(url, timeout=10)  # no Authorization header
        assert fetched.status_code == 200
        assert fetched.headers["content-type"].startswith("text/calendar")
        uids = {str(e["UID"]) for e in icalendar.Calendar.from_ical(fetched.content).walk("VEVENT")}
        assert f"{MEETING}@rus2030.ruswf" in uids
        revoked = http.delete(f"/api/v1/calendar/feeds/{created.json()['id']}", headers=headers)
        assert revoked.status_code == 204
        assert httpx.get(url, timeout=10).status_code == 404
