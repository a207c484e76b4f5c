"""The annual cycle as a living calendar: the strategy's rules, with the adjustments an
admin makes (move, cancel, add a meeting; each an event with who and why).

`StoredCalendar` is the `MeetingCalendar` the initiatives look meetings up in. Its
years are `CalendarYear` aggregates saved through the application (`RusApp`) in the
same event store as the initiatives, so every adjustment is in the event log, the audit
ledger and the audit trail. A year nobody adjusted is what the rules say.
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from ruswf.app.authorization import Role
from ruswf.app.errors import (
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    PermissionDeniedError,
)
from ruswf.app.idempotency import IdempotencyRecord, request_fingerprint
from ruswf.app.views import EventView
from ruswf.domain.calendar import CalendarYear, find_meeting
from ruswf.domain.errors import MeetingNotFoundError, ValidationError
from ruswf.domain.strategy import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    Meeting,
    Strategy,
    parse_business_date,
    parse_meeting_id,
)
from ruswf.domain.strategy import (
    meeting_id as make_meeting_id,
)

if TYPE_CHECKING:
    from ruswf.app.service import RusApp
    from ruswf.domain.commands import ActorRef

log = structlog.get_logger("ruswf.calendar")

ADJUSTERS = frozenset({Role.ADMIN})
"""Who may move, cancel and add meetings."""


class StoredCalendar:
    """The meetings of the annual cycle, with their adjustments, on the app's store."""

    def __init__(self, app: RusApp) -> None:
        self.app = app
        self.strategy: Strategy = app.strategy
        self.zone = ZoneInfo(app.strategy.timezone)

    # -- MeetingCalendar --------------------------------------------------------------

    def meetings(self, year: int, council: str | None = None) -> list[Meeting]:
        """The meetings of `year` (of one council), in date order: the rules', or the
        adjusted year's."""
        adjusted = self.year(year)
        if adjusted is None:
            return self.strategy.meetings(year, council)
        return adjusted.meetings(council)

    def meeting(self, council: str, day: date) -> Meeting | None:
        return next((m for m in self.meetings(day.year, council) if m.date == day), None)

    # -- queries ----------------------------------------------------------------------

    def year(self, year: int) -> CalendarYear | None:
        """The year's adjustments, or None when nobody adjusted it."""
        try:
            found: object = self.app.repository.get(CalendarYear.create_id(self.strategy.id, year))
        except AggregateNotFoundError:
            return None
        assert isinstance(found, CalendarYear)
        return found

    def get(self, meeting_id: str) -> Meeting:
        """The meeting with this id (e.g. `rsr-2026-02-19`), wherever it was moved."""
        found = find_meeting(self, meeting_id)
        if found is None:
            raise MeetingNotFoundError(meeting_id)
        return found

    def history(self, meeting_id: str) -> list[EventView]:
        """The adjustments of one meeting, in order (empty for an unadjusted one)."""
        self.get(meeting_id)
        parsed = parse_meeting_id(meeting_id)
        assert parsed is not None
        year_id = CalendarYear.create_id(self.strategy.id, parsed[1].year)
        if self.year(parsed[1].year) is None:
            return []
        return [
            EventView.of(e)
            for e in self.app.events.get(year_id)
            if getattr(e, "meeting_id", None) == meeting_id
        ]

    def differences(self, years: range | None = None) -> dict[int, list[str]]:
        """Adjusted years whose recorded basis the strategy's rules no longer give."""
        found: dict[int, list[str]] = {}
        for year in years or range(EARLIEST_YEAR, LATEST_YEAR + 1):
            adjusted = self.year(year)
            if adjusted is not None:
                diff = adjusted.differences(self.strategy)
                if diff:
                    found[year] = diff
        return found

    def adjusted_years(self) -> list[int]:
        return [y for y in range(EARLIEST_YEAR, LATEST_YEAR + 1) if self.year(y) is not None]

    # -- commands ---------------------------------------------------------------------

    def move(
        self,
        actor: ActorRef,
        meeting_id: str,
        *,
        date: object,
        reason: object,
        idempotency_key: str | None = None,
    ) -> Meeting:
        """Move a planned meeting to another working day of its year (admin only). A
        retry with the same `idempotency_key` returns the first result."""
        self._authorise(actor)
        keyed = self._keyed(actor, idempotency_key, "move", meeting_id, date=date, reason=reason)
        if isinstance(keyed, Meeting):
            return keyed
        year, today = self._adjusting(actor, meeting_id)
        moved = year.move(self.strategy, actor.as_dict(), today, meeting_id, date, reason)
        return self._save(year, "move", actor, moved, keyed)

    def cancel(
        self,
        actor: ActorRef,
        meeting_id: str,
        *,
        reason: object,
        idempotency_key: str | None = None,
    ) -> Meeting:
        """Cancel a planned meeting (admin only); it stays in the calendar, cancelled."""
        self._authorise(actor)
        keyed = self._keyed(actor, idempotency_key, "cancel", meeting_id, reason=reason)
        if isinstance(keyed, Meeting):
            return keyed
        year, today = self._adjusting(actor, meeting_id)
        cancelled = year.cancel(actor.as_dict(), today, meeting_id, reason)
        return self._save(year, "cancel", actor, cancelled, keyed)

    def add(
        self,
        actor: ActorRef,
        *,
        council: object,
        date: object,
        reason: object,
        idempotency_key: str | None = None,
    ) -> Meeting:
        """Add a meeting the rules do not give (admin only)."""
        self._authorise(actor)
        day = parse_business_date(date, "date")
        new_id = make_meeting_id(str(council), day)
        keyed = self._keyed(
            actor, idempotency_key, "add", new_id, council=council, date=day, reason=reason
        )
        if isinstance(keyed, Meeting):
            return keyed
        year = self._year_for_change(actor, day.year)
        added = year.add(self.strategy, actor.as_dict(), self.app.today(), council, day, reason)
        return self._save(year, "add", actor, added, keyed)

    # -- internals --------------------------------------------------------------------

    def _authorise(self, actor: ActorRef) -> None:
        try:
            role = Role(actor.role)
        except ValueError:
            raise PermissionDeniedError(f"unknown role {actor.role!r}") from None
        if role not in ADJUSTERS:
            raise PermissionDeniedError(
                f"role '{role.value}' may not adjust the annual cycle; needed: admin",
                needed_roles=[r.value for r in ADJUSTERS],
            )
        if self.strategy.actor(actor.organisation) is None:
            raise PermissionDeniedError(f"unknown organisation {actor.organisation!r}")

    def _adjusting(self, actor: ActorRef, meeting_id: str) -> tuple[CalendarYear, date]:
        meeting = self.get(meeting_id)
        planned = meeting.planned_date or meeting.date
        return self._year_for_change(actor, planned.year), self.app.today()

    def _year_for_change(self, actor: ActorRef, year: int) -> CalendarYear:
        """The year's aggregate, seeded from the rules on its first adjustment."""
        found = self.year(year)
        if found is not None:
            return found
        return CalendarYear.seed(self.strategy, year, actor.as_dict(), self.app.today())

    def _keyed(
        self,
        actor: ActorRef,
        key: str | None,
        action: str,
        meeting_id: str,
        **request: object,
    ) -> Meeting | _Key | None:
        """The first result of this keyed request (a retry), or what saving it needs."""
        if key is None:
            return None
        if not isinstance(key, str) or not key.strip() or len(key) > 200:
            raise ValidationError(
                "Idempotency-Key", "must be a non-empty string of at most 200 characters"
            )
        fingerprint = request_fingerprint(
            {"action": f"calendar.{action}", "meeting_id": meeting_id, **request}
        )
        found = _Key(scope=f"{actor.organisation}/{actor.user}", key=key, fingerprint=fingerprint)
        replayed = self._replayed(found, meeting_id)
        return replayed if replayed is not None else found

    def _replayed(self, keyed: _Key, meeting_id: str) -> Meeting | None:
        try:
            record: object = self.app.repository.get(
                IdempotencyRecord.create_id(scope=keyed.scope, key=keyed.key)
            )
        except AggregateNotFoundError:
            return None
        assert isinstance(record, IdempotencyRecord)
        if record.fingerprint != keyed.fingerprint:
            raise IdempotencyKeyReusedError(keyed.key)
        past: object = self.app.repository.get(
            UUID(record.initiative_id), version=record.result_version
        )
        assert isinstance(past, CalendarYear)
        log.info("idempotent_replay", key=keyed.key, meeting_id=meeting_id)
        return past.get(meeting_id)

    def _save(
        self,
        year: CalendarYear,
        action: str,
        actor: ActorRef,
        result: Meeting,
        keyed: _Key | None = None,
    ) -> Meeting:
        started = clock.perf_counter()
        pending: list[Any] = [year]
        if keyed is not None:
            pending.append(
                IdempotencyRecord(
                    scope=keyed.scope,
                    key=keyed.key,
                    fingerprint=keyed.fingerprint,
                    initiative_id=str(year.id),  # the record's field; here the calendar's id
                    result_version=year.version,
                )
            )
        try:
            self.app.save(*pending)
        except IntegrityError:
            replayed = self._replayed(keyed, result.id) if keyed is not None else None
            if replayed is None:
                raise ConcurrencyConflictError(year.id) from None
            return replayed
        log.info(
            "calendar_adjusted",
            action=action,
            meeting_id=result.id,
            calendar_id=str(year.id),
            user=actor.user,
            organisation=actor.organisation,
            version=year.version,
            duration_ms=round((clock.perf_counter() - started) * 1000, 2),
        )
        return result


@dataclass(frozen=True)
class _Key:
    """An idempotency key of a calendar command, with its caller's scope and request."""

    scope: str
    key: str
    fingerprint: str


def calendar_id(strategy: Strategy, year: int) -> UUID:
    return CalendarYear.create_id(strategy.id, year)


def meeting_view(meeting: Meeting, zone: ZoneInfo) -> dict[str, Any]:
    """A meeting as plain data: `status`, and `moved_from` when it was moved."""
    view: dict[str, Any] = {
        "id": meeting.id,
        "council": meeting.council,
        "date": meeting.date.isoformat(),
        "format": meeting.format,
        "start": datetime.combine(meeting.date, meeting.start, zone).isoformat(),
        "end": datetime.combine(meeting.date, meeting.end, zone).isoformat(),
        "status": meeting.status,
        "sequence": meeting.sequence,
    }
    if meeting.moved_from is not None:
        view["moved_from"] = meeting.moved_from.isoformat()
    return view
