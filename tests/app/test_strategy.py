"""The strategy as configuration: the shipped RUS 2030 file, `RUSWF_STRATEGY`, and the
errors a malformed file gives."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from ruswf.app.settings import Settings
from ruswf.app.strategy_loader import load_strategy
from ruswf.domain.errors import StrategyConfigError
from ruswf.domain.strategy import Strategy

MUNICIPALITIES = [
    "Härnösand",
    "Kramfors",
    "Sollefteå",
    "Sundsvall",
    "Timrå",
    "Ånge",
    "Örnsköldsvik",
]
# Every organisation the seed presentation names in the councils (RSR and SSR).
SEED_ACTORS = [
    "Region Västernorrland",
    "Kommunförbundet",
    "Länsstyrelsen",
    "Almi Mitt",
    "Arbetsförmedlingen",
    "Bizmaker",
    "Coompanion",
    "ESF-rådet",
    "Företagarna",
    "Försäkringskassan",
    "RF SISU",
    "Skogsstyrelsen",
    "Tillväxtverket",
    "TCO",
    "Trafikverket",
    "Handelskammaren",
    "Hushållningssällskapet",
    "Leader",
    "LO",
    "LRF",
    "Mittuniversitetet",
    "Polisen i Västernorrland",
]


def shipped_text() -> str:
    return resources.files("ruswf.strategies").joinpath("rus2030.toml").read_text("utf-8")


def ruswf_executable() -> str:
    found = shutil.which("ruswf") or str(Path(sys.executable).parent / "ruswf")
    assert Path(found).exists(), found
    return found


# -- the shipped RUS 2030 ------------------------------------------------------------


def test_shipped_strategy_has_the_three_goal_areas(strategy: Strategy) -> None:
    assert [g.id for g in strategy.goal_areas] == ["place", "live", "grow"]
    assert strategy.goal_area("grow") is not None
    assert "växa" in strategy.goal_areas[2].name


def test_shipped_strategy_has_the_six_principles(strategy: Strategy) -> None:
    assert [p.name for p in strategy.principles] == [
        "Flernivåstyre",
        "Jämställdhet",
        "Digitalisering och säker digital transformation",
        "Ta vara på potentialen i både stad och land",
        "Låt aktörer gå före, alla behöver inte vara med på allt",
        "Testa nytt och kontinuerligt lärande",
    ]


def test_shipped_strategy_has_rsr_ssr_and_the_strategic_group(strategy: Strategy) -> None:
    assert [c.id for c in strategy.councils] == ["rsr", "ssr", "strategic_group"]
    assert [c.id for c in strategy.deciding_councils] == ["rsr", "ssr"]


def test_shipped_strategy_has_the_four_arenas(strategy: Strategy) -> None:
    assert [a.id for a in strategy.arenas] == [1, 2, 3, 4]


@pytest.mark.parametrize("municipality", MUNICIPALITIES)
def test_shipped_strategy_has_every_municipality(strategy: Strategy, municipality: str) -> None:
    matches = [a for a in strategy.actors if a.name.startswith(municipality)]
    assert len(matches) == 1
    assert matches[0].kind == "municipality"
    assert set(matches[0].councils) >= {"rsr", "ssr"}


@pytest.mark.parametrize("name", SEED_ACTORS)
def test_shipped_strategy_has_every_actor_of_the_seed(strategy: Strategy, name: str) -> None:
    assert any(a.name == name or a.name.startswith(f"{name} ") for a in strategy.actors)


def test_priorities_belong_to_known_goal_areas(strategy: Strategy) -> None:
    goal_ids = {g.id for g in strategy.goal_areas}
    assert len(strategy.priorities) >= 15
    assert all(p.goal_area in goal_ids for p in strategy.priorities)


def test_actors_resolve_by_id_or_exact_name(strategy: Strategy) -> None:
    by_name = strategy.resolve_actor("Sundsvalls kommun")
    assert by_name is not None
    assert by_name.id == "sundsvall"
    assert strategy.resolve_actor("sundsvall") == by_name
    assert strategy.resolve_actor("Sundsvall") is None


@pytest.mark.parametrize("year", [2025, 2026, 2027, 2028])
def test_council_meetings_exist_for_every_year(strategy: Strategy, year: int) -> None:
    assert len(strategy.meetings(year, "rsr")) == 11
    assert 2 <= len(strategy.meetings(year, "ssr")) <= 3
    assert len(strategy.meetings(year, "strategic_group")) == 11
    meetings = strategy.meetings(year)
    assert [m.date for m in meetings] == sorted(m.date for m in meetings)
    assert all(m.date.year == year for m in meetings)


def test_rsr_meets_on_the_third_thursday_with_one_residential_meeting(strategy: Strategy) -> None:
    rsr = strategy.meetings(2026, "rsr")
    assert rsr[0].date == date(2026, 1, 15)
    assert all(m.date.weekday() == 3 and 15 <= m.date.day <= 21 for m in rsr)
    assert [m.date for m in rsr if m.format == "residential"] == [date(2026, 9, 17)]


def test_meeting_lookup_finds_only_that_councils_meetings(strategy: Strategy) -> None:
    found = strategy.meeting("ssr", date(2026, 3, 11))
    assert found is not None
    assert found.id == "ssr-2026-03-11"
    assert strategy.meeting("rsr", date(2026, 3, 11)) is None


def test_reporting_periods_are_tertials_with_due_dates(strategy: Strategy) -> None:
    """Due 30 days after the period ends, on the next working day (30 May 2026 and
    30 January 2027 are Saturdays)."""
    periods = strategy.reporting_periods(2026)
    assert [(p.id, p.start, p.end, p.due) for p in periods] == [
        ("2026-T1", date(2026, 1, 1), date(2026, 4, 30), date(2026, 6, 1)),
        ("2026-T2", date(2026, 5, 1), date(2026, 8, 31), date(2026, 9, 30)),
        ("2026-T3", date(2026, 9, 1), date(2026, 12, 31), date(2027, 2, 1)),
    ]


def test_period_of_a_day_and_period_by_id_agree(strategy: Strategy) -> None:
    assert strategy.period_of(date(2026, 5, 21)) == strategy.period("2026-T2")
    assert strategy.period_of(date(2026, 5, 21)).id == "2026-T2"
    assert strategy.period("2026-T1") < strategy.period("2026-T2") < strategy.period("2027-T1")


def test_periods_between_spans_years(strategy: Strategy) -> None:
    between = strategy.periods_between(strategy.period("2025-T3"), strategy.period("2026-T2"))
    assert [p.id for p in between] == ["2025-T3", "2026-T1", "2026-T2"]


def test_annual_cycle_events_include_the_rus_day(strategy: Strategy) -> None:
    events = {e.id: day for e, day in strategy.cycle_event_dates(2026)}
    assert events["rus_day"] == date(2026, 5, 20)
    assert set(events) == {"rus_day", "har_och_nu_spring", "har_och_nu_autumn"}


# -- RUSWF_STRATEGY --------------------------------------------------------------------


def test_ruswf_strategy_replaces_the_shipped_strategy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kommun.toml"
    path.write_text(
        shipped_text().replace('id = "rus2030"', 'id = "kommun2030"', 1), encoding="utf-8"
    )
    monkeypatch.setenv("RUSWF_STRATEGY", str(path))
    replaced = load_strategy(Settings().strategy)
    assert replaced.id == "kommun2030"
    assert load_strategy().id == "rus2030"


def test_without_ruswf_strategy_the_shipped_strategy_is_in_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RUSWF_STRATEGY", raising=False)
    assert Settings().strategy is None
    assert load_strategy(Settings().strategy).id == "rus2030"


# -- malformed files ---------------------------------------------------------------------

MALFORMED = [
    pytest.param(("[strategy]\n", "[strategy\n"), "(syntax)", id="syntax"),
    pytest.param(('region = "Region Västernorrland"\n', ""), "strategy.region", id="missing-key"),
    pytest.param(
        ("report_due_days = 30", 'report_due_days = "30"'),
        "annual_cycle.report_due_days",
        id="wrong-type",
    ),
    pytest.param(("id = 4\n", 'id = "4"\n'), "arenas[3].id", id="wrong-type-in-array"),
    pytest.param(("decides = true\n", "decides = 1\n"), "councils[0].decides", id="bool-as-int"),
    pytest.param(
        ('council = "ssr"', 'council = "kf"'),
        "annual_cycle.meetings[2].council",
        id="unknown-council-of-meeting",
    ),
    pytest.param(
        ('councils = ["ssr"]', 'councils = ["ssr", "kf"]'),
        "actors[10].councils[1]",
        id="unknown-council-of-actor",
    ),
    pytest.param(
        ('councils = ["ssr"]', 'councils = [{ id = "ssr" }]'),
        "actors[10].councils[0]",
        id="table-as-council-of-actor",
    ),
    pytest.param(('id = "live"', 'id = "place"'), "goal_areas[1].id", id="duplicate-goal-area"),
    pytest.param(('id = "kramfors"', 'id = "harnosand"'), "actors[2].id", id="duplicate-actor"),
    pytest.param(
        ('goal_area = "place"', 'goal_area = "space"'),
        "priorities[0].goal_area",
        id="unknown-goal-area",
    ),
    pytest.param(
        ('weekday = "thursday"', 'weekday = "torsdag"'),
        "annual_cycle.meetings[0].weekday",
        id="unknown-weekday",
    ),
    pytest.param(("last_month = 4", "last_month = 5"), "annual_cycle.periods", id="overlap"),
    pytest.param(
        ('timezone = "Europe/Stockholm"', 'timezone = "Europe/Sundsvall"'),
        "strategy.timezone",
        id="unknown-timezone",
    ),
]


def _malformed(tmp_path: Path, old: str, new: str) -> Path:
    text = shipped_text()
    assert old in text, old
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "key"), MALFORMED)
def test_malformed_strategy_names_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    path = _malformed(tmp_path, *change)
    with pytest.raises(StrategyConfigError) as raised:
        load_strategy(path)
    assert (raised.value.source, raised.value.key) == (str(path), key)
    assert str(raised.value).startswith(f"{path}: {key}: ")


def test_missing_strategy_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(StrategyConfigError) as raised:
        load_strategy(path)
    assert raised.value.source == str(path)


def test_strategy_file_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(shipped_text().encode("latin-1", errors="replace"))
    with pytest.raises(StrategyConfigError) as raised:
        load_strategy(path)
    assert raised.value.key == "(file)"


def test_strategy_without_a_deciding_council_is_rejected(tmp_path: Path) -> None:
    text = shipped_text().replace("decides = true", "decides = false")
    path = tmp_path / "no-council.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StrategyConfigError) as raised:
        load_strategy(path)
    assert raised.value.key == "annual_cycle.meetings"


# -- ruswf strategy check ------------------------------------------------------------


def _strategy_check(strategy_file: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RUSWF_STRATEGY"}
    if strategy_file is not None:
        env["RUSWF_STRATEGY"] = str(strategy_file)
    return subprocess.run(
        [ruswf_executable(), "strategy", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_strategy_check_with_a_malformed_file_exits_non_zero_with_one_line(
    tmp_path: Path,
) -> None:
    path = _malformed(tmp_path, 'council = "ssr"', 'council = "kf"')
    result = _strategy_check(path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert "annual_cycle.meetings[2].council" in lines[0]


def test_strategy_check_with_a_syntax_error_exits_non_zero_with_one_line(
    tmp_path: Path,
) -> None:
    result = _strategy_check(_malformed(tmp_path, "[strategy]\n", "[strategy\n"))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_strategy_check_of_the_shipped_strategy_succeeds() -> None:
    result = _strategy_check(None)
    assert result.returncode == 0, result.stderr
    assert re.search(r"3 goal areas, \d+ priorities, 6 principles", result.stdout)
