"""The annual cycle: per year, reporting period and goal area — proposals, decisions by
outcome, withdrawals, closings, progress reports due / submitted / overdue, completeness,
the status mix of the reports and the median lead time from proposal to decision.

Dating rules (product.md, "Dates for reports"): a decision belongs to the meeting whose
agenda the initiative was on (a deferral: the meeting it was deferred *from*); a progress
report belongs to its `period`, and several reports for one initiative and period count
once (the latest status counts); proposals, withdrawals and closings are placed by their
effective date. Goal areas are the initiatives' current ones.

The tables hold dated facts; the counts are computed when asked, because whether a
report is overdue depends on the day it is asked.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from projections.base import (
    InitiativeEvent,
    InitiativeTable,
    ReadModel,
    day,
    obligation_status,
)
from projections.store import Row, Session, Table
from ruswf.domain.commands import PROGRESS_STATUSES
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import ReportingPeriod

DECISIONS = ("approved", "rejected", "deferred", "referred_back")
FACT_KINDS = ("proposed", *DECISIONS, "withdrawn", "closed")
# The columns of a report row, in order (the CSV's first columns are exactly these).
ROW_KEYS = (
    "goal_area",
    "period",
    "proposals",
    *DECISIONS,
    "withdrawn",
    "closed",
    "reports_due",
    "reports_submitted",
    "reports_overdue",
    "completeness",
)
EXTRA_KEYS = (*PROGRESS_STATUSES, "median_lead_time_days")

CYCLE_INITIATIVES = InitiativeTable(
    "proj_cycle_initiatives",
    {
        "proposed_on": "date NOT NULL",
        "approval_period": "text",
        "approval_period_start": "date",
        "closing_period_start": "date",
    },
    content=("goal_area", "lead_actor"),  # the report counts by their current values
)

# The report reads a year's facts and reports by `period_start`; these indexes also hold
# every column it reads, so PostgreSQL answers from the index alone (an index-only scan)
# instead of visiting rows spread over the whole table (version 2).
CYCLE_FACTS = Table(
    "proj_cycle_facts",
    {
        "position": "bigint PRIMARY KEY",
        "initiative_id": "text NOT NULL",
        "kind": "text NOT NULL",
        "business_date": "date NOT NULL",
        "period": "text NOT NULL",
        "period_start": "date NOT NULL",
        "lead_time_days": "integer",
    },
    indexes={
        "proj_cycle_facts_by_period": "period_start, initiative_id, period, kind, lead_time_days",
    },
)

CYCLE_REPORTS = Table(
    "proj_cycle_reports",
    {
        "initiative_id": "text NOT NULL",
        "period": "text NOT NULL",
        "period_start": "date NOT NULL",
        "status": "text NOT NULL",
        "reports": "integer NOT NULL",
        "first_recorded_at": "timestamptz NOT NULL",
    },
    primary_key=("initiative_id", "period"),
    indexes={
        "proj_cycle_reports_by_period": "period_start, initiative_id, period, status",
    },
)


class AnnualCycle(ReadModel):
    """Dated facts per initiative, counted per goal area and reporting period."""

    name = "annual_cycle"
    version = 2
    initiatives = CYCLE_INITIATIVES
    tables = (
        CYCLE_INITIATIVES,
        CYCLE_FACTS,
        CYCLE_REPORTS,
    )

    def proposed_values(self, event: Initiative.Proposed) -> dict[str, Any]:
        return {"proposed_on": day(event.effective_date)}

    def apply(self, session: Session, event: InitiativeEvent, position: int) -> None:
        iid = str(event.originator_id)
        match event:
            case Initiative.Proposed():
                self._fact(session, iid, position, "proposed", day(event.effective_date))
            case Initiative.Approved():
                meeting = day(event.meeting_date)
                self._fact(
                    session,
                    iid,
                    position,
                    "approved",
                    meeting,
                    self._lead_time(session, iid, meeting),
                )
                session.execute(
                    "UPDATE {proj_cycle_initiatives} SET approval_period = :period,"
                    " approval_period_start = :start WHERE initiative_id = :id",
                    {
                        "period": event.period,
                        "start": self.strategy.period(event.period).start,
                        "id": iid,
                    },
                )
            case Initiative.Rejected():
                meeting = day(event.meeting_date)
                self._fact(
                    session,
                    iid,
                    position,
                    "rejected",
                    meeting,
                    self._lead_time(session, iid, meeting),
                )
            case Initiative.Deferred():
                self._fact(session, iid, position, "deferred", day(event.meeting_date))
            case Initiative.ReferredBack():
                self._fact(session, iid, position, "referred_back", day(event.meeting_date))
            case Initiative.Withdrawn():
                self._fact(session, iid, position, "withdrawn", day(event.effective_date))
            case Initiative.Closed():
                closed_on = day(event.effective_date)
                self._fact(session, iid, position, "closed", closed_on)
                session.execute(
                    "UPDATE {proj_cycle_initiatives} SET closing_period_start = :start"
                    " WHERE initiative_id = :id",
                    {"start": self.strategy.period_of(closed_on).start, "id": iid},
                )
            case Initiative.ProgressReported():
                session.execute(
                    "INSERT INTO {proj_cycle_reports} (initiative_id, period, period_start, status,"
                    " reports, first_recorded_at) VALUES (:id, :period, :start, :status, 1, :at)"
                    " ON CONFLICT (initiative_id, period) DO UPDATE SET status = excluded.status,"
                    " reports = {proj_cycle_reports}.reports + 1",
                    {
                        "id": iid,
                        "period": event.period,
                        "start": self.strategy.period(event.period).start,
                        "status": event.status,
                        "at": event.timestamp,
                    },
                )
            case _:
                pass

    def _fact(
        self,
        session: Session,
        iid: str,
        position: int,
        kind: str,
        when: date,
        lead_time: int | None = None,
    ) -> None:
        period = self.strategy.period_of(when)
        session.execute(
            "INSERT INTO {proj_cycle_facts} (position, initiative_id, kind, business_date, period,"
            " period_start, lead_time_days) VALUES (:position, :id, :kind, :when, :period,"
            " :start, :lead_time)",
            {
                "position": position,
                "id": iid,
                "kind": kind,
                "when": when,
                "period": period.id,
                "start": period.start,
                "lead_time": lead_time,
            },
        )

    def _lead_time(self, session: Session, iid: str, decided: date) -> int:
        proposed = session.scalar(
            "SELECT proposed_on FROM {proj_cycle_initiatives} WHERE initiative_id = :id",
            {"id": iid},
        )
        return (decided - day(proposed)).days

    # -- queries ------------------------------------------------------------------------

    def report(self, year: int, today: date) -> dict[str, Any]:
        """`{"year": Y, "rows": [...]}`: one row per goal area and reporting period of Y.

        The counting happens in SQL, grouped by goal area and period: the facts, the
        median lead time, the submitted reports, and the reports owed (`owed_periods`:
        from the approval's period on, once the period has ended, none from the closing
        period on) with how many of them were submitted.
        """
        periods = self.strategy.reporting_periods(year)
        params = {"first": periods[0].start, "last": periods[-1].start}
        # The periods of the year that have ended by `today`: only those can be owed.
        ended = [period for period in periods if period.end < today]
        with self.view.read() as session:
            facts = session.fetchall(
                "SELECT i.goal_area, f.period, f.kind, COUNT(*) AS n"
                " FROM {proj_cycle_facts} f JOIN {proj_cycle_initiatives} i"
                " ON i.initiative_id = f.initiative_id"
                " WHERE f.period_start BETWEEN :first AND :last"
                " GROUP BY i.goal_area, f.period, f.kind",
                params,
            )
            # The one or two middle lead times of each goal area and period.
            medians = session.fetchall(
                "SELECT goal_area, period, MIN(lead_time_days) AS low,"
                " MAX(lead_time_days) AS high FROM ("
                " SELECT i.goal_area, f.period, f.lead_time_days, ROW_NUMBER() OVER ("
                " PARTITION BY i.goal_area, f.period ORDER BY f.lead_time_days) AS rn,"
                " COUNT(*) OVER (PARTITION BY i.goal_area, f.period) AS n"
                " FROM {proj_cycle_facts} f JOIN {proj_cycle_initiatives} i"
                " ON i.initiative_id = f.initiative_id"
                " WHERE f.period_start BETWEEN :first AND :last"
                " AND f.lead_time_days IS NOT NULL) ranked"
                " WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2"
                " GROUP BY goal_area, period",
                params,
            )
            followed = session.fetchall(
                "SELECT DISTINCT goal_area FROM {proj_cycle_initiatives}"
                " WHERE approval_period_start <= :last"
                " AND (closing_period_start IS NULL OR closing_period_start > :first)",
                params,
            )
            if ended:
                reports, owed_rows = self._obligations(session, ended, params)
            else:
                reports = session.fetchall(
                    "SELECT i.goal_area, r.period, r.status, COUNT(*) AS n, 0 AS done"
                    " FROM {proj_cycle_reports} r JOIN {proj_cycle_initiatives} i"
                    " ON i.initiative_id = r.initiative_id"
                    " WHERE r.period_start BETWEEN :first AND :last"
                    " GROUP BY i.goal_area, r.period, r.status",
                    params,
                )
                owed_rows = []
        counts: Counter[tuple[str, str, str]] = Counter()
        for fact in facts:
            counts[(fact["goal_area"], fact["period"], fact["kind"])] += fact["n"]
        submitted: Counter[tuple[str, str]] = Counter()
        owed_submitted: Counter[tuple[str, str]] = Counter()
        for report in reports:
            submitted[(report["goal_area"], report["period"])] += report["n"]
            owed_submitted[(report["goal_area"], report["period"])] += report["done"]
            counts[(report["goal_area"], report["period"], report["status"])] += report["n"]
        median = {
            (row["goal_area"], row["period"]): float((row["low"] + row["high"]) / 2)
            for row in medians
        }
        owed: Counter[tuple[str, str]] = Counter()
        for row in owed_rows:
            owed[(row["goal_area"], row["period"])] += row["owed"]
        goal_areas = [g.id for g in self.strategy.goal_areas]
        seen = {fact["goal_area"] for fact in facts} | {g["goal_area"] for g in followed}
        goal_areas += sorted(seen - set(goal_areas))
        rows = []
        for goal_area in goal_areas:
            for period in periods:
                key = (goal_area, period.id)
                due = owed[key] + submitted[key] - owed_submitted[key]
                submitted_count = submitted[key]
                late = obligation_status(period.due, False, today) == "overdue"
                rows.append(
                    {
                        "goal_area": goal_area,
                        "period": period.id,
                        "proposals": counts[(goal_area, period.id, "proposed")],
                        **{kind: counts[(goal_area, period.id, kind)] for kind in DECISIONS},
                        "withdrawn": counts[(goal_area, period.id, "withdrawn")],
                        "closed": counts[(goal_area, period.id, "closed")],
                        "reports_due": due,
                        "reports_submitted": submitted_count,
                        "reports_overdue": owed[key] - owed_submitted[key] if late else 0,
                        "completeness": round(submitted_count / due, 4) if due else None,
                        **{s: counts[(goal_area, period.id, s)] for s in PROGRESS_STATUSES},
                        "median_lead_time_days": median.get(key),
                    }
                )
        return {"year": year, "rows": rows}

    @staticmethod
    def _obligations(
        session: Session, ended: list[ReportingPeriod], params: dict[str, Any]
    ) -> tuple[list[Row], list[Row]]:
        """The reports of the year per goal area, period and status, with how many of them
        were owed (`done`); and per goal area and period of `ended`, how many initiatives
        owe a report for it (`owed`).

        An initiative owes a period once the period has ended (`ended` holds only those)
        when its approval period starts within or before it and it was not closed in or
        before it — the periods `owed_periods` walks through.
        """
        values = ", ".join(f"(:id{n}, :start{n}, :end{n})" for n in range(len(ended)))
        params = dict(params)
        for n, period in enumerate(ended):
            params |= {f"id{n}": period.id, f"start{n}": period.start, f"end{n}": period.end}
        with_periods = f"WITH p (period, period_start, period_end) AS (VALUES {values}) "
        owes = (
            "i.approval_period_start <= p.period_end AND (i.closing_period_start IS NULL"
            " OR i.closing_period_start > p.period_start)"
        )
        reports = session.fetchall(
            with_periods + "SELECT i.goal_area, r.period, r.status, COUNT(*) AS n,"
            f" SUM(CASE WHEN p.period IS NOT NULL AND {owes} THEN 1 ELSE 0 END) AS done"
            " FROM {proj_cycle_reports} r JOIN {proj_cycle_initiatives} i"
            " ON i.initiative_id = r.initiative_id"
            " LEFT JOIN p ON p.period = r.period"
            " WHERE r.period_start BETWEEN :first AND :last"
            " GROUP BY i.goal_area, r.period, r.status",
            params,
        )
        owed = session.fetchall(
            with_periods + "SELECT i.goal_area, p.period, COUNT(*) AS owed"
            f" FROM p JOIN {{proj_cycle_initiatives}} i ON {owes}"
            " GROUP BY i.goal_area, p.period",
            params,
        )
        return reports, owed
