"""`ruswf demo` on both stores, as a user runs it, and `run_demo` called directly."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from ruswf.app.audit.ledger import Ledger
from ruswf.app.demo.walk import FATES, agenda_items, run_demo
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.views import InitiativeView
from ruswf.domain.lifecycle import State
from ruswf.domain.strategy import Strategy

PROPOSED_TOPIC = "ruswf.domain.initiative:Initiative.Proposed"


def run_demo_command(ruswf: str, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSWF_")}
    env |= {"RUSWF_DATABASE_URL": database_url, "RUSWF_LOG_FORMAT": "json"}
    result = subprocess.run(
        [ruswf, "demo", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@contextmanager
def opened(strategy: Strategy, database_url: str) -> Iterator[RusApp]:
    app = RusApp(strategy, Settings(database_url=database_url, log_format="json"))
    try:
        yield app
    finally:
        app.close()


def states_by_title(strategy: Strategy, database_url: str) -> dict[str, str]:
    """The state of every initiative in the store, by title."""
    with opened(strategy, database_url) as app:
        proposals = app.recorder.select_notifications(
            start=1, limit=10_000, topics=[PROPOSED_TOPIC]
        )
        views = [app.get_initiative(UUID(str(n.originator_id))) for n in proposals]
    return {v.title: v.state for v in views}


def recorded(strategy: Strategy, database_url: str) -> int:
    with opened(strategy, database_url) as app:
        return app.recorder.max_notification_id() or 0


def test_demo_prints_the_summary_table(ruswf: str, database_url: str) -> None:
    out = run_demo_command(ruswf, database_url, "--seed", "1").stdout
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("state"))
    assert header.split() == ["state", "place", "live", "grow", "total"]
    for state in State:
        assert any(line.startswith(f"{state.value} (") for line in lines), state
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[-1] == str(len(agenda_items()))
    assert f"{len(agenda_items())} initiatives" in out


def test_demo_records_every_agenda_item_as_an_initiative(
    ruswf: str, database_url: str, strategy: Strategy
) -> None:
    run_demo_command(ruswf, database_url)
    assert sorted(states_by_title(strategy, database_url)) == sorted(
        i["title"] for i in agenda_items()
    )


def test_demo_is_deterministic_for_a_seed(
    ruswf: str, database_url: str, other_database_url: str, strategy: Strategy
) -> None:
    """Two fresh stores, the same seed: every title ends in the same state."""
    run_demo_command(ruswf, database_url, "--seed", "7")
    run_demo_command(ruswf, other_database_url, "--seed", "7")
    first = states_by_title(strategy, database_url)
    assert first == states_by_title(strategy, other_database_url)
    assert len(first) == len(agenda_items())


def test_demo_run_twice_records_nothing_new(
    ruswf: str, database_url: str, strategy: Strategy
) -> None:
    first = run_demo_command(ruswf, database_url).stdout
    after_first = recorded(strategy, database_url)
    second = run_demo_command(ruswf, database_url).stdout
    assert after_first > len(agenda_items())
    assert recorded(strategy, database_url) == after_first
    assert second == first


def test_run_demo_deals_every_fate(app: RusApp) -> None:
    result = run_demo(app, Ledger(app), seed=1)
    states = Counter(v.state for v in result.initiatives)
    assert set(states) == {s.value for s in State}
    assert states["follow_up"] + states["closed"] >= FATES.count("followed_up")
    assert states["closed"] == FATES.count("closed")
    assert states["rejected"] == FATES.count("rejected")


def test_run_demo_returns_one_view_per_agenda_item_under_its_goal_area(app: RusApp) -> None:
    result = run_demo(app, Ledger(app), seed=3, year=2026)
    assert [(v.title, v.goal_area) for v in result.initiatives] == [
        (item["title"], item["goal_area"]) for item in agenda_items()
    ]
    assert sum(result.by_state_and_goal_area().values()) == len(agenda_items())
    assert result.year == 2026


def test_run_demo_again_returns_the_same_views_and_records_nothing(app: RusApp) -> None:
    first = run_demo(app, Ledger(app), seed=2)
    count = app.recorder.max_notification_id()
    again = run_demo(app, Ledger(app), seed=2)
    assert again.initiatives == first.initiatives
    assert app.recorder.max_notification_id() == count


def test_run_demo_leaves_some_progress_reports_missing(app: RusApp) -> None:
    """The region's real problem: not every approved initiative reports every period."""
    result = run_demo(app, Ledger(app), seed=1, year=app.today().year - 1)  # every period has ended
    periods = app.strategy.reporting_periods(result.year)

    def due(view: InitiativeView) -> list[str]:
        assert view.approval_period is not None
        return [p.id for p in periods if p >= app.strategy.period(view.approval_period)]

    approved = [v for v in result.initiatives if v.approval_period is not None]
    assert any(set(v.reported_periods) < set(due(v)) for v in approved)
    assert all(set(v.reported_periods) <= set(due(v)) for v in approved)
