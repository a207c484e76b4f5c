"""The strategy file: a parsed configuration mapping (TOML) read into the `Strategy`
model, every error naming the source, the key and what is wrong (`StrategyConfigError`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import time
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruswf.domain.errors import StrategyConfigError
from ruswf.domain.strategy import (
    DEFAULT_MEETING_MINUTES,
    DEFAULT_MEETING_START,
    ID_PATTERN,
    WEEKDAYS,
    Actor,
    Arena,
    Council,
    CycleEvent,
    MeetingRule,
    Named,
    PeriodRule,
    Priority,
    Strategy,
)
from ruswf.domain.workdays import SHIFTS, Shift, WorkingDays


def parse_strategy(data: Mapping[str, Any], source: str) -> Strategy:
    """Build and validate a strategy from parsed configuration."""
    return _Parser(data, source).strategy()


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
