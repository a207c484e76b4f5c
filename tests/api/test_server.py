"""Against a real `ruswf serve` process over a socket."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ruswf.app.service import RusApp
from ruswf.domain.commands import Propose, RecordPreparation, Schedule, Submit
from tests.api.conftest import FIRST_MEETING, LATER_MEETING, actor
from tests.servers import serving


@pytest.fixture
def server(database_url: str, tokens: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`ruswf serve` on a free port; yields its base URL."""
    with serving(database_url, tmp_path / "serve.log") as running:
        yield running.url


def test_real_server_serves_the_lifecycle_over_a_socket(
    server: str, tokens: dict[str, str], content: dict[str, object]
) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        headers = {"Authorization": f"Bearer {tokens['coordinator']}"}
        created = http.post("/api/v1/initiatives", json=content, headers=headers)
        assert created.status_code == 201, created.text
        submitted = http.post(
            f"/api/v1/initiatives/{created.json()['id']}/actions/submit", json={}, headers=headers
        )
        assert submitted.json()["state"] == "council_preparation"
        assert submitted.headers["x-request-id"]


def test_concurrent_conflicting_decisions_exactly_one_succeeds(
    server: str, tokens: dict[str, str], app: RusApp, content: dict[str, object]
) -> None:
    """8 secretaries decide the same initiative at once: one decision is recorded, the
    rest get 409 (or 412: their If-Match went stale)."""
    initiative = app.propose(Propose(**content), actor("coordinator")).id
    app.execute(initiative, Submit(), actor("coordinator"))
    app.execute(
        initiative, RecordPreparation(memo="PM", recommendation="approve"), actor("preparer")
    )
    app.execute(initiative, Schedule(council="rsr", meeting_date=FIRST_MEETING), actor("preparer"))
    decisions = [
        ("approve", {"decision_text": "Bifall."}),
        ("reject", {"reason": "Avslag."}),
        ("defer", {"reason": "Bordläggs.", "meeting_date": LATER_MEETING}),
        ("refer_back", {"reason": "Återremiss."}),
    ] * 2
    headers = {"Authorization": f"Bearer {tokens['secretary']}", "If-Match": '"4"'}

    def decide(decision: tuple[str, dict[str, object]]) -> int:
        action, body = decision
        with httpx.Client(base_url=server, timeout=30) as http:
            return http.post(
                f"/api/v1/initiatives/{initiative}/actions/{action}", json=body, headers=headers
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(decide, decisions))
    assert statuses.count(200) == 1, statuses
    assert all(status in (409, 412) for status in statuses if status != 200), statuses
    assert app.get_initiative(initiative).version == 5
