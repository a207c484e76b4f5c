"""Working days of the annual cycle: no weekend, no public holiday (the maintained
`holidays` package: the country's PUBLIC and DE_FACTO categories, which for Sweden
include midsommarafton, julafton and nyårsafton), not in the strategy's summer break,
and — when the region says so — no klämdag (a weekday between two days off).

`holidays` is a pure library (no I/O), so it is allowed in the domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import holidays

Shift = Literal["next", "previous"]
SHIFTS: tuple[Shift, ...] = ("next", "previous")
HOLIDAY_CATEGORIES = (holidays.PUBLIC, holidays.DE_FACTO)
WEEKDAY_NAMES_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MAX_SHIFT_DAYS = 400
"""A year always has working days; more steps than this mean a misconfigured calendar."""


@dataclass(frozen=True)
class WorkingDays:
    """Which days a meeting, event or due date may fall on.

    Args:
        country: ISO 3166 country code for `holidays` (RUS 2030: "SE").
        summer_break: months without meetings (RUS 2030: July).
        bridge_days_off: whether klämdagar (a weekday with a day off on both sides)
            are days off.
    """

    country: str = "SE"
    summer_break: tuple[int, ...] = ()
    bridge_days_off: bool = False
    _years: dict[int, dict[date, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def holidays_of(self, year: int) -> dict[date, str]:
        """The country's public and de facto holidays of `year`, with their names."""
        found = self._years.get(year)
        if found is None:
            # Two threads may both compute a year at first: the same value, stored twice.
            table = holidays.country_holidays(
                self.country, years=year, categories=HOLIDAY_CATEGORIES, language="sv"
            )
            found = {day: str(name) for day, name in table.items()}
            self._years[year] = found
        return found

    def holiday(self, day: date) -> str | None:
        return self.holidays_of(day.year).get(day)

    def why_not(self, day: date) -> str | None:
        """Why `day` is not a working day (None when it is one)."""
        reason = self._day_off(day)
        if reason is None and self.bridge_days_off and self._is_bridge_day(day):
            reason = "klämdag"
        return reason

    def is_working_day(self, day: date) -> bool:
        return self.why_not(day) is None

    def shift(self, day: date, direction: Shift = "next", *, within_year: bool = False) -> date:
        """`day` if it is a working day, else the next (or previous) working day. With
        `within_year`, a shift that would leave the year goes the other way instead (a
        year's meetings stay in that year)."""
        found = self._walk(day, 1 if direction == "next" else -1)
        if within_year and found.year != day.year:
            found = self._walk(day, -1 if direction == "next" else 1)
        return found

    def _walk(self, day: date, step_days: int) -> date:
        step = timedelta(days=step_days)
        found = day
        for _ in range(MAX_SHIFT_DAYS):
            if self.is_working_day(found):
                return found
            found += step
        msg = f"no working day within {MAX_SHIFT_DAYS} days of {day.isoformat()}"
        raise ValueError(msg)

    def _day_off(self, day: date) -> str | None:
        if day.weekday() >= 5:
            return WEEKDAY_NAMES_SV[day.weekday()]
        name = self.holiday(day)
        if name is not None:
            return name
        if day.month in self.summer_break:
            return "sommaruppehåll"
        return None

    def _is_bridge_day(self, day: date) -> bool:
        one = timedelta(days=1)
        return self._day_off(day - one) is not None and self._day_off(day + one) is not None
