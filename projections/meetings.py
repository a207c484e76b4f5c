"""Council meetings: per meeting of the annual cycle, its agenda (the initiatives
scheduled for it, or deferred to it) and its decisions (the minutes, "protokoll").

A year an admin adjusted (docs/calendar.md) is its `CalendarYear` events: each meeting's
status (`planned` | `cancelled`) and, when moved, `moved_from`. A moved meeting takes its
agenda along; the initiatives waiting on a cancelled meeting's agenda are listed in
its `needs_new_meeting`."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from projections.base import (
    CALENDAR_EVENT_TYPES,
    CalendarEvent,
    InitiativeEvent,
    InitiativeTable,
    ReadModel,
    day,
)
from projections.store import Session, Table
from ruswf.domain.calendar import CANCELLED, PLANNED, CalendarYear
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import Meeting, meeting_id

OUTCOMES = ("approved", "rejected", "deferred", "referred_back")

MEETING_INITIATIVES = InitiativeTable(
    "proj_meeting_initiatives",
    {
        "agenda_council": "text",
        "agenda_date": "date",
    },
)

MEETING_AGENDA = Table(
    "proj_meeting_agenda",
    {
        "council": "text NOT NULL",
        "meeting_date": "date NOT NULL",
        "initiative_id": "text NOT NULL",
        "position": "bigint NOT NULL",
        "scheduled_at": "timestamptz NOT NULL",
    },
    primary_key=("council", "meeting_date", "initiative_id"),
    indexes={
        "proj_meeting_agenda_date": "meeting_date, council",
    },
)

MEETING_DECISIONS = Table(
    "proj_meeting_decisions",
    {
        "position": "bigint PRIMARY KEY",
        "council": "text NOT NULL",
        "meeting_date": "date NOT NULL",
        "initiative_id": "text NOT NULL",
        "outcome": "text NOT NULL",
        "text": "text NOT NULL",
        "next_meeting_date": "date",
        "recorded_at": "timestamptz NOT NULL",
        "recorded_by": "text NOT NULL",
    },
    indexes={
        "proj_meeting_decisions_date": "meeting_date, council",
        "proj_meeting_decisions_initiative": "initiative_id",
    },
)

MEETING_YEARS = Table(
    "proj_meeting_years",
    {
        "year": "integer PRIMARY KEY",
    },
)

MEETING_CALENDAR = Table(
    "proj_meeting_calendar",
    {
        "meeting_id": "text PRIMARY KEY",
        "year": "integer NOT NULL",
        "council": "text NOT NULL",
        "meeting_date": "date NOT NULL",
        "planned_date": "date NOT NULL",
        "format": "text NOT NULL",
        "start_time": "text NOT NULL",
        "duration_minutes": "integer NOT NULL",
        "status": "text NOT NULL",
        "sequence": "integer NOT NULL",
    },
)


class Meetings(ReadModel):
    """Agendas and decisions of the deciding councils' meetings."""

    name = "meetings"
    version = 2
    event_types = (*ReadModel.event_types, *CALENDAR_EVENT_TYPES)
    initiatives = MEETING_INITIATIVES
    tables = (
        MEETING_INITIATIVES,
        MEETING_AGENDA,
        MEETING_DECISIONS,
        MEETING_YEARS,
        MEETING_CALENDAR,
    )

    def apply(
        self, session: Session, event: InitiativeEvent | CalendarEvent, position: int
    ) -> None:
        if isinstance(event, CalendarYear.Event | CalendarYear.Seeded):
            self._adjust(session, event)
            return
        iid = str(event.originator_id)
        match event:
            case Initiative.Scheduled():
                self._put_on_agenda(
                    session, iid, event.council, day(event.meeting_date), event, position
                )
            case Initiative.Approved():
                self._decide(session, iid, event, position, "approved", event.decision_text)
            case Initiative.Rejected():
                self._decide(session, iid, event, position, "rejected", event.reason)
            case Initiative.ReferredBack():
                self._decide(session, iid, event, position, "referred_back", event.reason)
            case Initiative.Deferred():
                self._decide(
                    session, iid, event, position, "deferred", event.reason, event.next_meeting_date
                )
                self._put_on_agenda(
                    session, iid, event.council, day(event.next_meeting_date), event, position
                )
            case Initiative.Withdrawn():
                # Off the agenda it was waiting on (not off those where it was decided).
                waiting = session.fetchone(
                    "SELECT agenda_council, agenda_date FROM {proj_meeting_initiatives}"
                    " WHERE initiative_id = :id",
                    {"id": iid},
                )
                if waiting is not None and waiting["agenda_council"] is not None:
                    session.execute(
                        "DELETE FROM {proj_meeting_agenda} WHERE council = :council"
                        " AND meeting_date = :meeting AND initiative_id = :id"
                        " AND NOT EXISTS (SELECT 1 FROM {proj_meeting_decisions} d"
                        "  WHERE d.initiative_id = :id AND d.council = :council"
                        "  AND d.meeting_date = :meeting)",
                        {
                            "council": waiting["agenda_council"],
                            "meeting": day(waiting["agenda_date"]),
                            "id": iid,
                        },
                    )
                    self._set_agenda(session, iid, None, None)
            case _:
                pass

    def _adjust(self, session: Session, event: CalendarEvent) -> None:
        match event:
            case CalendarYear.Seeded():
                session.execute(
                    "INSERT INTO {proj_meeting_years} (year) VALUES (:year)", {"year": event.year}
                )
                for entry in event.meetings:
                    planned = day(entry["date"])
                    self._insert_meeting(
                        session, meeting_id(entry["council"], planned), event.year, entry
                    )
            case CalendarYear.MeetingAdded():
                self._insert_meeting(
                    session,
                    event.meeting_id,
                    day(event.date).year,
                    {
                        "council": event.council,
                        "date": event.date,
                        "format": event.format,
                        "start": event.start,
                        "duration_minutes": event.duration_minutes,
                    },
                )
            case CalendarYear.MeetingMoved():
                old, new = day(event.from_date), day(event.date)
                session.execute(
                    "UPDATE {proj_meeting_calendar} SET meeting_date = :new,"
                    " sequence = sequence + 1 WHERE meeting_id = :id",
                    {"new": new, "id": event.meeting_id},
                )
                # The agenda moves with its meeting (the minutes of decisions already
                # taken stay where they were taken).
                moved = {"council": event.council, "old": old, "new": new}
                session.execute(
                    "UPDATE {proj_meeting_agenda} SET meeting_date = :new"
                    " WHERE council = :council AND meeting_date = :old",
                    moved,
                )
                session.execute(
                    "UPDATE {proj_meeting_initiatives} SET agenda_date = :new"
                    " WHERE agenda_council = :council AND agenda_date = :old",
                    moved,
                )
            case CalendarYear.MeetingCancelled():
                session.execute(
                    "UPDATE {proj_meeting_calendar} SET status = :status,"
                    " sequence = sequence + 1 WHERE meeting_id = :id",
                    {"status": CANCELLED, "id": event.meeting_id},
                )
            case _:
                pass

    def _insert_meeting(self, session: Session, mid: str, year: int, entry: dict[str, Any]) -> None:
        session.execute(
            "INSERT INTO {proj_meeting_calendar} (meeting_id, year, council, meeting_date,"
            " planned_date, format, start_time, duration_minutes, status, sequence)"
            " VALUES (:id, :year, :council, :date, :date, :format, :start, :minutes,"
            " :status, 0)",
            {
                "id": mid,
                "year": year,
                "council": entry["council"],
                "date": day(entry["date"]),
                "format": entry["format"],
                "start": entry["start"],
                "minutes": entry["duration_minutes"],
                "status": PLANNED,
            },
        )

    def _put_on_agenda(
        self,
        session: Session,
        iid: str,
        council: str,
        meeting: date,
        event: InitiativeEvent,
        position: int,
    ) -> None:
        session.execute(
            "INSERT INTO {proj_meeting_agenda} (council, meeting_date, initiative_id, position,"
            " scheduled_at) VALUES (:council, :meeting, :id, :position, :at)"
            " ON CONFLICT (council, meeting_date, initiative_id) DO NOTHING",
            {
                "council": council,
                "meeting": meeting,
                "id": iid,
                "position": position,
                "at": event.timestamp,
            },
        )
        self._set_agenda(session, iid, council, meeting)

    def _set_agenda(
        self, session: Session, iid: str, council: str | None, meeting: date | None
    ) -> None:
        session.execute(
            "UPDATE {proj_meeting_initiatives} SET agenda_council = :council,"
            " agenda_date = :meeting WHERE initiative_id = :id",
            {"council": council, "meeting": meeting, "id": iid},
        )

    def _decide(
        self,
        session: Session,
        iid: str,
        event: Initiative.Approved
        | Initiative.Rejected
        | Initiative.ReferredBack
        | Initiative.Deferred,
        position: int,
        outcome: str,
        text: str,
        next_meeting: str | None = None,
    ) -> None:
        session.execute(
            "INSERT INTO {proj_meeting_decisions} (position, council, meeting_date, initiative_id,"
            " outcome, text, next_meeting_date, recorded_at, recorded_by) VALUES (:position,"
            " :council, :meeting, :id, :outcome, :text, :next_meeting, :at, :by)",
            {
                "position": position,
                "council": event.council,
                "meeting": day(event.meeting_date),
                "id": iid,
                "outcome": outcome,
                "text": text,
                "next_meeting": day(next_meeting) if next_meeting else None,
                "at": event.timestamp,
                "by": event.actor["user"],
            },
        )
        if outcome != "deferred":
            self._set_agenda(session, iid, None, None)

    # -- queries ------------------------------------------------------------------------

    def meetings(self, year: int, council: str | None = None) -> list[dict[str, Any]]:
        """Every meeting of `year` in the annual cycle (and any other date something was
        scheduled or decided on), with its agenda and decisions, in date order."""
        if council is not None and self.strategy.council(council) is None:
            known = ", ".join(c.id for c in self.strategy.councils)
            raise ValidationError("council", f"unknown council {council!r} (known: {known})")
        params: dict[str, Any] = {"first": date(year, 1, 1), "last": date(year, 12, 31)}
        council_filter = ""
        if council is not None:
            council_filter = " AND a.council = :council"
            params["council"] = council
        with self.view.read() as session:
            agenda = session.fetchall(
                "SELECT a.council, a.meeting_date, a.initiative_id, i.title FROM"
                " {proj_meeting_agenda} a JOIN {proj_meeting_initiatives} i"
                " ON i.initiative_id = a.initiative_id"
                " WHERE a.meeting_date BETWEEN :first AND :last"
                + council_filter
                + " ORDER BY a.position, a.initiative_id",
                params,
            )
            decisions = session.fetchall(
                "SELECT a.council, a.meeting_date, a.initiative_id, i.title, a.outcome, a.text,"
                " a.next_meeting_date, a.recorded_at FROM {proj_meeting_decisions} a"
                " JOIN {proj_meeting_initiatives} i ON i.initiative_id = a.initiative_id"
                " WHERE a.meeting_date BETWEEN :first AND :last"
                + council_filter
                + " ORDER BY a.position",
                params,
            )
            calendar = self._calendar(session, year, council)
            waiting = session.fetchall(
                "SELECT i.initiative_id, i.title, i.agenda_council, i.agenda_date"
                " FROM {proj_meeting_initiatives} i"
                " WHERE i.agenda_date BETWEEN :first AND :last"
                + council_filter.replace("a.council", "i.agenda_council")
                + " ORDER BY i.initiative_id",
                params,
            )
        found: dict[tuple[str, str], dict[str, Any]] = {}
        zone = ZoneInfo(self.strategy.timezone)

        def meeting(council_id: str, when: str, known: Meeting | None = None) -> dict[str, Any]:
            key = (when, council_id)
            if key not in found:
                m = known or Meeting(council_id, date.fromisoformat(when), "")
                found[key] = {
                    "id": m.id,
                    "council": council_id,
                    "date": when,
                    "format": m.format,
                    "start": datetime.combine(m.date, m.start, zone).isoformat(),
                    "end": datetime.combine(m.date, m.end, zone).isoformat(),
                    "status": m.status,
                    **({"moved_from": m.moved_from.isoformat()} if m.moved_from else {}),
                    "agenda": [],
                    "decisions": [],
                }
                if m.cancelled:
                    found[key]["needs_new_meeting"] = []
            return found[key]

        for m in calendar:
            meeting(m.council, m.date.isoformat(), m)
        for row in waiting:
            item = meeting(row["agenda_council"], row["agenda_date"])
            if "needs_new_meeting" in item:
                item["needs_new_meeting"].append(
                    {"initiative_id": row["initiative_id"], "title": row["title"]}
                )
        for row in agenda:
            meeting(row["council"], row["meeting_date"])["agenda"].append(
                {"initiative_id": row["initiative_id"], "title": row["title"]}
            )
        for row in decisions:
            meeting(row["council"], row["meeting_date"])["decisions"].append(
                {
                    "initiative_id": row["initiative_id"],
                    "title": row["title"],
                    "outcome": row["outcome"],
                    "text": row["text"],
                    "next_meeting_date": row["next_meeting_date"],
                    "recorded_at": row["recorded_at"],
                }
            )
        return [found[key] for key in sorted(found)]

    def _calendar(self, session: Session, year: int, council: str | None) -> list[Meeting]:
        """The year's meetings: as adjusted, or (never adjusted) as the rules give them."""
        adjusted = session.fetchone(
            "SELECT year FROM {proj_meeting_years} WHERE year = :year", {"year": year}
        )
        if adjusted is None:
            return self.strategy.meetings(year, council)
        rows = session.fetchall(
            "SELECT council, meeting_date, planned_date, format, start_time, duration_minutes,"
            " status, sequence FROM {proj_meeting_calendar} WHERE year = :year"
            + (" AND council = :council" if council is not None else "")
            + " ORDER BY meeting_date, council",
            {"year": year, "council": council},
        )
        return [_meeting(row) for row in rows]

    def needing_new_meeting(self) -> list[dict[str, Any]]:
        """Initiatives waiting on the agenda of a cancelled meeting (for "Att göra"):
        the secretary defers each to a new meeting."""
        with self.view.read() as session:
            rows = session.fetchall(
                "SELECT i.initiative_id, i.title, i.lead_actor, c.meeting_id, c.council,"
                " c.meeting_date FROM {proj_meeting_initiatives} i"
                " JOIN {proj_meeting_calendar} c ON c.council = i.agenda_council"
                " AND c.meeting_date = i.agenda_date"
                " WHERE c.status = :cancelled ORDER BY c.meeting_date, i.initiative_id",
                {"cancelled": CANCELLED},
            )
        return [
            {
                "initiative_id": r["initiative_id"],
                "title": r["title"],
                "lead_actor": r["lead_actor"],
                "meeting_id": r["meeting_id"],
                "council": r["council"],
                "meeting_date": r["meeting_date"],
            }
            for r in rows
        ]

    def decided_between(self, first: date, last: date) -> list[dict[str, Any]]:
        """Decisions dated (by their meeting) after `first`, up to and including `last`."""
        with self.view.read() as session:
            return session.fetchall(
                "SELECT a.initiative_id, i.title, i.goal_area, a.council, a.meeting_date,"
                " a.outcome, a.text, a.recorded_at FROM {proj_meeting_decisions} a"
                " JOIN {proj_meeting_initiatives} i ON i.initiative_id = a.initiative_id"
                " WHERE a.meeting_date > :first AND a.meeting_date <= :last"
                " ORDER BY a.meeting_date, a.position",
                {"first": first, "last": last},
            )


def _meeting(row: dict[str, Any]) -> Meeting:
    return Meeting(
        council=row["council"],
        date=_date(row["meeting_date"]),
        format=row["format"],
        start=time.fromisoformat(row["start_time"]),
        duration_minutes=row["duration_minutes"],
        status=row["status"],
        planned_date=_date(row["planned_date"]),
        sequence=row["sequence"],
    )


def _date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
