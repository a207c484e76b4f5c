"""Generated dates of the annual cycle are working days, checked against the `holidays`
package directly (not through the code that generates them)."""

from __future__ import annotations

import calendar
import tomllib
from datetime import date, time, timedelta
from importlib import resources
from typing import Any

import holidays
import pytest

from ruswf.domain.errors import StrategyConfigError
from ruswf.domain.strategy import WEEKDAYS, Strategy
from ruswf.domain.strategy_file import parse_strategy

YEARS = range(2025, 2035)  # ten years


def shipped() -> dict[str, Any]:
    text = resources.files("ruswf.strategies").joinpath("rus2030.toml").read_text("utf-8")
    return tomllib.loads(text)


def swedish_days_off(year: int) -> set[date]:
    table = holidays.country_holidays(
        "SE", years=[year, year + 1], categories=(holidays.PUBLIC, holidays.DE_FACTO)
    )
    return set(table)


def day_off(day: date) -> bool:
    """Weekend, a Swedish public or de facto holiday, or July (RUS 2030's summer break)."""
    return day.weekday() >= 5 or day in swedish_days_off(day.year) or day.month == 7


def next_working_day(day: date) -> date:
    while day_off(day):
        day += timedelta(days=1)
    return day


def rule_day(year: int, month: int, weekday: str, nth: int) -> date:
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == WEEKDAYS.index(weekday)
    ]
    return days[nth - 1] if nth > 0 else days[nth]


def generated_dates(strategy: Strategy, year: int) -> list[tuple[str, date]]:
    found = [(m.id, m.date) for m in strategy.meetings(year)]
    found += [(e.id, d) for e, d in strategy.cycle_event_dates(year)]
    found += [(f"due {p.id}", p.due) for p in strategy.reporting_periods(year)]
    return found


def test_de_facto_holidays_include_the_three_eves() -> None:
    """The independent oracle itself knows midsommarafton, julafton and nyårsafton."""
    assert {date(2027, 6, 25), date(2027, 12, 24), date(2027, 12, 31)} <= swedish_days_off(2027)


@pytest.mark.parametrize("year", YEARS)
def test_no_generated_date_falls_on_a_day_off(strategy: Strategy, year: int) -> None:
    offending = [(name, d) for name, d in generated_dates(strategy, year) if day_off(d)]
    assert offending == []


@pytest.mark.parametrize("year", YEARS)
def test_each_meeting_rule_date_off_moves_to_the_next_working_day(
    strategy: Strategy, year: int
) -> None:
    expected = sorted(
        (next_working_day(rule_day(year, month, rule["weekday"], rule["nth"])), rule["council"])
        for rule in shipped()["annual_cycle"]["meetings"]
        for month in rule["months"]
    )
    assert sorted((m.date, m.council) for m in strategy.meetings(year)) == expected


@pytest.mark.parametrize("year", YEARS)
def test_each_cycle_event_and_due_date_moves_to_the_next_working_day(
    strategy: Strategy, year: int
) -> None:
    cycle = shipped()["annual_cycle"]
    events = {
        e["id"]: next_working_day(rule_day(year, e["month"], e["weekday"], e["nth"]))
        for e in cycle["events"]
    }
    assert {e.id: d for e, d in strategy.cycle_event_dates(year)} == events
    for period, rule in zip(strategy.reporting_periods(year), cycle["periods"], strict=True):
        last = calendar.monthrange(year, rule["last_month"])[1]
        end = date(year, rule["last_month"], last)
        assert period.due == next_working_day(end + timedelta(days=cycle["report_due_days"]))


@pytest.mark.parametrize(
    ("rule_date", "moved_to", "what"),
    [
        ("2026-05-30", "2026-06-01", "T1 2026 report due (a Saturday)"),
        ("2027-01-30", "2027-02-01", "T3 2026 report due (a Saturday)"),
        ("2026-01-06", "2026-01-07", "strategic group (trettondedag jul)"),
        ("2028-06-06", "2028-06-07", "strategic group (nationaldagen)"),
        ("2027-06-25", "2027-06-28", "Här och nu, spring 2027 (midsommarafton)"),
    ],
)
def test_the_days_off_the_old_rules_hit_are_moved(
    strategy: Strategy, rule_date: str, moved_to: str, what: str
) -> None:
    year = int(rule_date[:4])
    dates = {d for _, d in generated_dates(strategy, year) + generated_dates(strategy, year - 1)}
    assert date.fromisoformat(rule_date) not in dates, what
    assert date.fromisoformat(moved_to) in dates, what


def test_meetings_are_appointments_from_nine_to_twelve(strategy: Strategy) -> None:
    meeting = strategy.meetings(2026, "rsr")[0]
    assert (meeting.start, meeting.end) == (time(9, 0), time(12, 0))


def test_the_cycle_covers_the_previous_current_and_next_two_years(strategy: Strategy) -> None:
    assert list(strategy.cycle_years(date(2026, 12, 1))) == [2025, 2026, 2027, 2028]


def with_cycle(**changes: Any) -> Strategy:
    data = shipped()
    data["annual_cycle"].update(changes)
    return parse_strategy(data, "test.toml")


def with_rule(**changes: Any) -> Strategy:
    data = shipped()
    data["annual_cycle"]["meetings"][0].update(changes)
    return parse_strategy(data, "test.toml")


def test_a_rule_may_move_to_the_previous_working_day() -> None:
    """Ascension Day 2030 is Thursday 30 May, the last Thursday of May: with
    shift = previous that meeting moves to Wednesday 29 May."""
    strategy = with_rule(nth=-1, months=[5], shift="previous")
    assert date(2030, 5, 29) in [m.date for m in strategy.meetings(2030, "rsr")]


def test_klamdagar_are_a_regional_choice() -> None:
    """Friday 15 May 2026 lies between Ascension Day and the weekend."""
    friday = date(2026, 5, 15)
    assert with_cycle(bridge_days="working").working_days.is_working_day(friday)
    off = with_cycle(bridge_days="off").working_days
    assert not off.is_working_day(friday)
    assert off.why_not(friday) == "klämdag"


def test_a_rule_sets_its_own_start_and_duration() -> None:
    strategy = with_rule(start="13:30", duration_minutes=90)
    meeting = strategy.meetings(2026, "rsr")[0]
    assert (meeting.start, meeting.end) == (time(13, 30), time(15, 0))


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"summer_break": [13]}, "annual_cycle.summer_break"),
        ({"bridge_days": "sometimes"}, "annual_cycle.bridge_days"),
        ({"holidays": "XX"}, "annual_cycle.holidays"),
        ({"meeting_start": "9"}, "annual_cycle.meeting_start"),
        ({"meeting_duration_minutes": 0}, "annual_cycle.meeting_duration_minutes"),
    ],
)
def test_bad_working_day_settings_name_the_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(StrategyConfigError) as raised:
        with_cycle(**changes)
    assert raised.value.key == key


def test_a_bad_shift_names_the_rule() -> None:
    with pytest.raises(StrategyConfigError) as raised:
        with_rule(shift="sideways")
    assert raised.value.key == "annual_cycle.meetings[0].shift"


def test_a_meeting_never_leaves_its_year() -> None:
    """The last Thursday of December 2026 is 31 December, nyårsafton: the next working
    day is in 2027, so the meeting goes to the working day before instead."""
    strategy = with_rule(nth=-1, months=[12])
    december = [m.date for m in strategy.meetings(2026, "rsr") if m.date.month == 12]
    assert december == [date(2026, 12, 30)]
    assert strategy.meeting("rsr", date(2026, 12, 30)) is not None
