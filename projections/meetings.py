"""Council meetings: per meeting of the annual cycle, its agenda (the initiatives
scheduled for it, or deferred to it) and its decisions (the minutes, "protokoll")."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from projections.base import InitiativeEvent, ReadModel, copy_revision, day
from projections.store import Session
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import Initiative

OUTCOMES = ("approved", "rejected", "deferred", "referred_back")

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS proj_meeting_agenda_date"
    " ON {proj_meeting_agenda} (meeting_date, council)",
    "CREATE INDEX IF NOT EXISTS proj_meeting_decisions_date"
    " ON {proj_meeting_decisions} (meeting_date, council)",
    "CREATE INDEX IF NOT EXISTS proj_meeting_decisions_initiative"
    " ON {proj_meeting_decisions} (initiative_id)",
)


class Meetings(ReadModel):
    """Agendas and decisions of the deciding councils' meetings."""

    name = "meetings"
    version = 1
    tables: ClassVar[tuple[str, ...]] = (
        "proj_meeting_initiatives",
        "proj_meeting_agenda",
        "proj_meeting_decisions",
    )
    sqlite_ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {proj_meeting_initiatives} ("
        " initiative_id TEXT PRIMARY KEY,"
        " title TEXT NOT NULL,"
        " goal_area TEXT NOT NULL,"
        " lead_actor TEXT NOT NULL,"
        " agenda_council TEXT,"
        " agenda_date TEXT)",
        "CREATE TABLE IF NOT EXISTS {proj_meeting_agenda} ("
        " council TEXT NOT NULL,"
        " meeting_date TEXT NOT NULL,"
        " initiative_id TEXT NOT NULL,"
        " position INTEGER NOT NULL,"
        " scheduled_at TEXT NOT NULL,"
        " PRIMARY KEY (council, meeting_date, initiative_id))",
        "CREATE TABLE IF NOT EXISTS {proj_meeting_decisions} ("
        " position INTEGER PRIMARY KEY,"
        " council TEXT NOT NULL,"
        " meeting_date TEXT NOT NULL,"
        " initiative_id TEXT NOT NULL,"
        " outcome TEXT NOT NULL,"
        " text TEXT NOT NULL,"
        " next_meeting_date TEXT,"
        " recorded_at TEXT NOT NULL,"
        " recorded_by TEXT NOT NULL)",
        *_INDEXES,
    )
    postgres_ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {proj_meeting_initiatives} ("
        " initiative_id text PRIMARY KEY,"
        " title text NOT NULL,"
        " goal_area text NOT NULL,"
        " lead_actor text NOT NULL,"
        " agenda_council text,"
        " agenda_date date)",
        "CREATE TABLE IF NOT EXISTS {proj_meeting_agenda} ("
        " council text NOT NULL,"
        " meeting_date date NOT NULL,"
        " initiative_id text NOT NULL,"
        " position bigint NOT NULL,"
        " scheduled_at timestamptz NOT NULL,"
        " PRIMARY KEY (council, meeting_date, initiative_id))",
        "CREATE TABLE IF NOT EXISTS {proj_meeting_decisions} ("
        " position bigint PRIMARY KEY,"
        " council text NOT NULL,"
        " meeting_date date NOT NULL,"
        " initiative_id text NOT NULL,"
        " outcome text NOT NULL,"
        " text text NOT NULL,"
        " next_meeting_date date,"
        " recorded_at timestamptz NOT NULL,"
        " recorded_by text NOT NULL)",
        *_INDEXES,
    )

    def apply(self, session: Session, event: InitiativeEvent, position: int) -> None:
        iid = str(event.originator_id)
        match event:
            case Initiative.Proposed():
                session.execute(
                    "INSERT INTO {proj_meeting_initiatives} (initiative_id, title, goal_area,"
                    " lead_actor, agenda_council, agenda_date)"
                    " VALUES (:id, :title, :goal_area, :lead_actor, NULL, NULL)",
                    {
                        "id": iid,
                        **{k: event.content[k] for k in ("title", "goal_area", "lead_actor")},
                    },
                )
            case Initiative.Revised():
                copy_revision(session, "proj_meeting_initiatives", iid, event.changes)
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
        found: dict[tuple[str, str], dict[str, Any]] = {}

        def meeting(council_id: str, when: str, fmt: str = "") -> dict[str, Any]:
            key = (when, council_id)
            if key not in found:
                found[key] = {
                    "id": f"{council_id}-{when}",
                    "council": council_id,
                    "date": when,
                    "format": fmt,
                    "agenda": [],
                    "decisions": [],
                }
            return found[key]

        for m in self.strategy.meetings(year, council):
            meeting(m.council, m.date.isoformat(), m.format)
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
