"""`ruswf calendar show | move | cancel | add | ics` and `ruswf strategy check`, run as
the installed command on both stores."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import icalendar
import pytest

from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.strategy_loader import load_strategy
from tests.calendar.conftest import MEETING


@pytest.fixture(scope="session")
def ruswf() -> str:
    beside_python = Path(sys.executable).parent / "ruswf"
    found = str(beside_python) if beside_python.exists() else shutil.which("ruswf")
    assert found, "the ruswf command is not installed (pip install -e .)"
    return found


@pytest.fixture
def run(ruswf: str, database_url: str) -> object:
    def call(*args: str, strategy: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "RUSWF_DATABASE_URL": database_url, "RUSWF_LOG_FORMAT": "json"}
        if strategy is not None:
            env["RUSWF_STRATEGY"] = str(strategy)
        return subprocess.run(
            [ruswf, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    return call


def test_show_lists_a_years_meetings_events_and_deadlines(run: object) -> None:
    done = run("calendar", "show", "--year", "2027")  # type: ignore[operator]
    assert done.returncode == 0, done.stderr
    assert "2027-06-28" in done.stdout  # Här och nu, moved off midsommarafton
    assert "2027-02-01" in done.stdout  # T3 2026's report, moved off a Saturday
    assert "rsr-2027-01-21" in done.stdout


def test_move_cancel_and_add_are_the_operators_adjustments(run: object, settings: Settings) -> None:
    moved = run(  # type: ignore[operator]
        "calendar",
        "move",
        MEETING,
        "--date",
        "2026-02-26",
        "--reason",
        "Sportlov",
        "--user",
        "kalle",
    )
    assert moved.returncode == 0, moved.stderr
    assert "moved from 2026-02-19" in moved.stdout
    cancelled = run("calendar", "cancel", "rsr-2026-03-19", "--reason", "Inga ärenden")  # type: ignore[operator]
    assert cancelled.returncode == 0, cancelled.stderr
    added = run(  # type: ignore[operator]
        "calendar", "add", "--council", "ssr", "--date", "2026-09-16", "--reason", "Extra"
    )
    assert added.returncode == 0, added.stderr
    shown = run("calendar", "show", "--year", "2026", "--council", "rsr")  # type: ignore[operator]
    assert "(adjusted)" in shown.stdout
    assert "cancelled" in shown.stdout
    app = RusApp(load_strategy(), settings)
    try:
        (event,) = app.calendar.history(MEETING)
        assert (event.actor["user"], event.actor["role"]) == ("kalle", "admin")
        assert event.actor["organisation"] == "region_vasternorrland"
        assert app.calendar.get("ssr-2026-09-16").status == "planned"
    finally:
        app.close()


def test_an_adjustment_without_a_reason_fails_with_one_line(run: object) -> None:
    done = run("calendar", "cancel", MEETING, "--reason", " ")  # type: ignore[operator]
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("ruswf: error: reason")


def test_a_move_to_a_holiday_fails_with_one_line(run: object) -> None:
    done = run(  # type: ignore[operator]
        "calendar", "move", MEETING, "--date", "2026-12-24", "--reason", "Jul"
    )
    assert done.returncode != 0
    assert "Julafton" in done.stderr.strip().splitlines()[-1]


def test_ics_writes_a_calendar_file(run: object, tmp_path: Path) -> None:
    out = tmp_path / "rus.ics"
    done = run("calendar", "ics", "--council", "rsr", "--out", str(out))  # type: ignore[operator]
    assert done.returncode == 0, done.stderr
    parsed = icalendar.Calendar.from_ical(out.read_bytes())
    uids = {str(e["UID"]) for e in parsed.walk("VEVENT")}
    assert f"{MEETING}@rus2030.ruswf" in uids
    assert not any(uid.startswith("ssr-") for uid in uids)


def test_strategy_check_names_the_adjusted_years_the_rules_now_differ_from(
    run: object, tmp_path: Path
) -> None:
    assert run("calendar", "cancel", MEETING, "--reason", "Inga ärenden").returncode == 0  # type: ignore[operator]
    same = run("strategy", "check")  # type: ignore[operator]
    assert same.returncode == 0, same.stderr
    assert "every adjusted year agrees with the rules" in same.stdout
    text = resources.files("ruswf.strategies").joinpath("rus2030.toml").read_text("utf-8")
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace("nth = 3\nmonths = [1, 2,", "nth = 4\nmonths = [1, 2,"))
    assert tomllib.loads(changed.read_text())["annual_cycle"]["meetings"][0]["nth"] == 4
    differs = run("strategy", "check", strategy=changed)  # type: ignore[operator]
    assert differs.returncode == 0, differs.stderr
    assert "calendar 2026: adjusted, and the rules now differ" in differs.stdout
    assert "rsr-2026-01-15" in differs.stdout
    assert "calendar 2027" not in differs.stdout
