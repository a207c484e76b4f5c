"""The strategy in force, as configuration: goal areas, priorities, principles, actors,
councils, arenas and the annual cycle (årshjul).

`Strategy.from_mapping` validates a parsed configuration file and raises
`StrategyConfigError` naming the source, the key and what is wrong.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruswf.domain.errors import StrategyConfigError, ValidationError
from ruswf.domain.workdays import SHIFTS, Shift, WorkingDays

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

    # -- validation of references ---------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str) -> Strategy:
        """Build and validate a strategy from parsed configuration."""
        return _Parser(data, source).strategy()


T = TypeVar("T", Named, Actor, Council, Priority)


def _find(items: Iterable[T], item_id: str) -> T | None:
    return next((i for i in items if i.id == item_id), None)


class _Parser:
    """Reads a configuration mapping; every error names the key that is wrong."""

    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.data = data
        self.source = source

    def fail(self, key: str, reason: str) -> StrategyConfigError:
        return StrategyConfigError(self.source, key, reason)

    def get(
        self, table: Mapping[str, Any], key: str, path: str, kind: type, default: Any = ...
    ) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(f"{path}.{key}".lstrip("."), "missing")
            return default
        value = table[key]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.fail(
                f"{path}.{key}".lstrip("."),
                f"expected {kind.__name__}, got {type(value).__name__} {value!r}",
            )
        return value

    def table(self, key: str) -> Mapping[str, Any]:
        return self.get(self.data, key, "", dict)  # type: ignore[no-any-return]

    def array(self, table: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
        items = self.get(table, key, path, list)
        if not items:
            raise self.fail(f"{path}.{key}".lstrip("."), "must list at least one entry")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.fail(f"{path}.{key}[{index}]".lstrip("."), "expected a table")
        return items  # type: ignore[no-any-return]

    def entries(
        self,
        key: str,
        build: Callable[[Mapping[str, Any], str], Any],
        table: Mapping[str, Any] | None = None,
        path: str = "",
    ) -> tuple[Any, ...]:
        built = []
        seen: set[object] = set()
        for index, item in enumerate(self.array(self.data if table is None else table, key, path)):
            where = f"{path}.{key}[{index}]".lstrip(".")
            entry = build(item, where)
            entry_id = getattr(entry, "id", None)
            if entry_id is not None:
                if entry_id in seen:
                    raise self.fail(f"{where}.id", f"duplicate id {entry_id!r}")
                seen.add(entry_id)
            built.append(entry)
        return tuple(built)

    def ident(self, item: Mapping[str, Any], where: str) -> str:
        value: str = self.get(item, "id", where, str)
        if not ID_PATTERN.match(value):
            raise self.fail(f"{where}.id", f"ids use a-z, 0-9 and _ only: {value!r}")
        return value

    def named(self, item: Mapping[str, Any], where: str) -> Named:
        return Named(self.ident(item, where), self.text(item, "name", where))

    def text(self, item: Mapping[str, Any], key: str, where: str, default: Any = ...) -> str:
        value: str = self.get(item, key, where, str, default)
        if default is ... and not value.strip():
            raise self.fail(f"{where}.{key}", "must not be empty")
        return value

    def weekday(self, item: Mapping[str, Any], where: str) -> int:
        name = self.get(item, "weekday", where, str).lower()
        if name not in WEEKDAYS:
            raise self.fail(f"{where}.weekday", f"expected one of {', '.join(WEEKDAYS)}")
        return WEEKDAYS.index(name)

    def month(self, value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 12:
            raise self.fail(key, f"months are 1-12, got {value!r}")
        return value

    def nth(self, item: Mapping[str, Any], where: str) -> int:
        nth: int = self.get(item, "nth", where, int)
        if nth not in (-1, 1, 2, 3, 4):
            raise self.fail(f"{where}.nth", "expected 1, 2, 3, 4 or -1 (the last)")
        return nth

    def strategy(self) -> Strategy:
        head = self.table("strategy")
        goal_areas = self.entries("goal_areas", self.named)
        goal_ids = {g.id for g in goal_areas}
        councils = self.entries("councils", self.council)
        council_ids = {c.id for c in councils}

        def priority(item: Mapping[str, Any], where: str) -> Priority:
            goal = self.get(item, "goal_area", where, str, None)
            if goal is not None and goal not in goal_ids:
                raise self.fail(f"{where}.goal_area", f"unknown goal area {goal!r}")
            return Priority(self.ident(item, where), self.text(item, "name", where), goal)

        def actor(item: Mapping[str, Any], where: str) -> Actor:
            member_of = self.get(item, "councils", where, list, [])
            for index, council_id in enumerate(member_of):
                if not isinstance(council_id, str) or council_id not in council_ids:
                    raise self.fail(f"{where}.councils[{index}]", f"unknown council {council_id!r}")
            return Actor(
                self.ident(item, where),
                self.text(item, "name", where),
                self.get(item, "kind", where, str, ""),
                tuple(member_of),
            )

        def arena(item: Mapping[str, Any], where: str) -> Arena:
            return Arena(self.get(item, "id", where, int), self.text(item, "name", where))

        cycle = self.table("annual_cycle")
        default_start = self.clock(cycle, "meeting_start", "annual_cycle", DEFAULT_MEETING_START)
        default_minutes = self.minutes(
            cycle, "meeting_duration_minutes", "annual_cycle", DEFAULT_MEETING_MINUTES
        )

        def meeting_rule(item: Mapping[str, Any], where: str) -> MeetingRule:
            council_id = self.get(item, "council", where, str)
            if council_id not in council_ids:
                raise self.fail(f"{where}.council", f"unknown council {council_id!r}")
            months = self.get(item, "months", where, list)
            return MeetingRule(
                council_id,
                self.weekday(item, where),
                self.nth(item, where),
                tuple(self.month(m, f"{where}.months") for m in months),
                self.get(item, "format", where, str, ""),
                self.clock(item, "start", where, default_start),
                self.minutes(item, "duration_minutes", where, default_minutes),
                self.shift(item, where),
            )

        def cycle_event(item: Mapping[str, Any], where: str) -> CycleEvent:
            return CycleEvent(
                self.ident(item, where),
                self.text(item, "name", where),
                self.weekday(item, where),
                self.nth(item, where),
                self.month(self.get(item, "month", where, int), f"{where}.month"),
                self.shift(item, where),
            )

        def period(item: Mapping[str, Any], where: str) -> PeriodRule:
            period_id = self.get(item, "id", where, str)
            if not re.match(r"^[A-Za-z0-9]+$", period_id):
                raise self.fail(f"{where}.id", f"period ids use letters and digits: {period_id!r}")
            first = self.month(self.get(item, "first_month", where, int), f"{where}.first_month")
            last = self.month(self.get(item, "last_month", where, int), f"{where}.last_month")
            if last < first:
                raise self.fail(f"{where}.last_month", "must not be before first_month")
            return PeriodRule(period_id, self.text(item, "name", where), first, last)

        periods: tuple[PeriodRule, ...] = self.entries("periods", period, cycle, "annual_cycle")
        covered = sorted(m for p in periods for m in range(p.first_month, p.last_month + 1))
        if covered != list(range(1, 13)):
            raise self.fail(
                "annual_cycle.periods", "reporting periods must cover each month exactly once"
            )
        due_days = self.get(cycle, "report_due_days", "annual_cycle", int)
        if due_days < 0:
            raise self.fail("annual_cycle.report_due_days", "must not be negative")
        meeting_rules: tuple[MeetingRule, ...] = self.entries(
            "meetings", meeting_rule, cycle, "annual_cycle"
        )
        deciding = {c.id for c in councils if c.decides}
        if not deciding & {r.council for r in meeting_rules}:
            raise self.fail("annual_cycle.meetings", "no deciding council has any meetings")
        events: tuple[CycleEvent, ...] = (
            self.entries("events", cycle_event, cycle, "annual_cycle") if "events" in cycle else ()
        )
        return Strategy(
            id=self.ident(head, "strategy"),
            name=self.text(head, "name", "strategy"),
            region=self.text(head, "region", "strategy"),
            vision=self.get(head, "vision", "strategy", str, ""),
            timezone=self.timezone(head),
            goal_areas=goal_areas,
            priorities=self.entries("priorities", priority),
            principles=self.entries("principles", self.named),
            actors=self.entries("actors", actor),
            councils=councils,
            arenas=self.entries("arenas", arena),
            meeting_rules=meeting_rules,
            cycle_events=events,
            periods=periods,
            report_due_days=due_days,
            working_days=self.working_days(cycle),
            years_before=self.span(cycle, "years_before", 1),
            years_after=self.span(cycle, "years_after", 2),
        )

    def working_days(self, cycle: Mapping[str, Any]) -> WorkingDays:
        country: str = self.get(cycle, "holidays", "annual_cycle", str, "SE")
        try:
            WorkingDays(country).holidays_of(2000)
        except NotImplementedError:
            raise self.fail(
                "annual_cycle.holidays", f"no holiday calendar for country {country!r}"
            ) from None
        months = self.get(cycle, "summer_break", "annual_cycle", list, [])
        bridge_days = self.get(cycle, "bridge_days", "annual_cycle", str, "working")
        if bridge_days not in ("working", "off"):
            raise self.fail("annual_cycle.bridge_days", "expected 'working' or 'off'")
        return WorkingDays(
            country=country,
            summer_break=tuple(self.month(m, "annual_cycle.summer_break") for m in months),
            bridge_days_off=bridge_days == "off",
        )

    def span(self, cycle: Mapping[str, Any], key: str, default: int) -> int:
        value: int = self.get(cycle, key, "annual_cycle", int, default)
        if not 0 <= value <= 10:
            raise self.fail(f"annual_cycle.{key}", "expected 0-10 years")
        return value

    def clock(self, item: Mapping[str, Any], key: str, where: str, default: time) -> time:
        value = self.get(item, key, where, str, None)
        if value is None:
            return default
        try:
            parsed = time.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or len(value) != 5 or parsed.second or parsed.tzinfo:
            raise self.fail(f"{where}.{key}", f"expected a time of day HH:MM, got {value!r}")
        return parsed

    def minutes(self, item: Mapping[str, Any], key: str, where: str, default: int) -> int:
        value: int = self.get(item, key, where, int, default)
        if not 1 <= value <= 24 * 60:
            raise self.fail(f"{where}.{key}", "expected 1-1440 minutes")
        return value

    def shift(self, item: Mapping[str, Any], where: str) -> Shift:
        value = self.get(item, "shift", where, str, "next")
        if value not in SHIFTS:
            raise self.fail(f"{where}.shift", "expected 'next' or 'previous'")
        return cast(Shift, value)

    def timezone(self, head: Mapping[str, Any]) -> str:
        name: str = self.get(head, "timezone", "strategy", str, "Europe/Stockholm")
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("strategy.timezone", f"unknown time zone {name!r}") from None
        return name

    def council(self, item: Mapping[str, Any], where: str) -> Council:
        return Council(
            self.ident(item, where),
            self.text(item, "name", where),
            self.get(item, "kind", where, str, ""),
            self.get(item, "decides", where, bool, False),
            self.get(item, "convener", where, str, None),
            self.get(item, "description", where, str, ""),
        )
