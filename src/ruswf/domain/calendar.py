"""A year of the annual cycle as a living calendar: the `CalendarYear` aggregate.

A year without adjustments is what the strategy's rules say (`Strategy.meetings`). The
first adjustment of a year (an admin moves, cancels or adds a meeting, with a reason)
creates its `CalendarYear`, seeded with the meetings the rules gave at that moment;
from then on that year is its events, so a later change of the rules never rewrites it
silently (`differences` says where the rules and the recorded year part).

Meeting ids never change: `rsr-2026-02-19` is RSR's meeting planned on 19 February
2026, wherever it is moved to within its year.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ruswf.domain.content import text
from ruswf.domain.errors import MeetingCancelledError, MeetingNotFoundError, ValidationError
from ruswf.domain.strategy import (
    Meeting,
    Strategy,
    meeting_id,
    parse_business_date,
    parse_meeting_id,
)

PLANNED, CANCELLED = "planned", "cancelled"
MEETING_STATUSES = (PLANNED, CANCELLED)


class MeetingCalendar(Protocol):
    """Where the domain looks meetings up. `Strategy` satisfies it (the rules alone);
    the application's stored calendar adds the adjustments."""

    def meeting(self, council: str, day: date) -> Meeting | None:
        """The council's meeting on `day` (planned or cancelled), if any."""
        ...

    def meetings(self, year: int, council: str | None = None) -> list[Meeting]:
        """The meetings of `year` (of one council), in date order."""
        ...


def find_meeting(calendar: MeetingCalendar, meeting_id_: str) -> Meeting | None:
    """The meeting with this id, wherever it was moved to (moves stay within the year
    its id names)."""
    parsed = parse_meeting_id(meeting_id_)
    if parsed is None:
        return None
    council, planned = parsed
    return next((m for m in calendar.meetings(planned.year, council) if m.id == meeting_id_), None)


def _entry(meeting: Meeting) -> dict[str, Any]:
    return {
        "council": meeting.council,
        "date": meeting.date.isoformat(),
        "format": meeting.format,
        "start": meeting.start.strftime("%H:%M"),
        "duration_minutes": meeting.duration_minutes,
    }


def _meeting(entry: Mapping[str, Any]) -> Meeting:
    return Meeting(
        council=entry["council"],
        date=date.fromisoformat(entry["date"]),
        format=entry["format"],
        start=time.fromisoformat(entry["start"]),
        duration_minutes=entry["duration_minutes"],
        status=entry.get("status", PLANNED),
        planned_date=date.fromisoformat(entry.get("planned_date", entry["date"])),
        sequence=entry.get("sequence", 0),
    )


class CalendarYear(Aggregate):
    """One year of a strategy's annual cycle, with its adjustments."""

    class Event(Aggregate.Event):
        """Every adjustment records who made it, its business date and its reason."""

        actor: dict[str, str]
        effective_date: str

        def apply(self, aggregate: CalendarYear) -> None:
            self.change(aggregate)

        def change(self, aggregate: CalendarYear) -> None:
            """The event's effect on the year."""

    class Seeded(Aggregate.Created):
        strategy: str
        year: int
        meetings: list[dict[str, Any]]
        actor: dict[str, str]
        effective_date: str

    class MeetingMoved(Event):
        meeting_id: str
        council: str
        from_date: str
        date: str
        reason: str

        def change(self, aggregate: CalendarYear) -> None:
            aggregate.adjust_entry(self.meeting_id, date=self.date)

    class MeetingCancelled(Event):
        meeting_id: str
        council: str
        date: str
        reason: str

        def change(self, aggregate: CalendarYear) -> None:
            aggregate.adjust_entry(self.meeting_id, status=CANCELLED)

    class MeetingAdded(Event):
        meeting_id: str
        council: str
        date: str
        format: str
        start: str
        duration_minutes: int
        reason: str

        def change(self, aggregate: CalendarYear) -> None:
            aggregate.entries[self.meeting_id] = {
                "council": self.council,
                "date": self.date,
                "format": self.format,
                "start": self.start,
                "duration_minutes": self.duration_minutes,
                "status": PLANNED,
                "planned_date": self.date,
                "sequence": 0,
                "added": True,
            }

    @staticmethod
    def create_id(strategy: str, year: int) -> UUID:
        """One calendar per strategy and year, found without an index."""
        return uuid5(NAMESPACE_URL, f"ruswf:calendar:{strategy}:{year}")

    @event(Seeded)
    def __init__(
        self,
        strategy: str,
        year: int,
        meetings: list[dict[str, Any]],
        actor: dict[str, str],
        effective_date: str,
    ) -> None:
        self.strategy_id = strategy
        self.year = year
        self.basis = [dict(m) for m in meetings]
        self.entries: dict[str, dict[str, Any]] = {}
        for m in meetings:
            key = meeting_id(m["council"], date.fromisoformat(m["date"]))
            self.entries[key] = {
                **m,
                "status": PLANNED,
                "planned_date": m["date"],
                "sequence": 0,
            }

    def adjust_entry(self, meeting_id_: str, **changes: Any) -> None:
        """Change a meeting's entry (by an event); its sequence counts the changes."""
        entry = self.entries[meeting_id_]
        self.entries[meeting_id_] = {**entry, **changes, "sequence": entry["sequence"] + 1}

    @classmethod
    def seed(
        cls, strategy: Strategy, year: int, actor: Mapping[str, str], day: date
    ) -> CalendarYear:
        """The year as the rules give it now: the basis its adjustments change."""
        return cls(
            strategy=strategy.id,
            year=year,
            meetings=[_entry(m) for m in strategy.meetings(year)],
            actor=dict(actor),
            effective_date=day.isoformat(),
        )

    # -- queries ----------------------------------------------------------------

    def meetings(self, council: str | None = None) -> list[Meeting]:
        found = [
            _meeting(e) for e in self.entries.values() if council is None or e["council"] == council
        ]
        return sorted(found, key=lambda m: (m.date, m.council, m.id))

    def meeting(self, council: str, day: date) -> Meeting | None:
        return next((m for m in self.meetings(council) if m.date == day), None)

    def get(self, meeting_id_: str) -> Meeting:
        entry = self.entries.get(meeting_id_)
        if entry is None:
            raise MeetingNotFoundError(meeting_id_)
        return _meeting(entry)

    def differences(self, strategy: Strategy) -> list[str]:
        """Where the strategy's rules now differ from the basis this year was seeded
        with (empty when they agree)."""
        now = {meeting_id(m.council, m.date): _entry(m) for m in strategy.meetings(self.year)}
        then = {meeting_id(m["council"], date.fromisoformat(m["date"])): m for m in self.basis}
        found = [f"the rules no longer give {key}" for key in sorted(then.keys() - now.keys())]
        found += [f"the rules now give {key}" for key in sorted(now.keys() - then.keys())]
        found += [
            f"{key} changed ({_changed(then[key], now[key])})"
            for key in sorted(then.keys() & now.keys())
            if then[key] != now[key]
        ]
        return found

    # -- commands ---------------------------------------------------------------

    def move(
        self,
        strategy: Strategy,
        actor: Mapping[str, str],
        day: date,
        meeting_id_: str,
        to: object,
        reason: object,
    ) -> Meeting:
        """Move a planned meeting to another working day of its year."""
        meeting, why = self._planned(meeting_id_, reason, "move it")
        target = self._free_working_day(strategy, meeting.council, to, meeting.id)
        if target == meeting.date:
            raise ValidationError("date", f"{meeting.id} is already on {target.isoformat()}")
        self._record_adjustment(
            self.MeetingMoved,
            actor,
            day,
            meeting,
            why,
            from_date=meeting.date.isoformat(),
            date=target.isoformat(),
        )
        return self.get(meeting.id)

    def cancel(
        self, actor: Mapping[str, str], day: date, meeting_id_: str, reason: object
    ) -> Meeting:
        """Cancel a planned meeting (it stays in the calendar, cancelled)."""
        meeting, why = self._planned(meeting_id_, reason, "cancel it again")
        self._record_adjustment(
            self.MeetingCancelled, actor, day, meeting, why, date=meeting.date.isoformat()
        )
        return self.get(meeting.id)

    def add(
        self,
        strategy: Strategy,
        actor: Mapping[str, str],
        day: date,
        council: object,
        on: object,
        reason: object,
    ) -> Meeting:
        """Add a meeting the rules do not give (an extra meeting)."""
        if not isinstance(council, str) or strategy.council(council) is None:
            known = ", ".join(c.id for c in strategy.councils)
            raise ValidationError("council", f"must be one of {known}")
        why = text(reason, "reason")
        target = self._free_working_day(strategy, council, on, None)
        new_id = meeting_id(council, target)
        if new_id in self.entries:
            raise ValidationError("date", f"the id {new_id} is taken by a meeting of {self.year}")
        rule = next((r for r in strategy.meeting_rules if r.council == council), None)
        template = Meeting(council, target, "")
        if rule is not None:
            template = Meeting(council, target, rule.format, rule.start, rule.duration_minutes)
        entry = _entry(template)
        self._record(
            self.MeetingAdded,
            actor,
            day,
            meeting_id=new_id,
            council=council,
            date=entry["date"],
            format=entry["format"],
            start=entry["start"],
            duration_minutes=entry["duration_minutes"],
            reason=why,
        )
        return self.get(new_id)

    def _record(
        self, event_class: type[Event], actor: Mapping[str, str], day: date, **fields: Any
    ) -> None:
        self.trigger_event(event_class, actor=dict(actor), effective_date=day.isoformat(), **fields)

    def _planned(self, meeting_id_: str, reason: object, refused: str) -> tuple[Meeting, str]:
        """The planned meeting an adjustment changes and the reason given for it; a
        cancelled meeting is refused (`refused`: what cannot be done to it)."""
        meeting = self.get(meeting_id_)
        why = text(reason, "reason")
        if meeting.cancelled:
            raise MeetingCancelledError(meeting.id, refused)
        return meeting, why

    def _record_adjustment(
        self,
        event_class: type[Event],
        actor: Mapping[str, str],
        day: date,
        meeting: Meeting,
        why: str,
        **fields: Any,
    ) -> None:
        """Record an adjustment of `meeting`: its id and council, `fields`, the reason."""
        self._record(
            event_class,
            actor,
            day,
            meeting_id=meeting.id,
            council=meeting.council,
            **fields,
            reason=why,
        )

    def _free_working_day(
        self, strategy: Strategy, council: str, value: object, moving: str | None
    ) -> date:
        target = parse_business_date(value, "date")
        if target.year != self.year:
            raise ValidationError(
                "date", f"must be in {self.year} (a year's calendar holds its own meetings)"
            )
        why_not = strategy.working_days.why_not(target)
        if why_not is not None:
            raise ValidationError("date", f"{target.isoformat()} is not a working day ({why_not})")
        taken = next(
            (m for m in self.meetings(council) if m.date == target and m.id != moving), None
        )
        if taken is not None:
            raise ValidationError(
                "date", f"{council} already has a meeting on {target.isoformat()} ({taken.id})"
            )
        return target


def _changed(then: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}: {then.get(k)!r} → {now.get(k)!r}" for k in now if then.get(k) != now[k])
