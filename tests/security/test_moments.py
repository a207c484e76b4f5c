"""Finding 8: moments whose UTC time is outside the years 1-9999 answer 422 naming the
field, never 500."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.servers import RUSWF

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


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RUSWF, *args],
        env={**os.environ, "RUSWF_DATABASE_URL": f"sqlite:///{tmp_path / 'ruswf.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_as_of_outside_the_utc_calendar_fails_with_one_line(tmp_path: Path) -> None:
    done = run_cli(
        tmp_path, "audit", "history", str(uuid4()), "--as-of", "9999-12-31T23:59:59-23:59"
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "ruswf: error: --as-of: 9999-12-31T23:59:59-23:59 is outside the years 1-9999 in UTC"
    ]


def test_cli_export_up_to_the_last_day_there_is_works(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "audit", "export", "--to", "9999-12-31", "--out", str(tmp_path / "x"))
    assert done.returncode == 0, done.stderr
