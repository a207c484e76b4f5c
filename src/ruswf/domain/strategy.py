"""The strategy in force, as configuration: goal areas, priorities, principles, actors,
councils, arenas and the annual cycle (årshjul).

The model only; `ruswf.domain.strategy_file.parse_strategy` reads a parsed configuration
file into it and raises `StrategyConfigError` naming the source, the key and what is
wrong.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from ruswf.domain.errors import ValidationError
from ruswf.domain.workdays import Shift, WorkingDays

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PERIOD_PATTERN = re.compile(r"^(\d{4})-([A-Za-z0-9]+)$")
ID_PATTERN = re.compile(r"^[a-z0-9_]+$")
# Business dates outside this span are typing mistakes, not history.
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100


@dataclass(frozen=True)
class Named:
    """Anything with a stable id and a display name."""

    id: str
    name: str


@dataclass(frozen=True)
class Priority(Named):
    goal_area: str | None = None


@dataclass(frozen=True)
class Actor(Named):
    kind: str = ""
    councils: tuple[str, ...] = ()


@dataclass(frozen=True)
class Council(Named):
    kind: str = ""
    decides: bool = False
    convener: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Arena:
    id: int
    name: str


DEFAULT_MEETING_START = time(9, 0)
DEFAULT_MEETING_MINUTES = 180


@dataclass(frozen=True)
class MeetingRule:
    """The `nth` `weekday` of each of `months` (nth = -1: the last one), from `start`
    for `duration_minutes`. A date that is not a working day moves to the `shift`
    (next or previous) working day."""

    council: str
    weekday: int
    nth: int
    months: tuple[int, ...]
    format: str = ""
    start: time = DEFAULT_MEETING_START
    duration_minutes: int = DEFAULT_MEETING_MINUTES
    shift: Shift = "next"

    def rule_dates(self, year: int) -> list[date]:
        """The dates the rule names, before moving off days off."""
        return [nth_weekday(year, month, self.weekday, self.nth) for month in self.months]

    def dates(self, year: int, working_days: WorkingDays | None = None) -> list[date]:
        """The meeting dates of `year`: each on a working day of `working_days`."""
        found = self.rule_dates(year)
        if working_days is None:
            return found
        return [working_days.shift(day, self.shift, within_year=True) for day in found]


@dataclass(frozen=True)
class CycleEvent:
    id: str
    name: str
    weekday: int
    nth: int
    month: int
    shift: Shift = "next"


@dataclass(frozen=True)
class PeriodRule:
    id: str
    name: str
    first_month: int
    last_month: int


_Date = date  # `Meeting.date` shadows the type inside the class body


@dataclass(frozen=True)
class Meeting:
    """A council meeting. Its `id` (council and planned date, e.g. `rsr-2026-02-19`)
    never changes: a meeting moved by an adjustment keeps it (`planned_date`)."""

    council: str
    date: date
    format: str
    start: time = DEFAULT_MEETING_START
    duration_minutes: int = DEFAULT_MEETING_MINUTES
    status: str = "planned"
    planned_date: _Date | None = None
    sequence: int = 0
    """How many times the meeting was changed (moved, cancelled): iCalendar's SEQUENCE."""

    @property
    def id(self) -> str:
        return meeting_id(self.council, self.planned_date or self.date)

    @property
    def moved_from(self) -> _Date | None:
        """The planned date, when the meeting was moved away from it."""
        planned = self.planned_date or self.date
        return planned if planned != self.date else None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    @property
    def end(self) -> time:
        moment = datetime.combine(self.date, self.start) + timedelta(minutes=self.duration_minutes)
        return moment.time()


def meeting_id(council: str, day: date) -> str:
    """The stable id of a council's meeting planned on `day`."""
    return f"{council}-{day.isoformat()}"


def parse_meeting_id(value: str) -> tuple[str, date] | None:
    """The council and planned date a meeting id names, or None if it names none."""
    council, _, day = value.partition("-") if isinstance(value, str) else ("", "", "")
    if not ID_PATTERN.match(council):
        return None
    try:
        return council, date.fromisoformat(day)
    except ValueError:
        return None


@dataclass(frozen=True, order=True)
class ReportingPeriod:
    """One reporting period of one year, e.g. `2026-T1`."""

    start: date
    end: date
    id: str = field(compare=False)
    name: str = field(compare=False)
    due: date = field(compare=False)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The `nth` (1-based; -1 = last) `weekday` (0 = Monday) of a month."""
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    return days[nth - 1] if nth > 0 else days[nth]


def parse_business_date(value: object, field_name: str) -> date:
    """An ISO date (YYYY-MM-DD) within the span the engine accepts."""
    if isinstance(value, datetime):
        # A datetime is a date too, but its isoformat() would carry the time of day.
        raise ValidationError(field_name, "must be a date without a time of day (YYYY-MM-DD)")
    if isinstance(value, date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValidationError(field_name, f"not a date (YYYY-MM-DD): {value!r}") from None
    else:
        raise ValidationError(field_name, "must be a date string (YYYY-MM-DD)")
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValidationError(field_name, f"year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return parsed


@dataclass(frozen=True)
class Strategy:
    """A regional development strategy with its annual cycle."""

    id: str
    name: str
    region: str
    vision: str
    timezone: str
    goal_areas: tuple[Named, ...]
    priorities: tuple[Priority, ...]
    principles: tuple[Named, ...]
    actors: tuple[Actor, ...]
    councils: tuple[Council, ...]
    arenas: tuple[Arena, ...]
    meeting_rules: tuple[MeetingRule, ...]
    cycle_events: tuple[CycleEvent, ...]
    periods: tuple[PeriodRule, ...]
    report_due_days: int
    working_days: WorkingDays = field(default_factory=WorkingDays)
    years_before: int = 1
    years_after: int = 2
    """The annual cycle covers this many years before and after the current one."""
    _periods: dict[tuple[int, str], ReportingPeriod] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _periods_by_id: dict[str, ReportingPeriod] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Reporting periods already built (the projections look some up for most events)."""

    # -- look-ups -------------------------------------------------------------

    def goal_area(self, goal_area_id: str) -> Named | None:
        return _find(self.goal_areas, goal_area_id)

    def actor(self, actor_id: str) -> Actor | None:
        return _find(self.actors, actor_id)

    def resolve_actor(self, id_or_name: str) -> Actor | None:
        """An actor by its id or its exact name."""
        return self.actor(id_or_name) or next(
            (a for a in self.actors if a.name == id_or_name), None
        )

    def council(self, council_id: str) -> Council | None:
        return _find(self.councils, council_id)

    @property
    def deciding_councils(self) -> tuple[Council, ...]:
        return tuple(c for c in self.councils if c.decides)

    # -- the annual cycle -----------------------------------------------------

    def meetings(self, year: int, council: str | None = None) -> list[Meeting]:
        """Council meetings of a year, in date order."""
        found = [
            Meeting(rule.council, day, rule.format, rule.start, rule.duration_minutes)
            for rule in self.meeting_rules
            if council is None or rule.council == council
            for day in rule.dates(year, self.working_days)
        ]
        return sorted(found, key=lambda m: (m.date, m.council))

    def meeting(self, council: str, day: date) -> Meeting | None:
        return next((m for m in self.meetings(day.year, council) if m.date == day), None)

    def cycle_years(self, today: date) -> range:
        """The years the annual cycle shows: from `years_before` before today's year to
        `years_after` after it."""
        return range(today.year - self.years_before, today.year + self.years_after + 1)

    def cycle_event_dates(self, year: int) -> list[tuple[CycleEvent, date]]:
        """RUS-dagen, "Här och nu" and the other fixed points of `year`, on working days."""
        return sorted(
            (
                (
                    e,
                    self.working_days.shift(
                        nth_weekday(year, e.month, e.weekday, e.nth), e.shift, within_year=True
                    ),
                )
                for e in self.cycle_events
            ),
            key=lambda pair: pair[1],
        )

    def reporting_periods(self, year: int) -> list[ReportingPeriod]:
        return [self._period(year, rule) for rule in self.periods]

    def _period(self, year: int, rule: PeriodRule) -> ReportingPeriod:
        found = self._periods.get((year, rule.id))
        if found is None:
            start = date(year, rule.first_month, 1)
            end = date(year, rule.last_month, calendar.monthrange(year, rule.last_month)[1])
            found = ReportingPeriod(
                start=start,
                end=end,
                id=f"{year}-{rule.id}",
                name=rule.name,
                due=self.working_days.shift(end + timedelta(days=self.report_due_days)),
            )
            self._periods[(year, rule.id)] = found
        return found

    def period(self, period_id: str) -> ReportingPeriod:
        """The reporting period named `period_id` (e.g. `2026-T1`), or raise."""
        known_period = self._periods_by_id.get(period_id) if isinstance(period_id, str) else None
        if known_period is not None:
            return known_period
        match = PERIOD_PATTERN.match(period_id) if isinstance(period_id, str) else None
        rule = match and next((r for r in self.periods if r.id == match.group(2)), None)
        if not match or rule is None:
            known = ", ".join(f"YYYY-{r.id}" for r in self.periods)
            raise ValidationError("period", f"not a reporting period ({known}): {period_id!r}")
        year = int(match.group(1))
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise ValidationError(
                "period", f"year must be between {EARLIEST_YEAR} and {LATEST_YEAR}"
            )
        found = self._period(year, rule)
        self._periods_by_id[period_id] = found
        return found

    def period_of(self, day: date) -> ReportingPeriod:
        """The reporting period containing `day`."""
        for rule in self.periods:
            if rule.first_month <= day.month <= rule.last_month:
                return self._period(day.year, rule)
        raise ValidationError("date", f"{day} falls in no reporting period")  # pragma: no cover

    def periods_between(
        self, first: ReportingPeriod, last: ReportingPeriod
    ) -> list[ReportingPeriod]:
        """Every reporting period from `first` to `last`, inclusive."""
        return [
            p
            for year in range(first.start.year, last.start.year + 1)
            for p in self.reporting_periods(year)
            if first.start <= p.start <= last.start
        ]


T = TypeVar("T", Named, Actor, Council, Priority)


def _find(items: Iterable[T], item_id: str) -> T | None:
    return next((i for i in items if i.id == item_id), None)
