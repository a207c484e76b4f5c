"""Reporting obligations: each approved initiative owes one progress report per reporting
period from its approval's period on (until the period it is closed in), due a
configured number of days (`annual_cycle.report_due_days`) after the period ends.

Which periods are owed, and whether an unsubmitted report is overdue, depends on the day
it is asked, so the tables hold the facts (who follows up since when, which reports
came in) and the obligations are computed against `today`. `proj_reporting_periods`
lists the strategy's periods with their due dates so that a reporting job can do the
same in plain SQL (docs/projections.md).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, TypedDict, Unpack

from projections.base import (
    OBLIGATION_STATUSES,
    InitiativeEvent,
    InitiativeTable,
    ReadModel,
    day,
    obligation_status,
    owed_periods,
)
from projections.store import Session, Table
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import EARLIEST_YEAR, LATEST_YEAR, Strategy

OBLIGATION_INITIATIVES = InitiativeTable(
    "proj_obligation_initiatives",
    {
        "approval_period": "text",
        "first_period_start": "date",
        "closing_period_start": "date",
    },
    indexes={
        "proj_obligation_initiatives_actor": "lead_actor",
    },
)

OBLIGATION_REPORTS = Table(
    "proj_obligation_reports",
    {
        "initiative_id": "text NOT NULL",
        "period": "text NOT NULL",
        "period_start": "date NOT NULL",
        "due_date": "date NOT NULL",
        "first_recorded_at": "timestamptz NOT NULL",
        "first_effective_date": "date NOT NULL",
        "reports": "integer NOT NULL",
        "status": "text NOT NULL",
    },
    primary_key=("initiative_id", "period"),
)

REPORTING_PERIODS = Table(
    "proj_reporting_periods",
    {
        "period": "text PRIMARY KEY",
        "year": "integer NOT NULL",
        "name": "text NOT NULL",
        "start_date": "date NOT NULL",
        "end_date": "date NOT NULL",
        "due_date": "date NOT NULL",
    },
)


class ObligationFilters(TypedDict, total=False):
    """What the obligations are filtered by (a filter left out or None: any)."""

    actor: str | None
    """The initiative's lead actor."""
    period: str | None
    """The reporting period (`2026-T1`)."""
    status: str | None
    """due | submitted | overdue."""
    initiative_id: str | None


class Obligations(ReadModel):
    """Who owes which progress report for which period."""

    name = "obligations"
    version = 1
    initiatives = OBLIGATION_INITIATIVES
    tables = (
        OBLIGATION_INITIATIVES,
        OBLIGATION_REPORTS,
    )
    reference_tables = (REPORTING_PERIODS,)

    @classmethod
    def seed(cls, strategy: Strategy, session: Session) -> None:
        """Keep `proj_reporting_periods` equal to the strategy's periods of every year."""
        periods = [
            p
            for year in range(EARLIEST_YEAR, LATEST_YEAR + 1)
            for p in strategy.reporting_periods(year)
        ]
        wanted = [
            {
                "period": p.id,
                "year": p.start.year,
                "name": p.name,
                "start_date": p.start.isoformat(),
                "end_date": p.end.isoformat(),
                "due_date": p.due.isoformat(),
            }
            for p in periods
        ]
        stored = session.fetchall(
            "SELECT period, year, name, start_date, end_date, due_date"
            " FROM {proj_reporting_periods} ORDER BY start_date"
        )
        if stored == wanted:
            return
        session.execute("DELETE FROM {proj_reporting_periods}")
        session.executemany(
            "INSERT INTO {proj_reporting_periods} (period, year, name, start_date, end_date,"
            " due_date) VALUES (:period, :year, :name, :start, :end, :due)",
            [
                {
                    "period": p.id,
                    "year": p.start.year,
                    "name": p.name,
                    "start": p.start,
                    "end": p.end,
                    "due": p.due,
                }
                for p in periods
            ],
        )

    def apply(self, session: Session, event: InitiativeEvent, position: int) -> None:
        iid = str(event.originator_id)
        match event:
            case Initiative.Approved():
                session.execute(
                    "UPDATE {proj_obligation_initiatives} SET approval_period = :period,"
                    " first_period_start = :start WHERE initiative_id = :id",
                    {
                        "period": event.period,
                        "start": self.strategy.period(event.period).start,
                        "id": iid,
                    },
                )
            case Initiative.Closed():
                session.execute(
                    "UPDATE {proj_obligation_initiatives} SET closing_period_start = :start"
                    " WHERE initiative_id = :id",
                    {"start": self.strategy.period_of(day(event.effective_date)).start, "id": iid},
                )
            case Initiative.ProgressReported():
                period = self.strategy.period(event.period)
                session.execute(
                    "INSERT INTO {proj_obligation_reports} (initiative_id, period, period_start,"
                    " due_date, first_recorded_at, first_effective_date, reports, status)"
                    " VALUES (:id, :period, :start, :due, :at, :effective, 1, :status)"
                    " ON CONFLICT (initiative_id, period) DO UPDATE SET status = excluded.status,"
                    " reports = {proj_obligation_reports}.reports + 1",
                    {
                        "id": iid,
                        "period": period.id,
                        "start": period.start,
                        "due": period.due,
                        "at": event.timestamp,
                        "effective": day(event.effective_date),
                        "status": event.status,
                    },
                )
            case _:
                pass

    # -- queries ------------------------------------------------------------------------

    def obligations(
        self, today: date, **filters: Unpack[ObligationFilters]
    ) -> list[dict[str, Any]]:
        """Every obligation as of `today`, by due date, that meets every given filter."""
        actor, period = filters.get("actor"), filters.get("period")
        status, initiative_id = filters.get("status"), filters.get("initiative_id")
        wanted_period = self.strategy.period(period).id if period is not None else None
        if status is not None and status not in OBLIGATION_STATUSES:
            raise ValidationError("status", f"must be one of {', '.join(OBLIGATION_STATUSES)}")
        condition, params = "", {}
        if actor is not None:
            condition, params = " AND i.lead_actor = :actor", {"actor": actor}
        if initiative_id is not None:
            condition += " AND i.initiative_id = :initiative_id"
            params = {**params, "initiative_id": initiative_id}
        with self.view.read() as session:
            # One round trip: each initiative with its reports (a row per report, one
            # row with no report for an initiative without any).
            rows = session.fetchall(
                "SELECT i.initiative_id, i.title, i.goal_area, i.lead_actor,"
                " i.first_period_start, i.closing_period_start, r.period AS report_period,"
                " r.first_recorded_at, r.reports, r.status"
                " FROM {proj_obligation_initiatives} i LEFT JOIN {proj_obligation_reports} r"
                " ON r.initiative_id = i.initiative_id"
                " WHERE i.first_period_start IS NOT NULL" + condition,
                params,
            )
        initiatives: dict[str, dict[str, Any]] = {}
        reported: defaultdict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for row in rows:
            initiatives.setdefault(row["initiative_id"], row)
            if row["report_period"] is not None:
                reported[row["initiative_id"]][row["report_period"]] = row
        found = []
        for row in initiatives.values():
            closing = day(row["closing_period_start"]) if row["closing_period_start"] else None
            owed = {
                p.id: p
                for p in owed_periods(self.strategy, day(row["first_period_start"]), closing, today)
            }
            received = reported[row["initiative_id"]]
            for period_id in received.keys() - owed.keys():  # sent though not (yet) owed
                owed[period_id] = self.strategy.period(period_id)
            for p in owed.values():
                sent = received.get(p.id)
                found.append(
                    {
                        "initiative_id": row["initiative_id"],
                        "title": row["title"],
                        "goal_area": row["goal_area"],
                        "actor": row["lead_actor"],
                        "period": p.id,
                        "period_start": p.start.isoformat(),
                        "period_end": p.end.isoformat(),
                        "due_date": p.due.isoformat(),
                        "status": obligation_status(p.due, sent is not None, today),
                        "submitted_at": sent["first_recorded_at"] if sent else None,
                        "reports": sent["reports"] if sent else 0,
                        "progress_status": sent["status"] if sent else None,
                    }
                )
        found = [
            o
            for o in found
            if (wanted_period is None or o["period"] == wanted_period)
            and (status is None or o["status"] == status)
        ]
        found.sort(key=lambda o: (o["due_date"], o["actor"], o["title"], o["initiative_id"]))
        return found

    def followed_up(self, actor: str) -> list[tuple[str, date, date | None]]:
        """`actor`'s approved initiatives: (title, start of the approval's period, start
        of the period it was closed in, or None) — what its reporting deadlines name."""
        with self.view.read() as session:
            rows = session.fetchall(
                "SELECT title, first_period_start, closing_period_start"
                " FROM {proj_obligation_initiatives}"
                " WHERE lead_actor = :actor AND first_period_start IS NOT NULL"
                " ORDER BY title",
                {"actor": actor},
            )
        return [
            (
                r["title"],
                day(r["first_period_start"]),
                day(r["closing_period_start"]) if r["closing_period_start"] else None,
            )
            for r in rows
        ]
