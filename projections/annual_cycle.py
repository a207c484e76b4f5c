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

import statistics
from collections import Counter, defaultdict
from datetime import date
from typing import Any, ClassVar

from projections.base import (
    PROGRESS_STATUSES,
    InitiativeEvent,
    ReadModel,
    day,
    obligation_status,
    owed_periods,
)
from projections.store import Session
from ruswf.domain.initiative import Initiative

FACT_KINDS = (
    "proposed",
    "approved",
    "rejected",
    "deferred",
    "referred_back",
    "withdrawn",
    "closed",
)
DECISIONS = ("approved", "rejected", "deferred", "referred_back")
# The columns of a report row, in order (the CSV's first columns are exactly these).
ROW_KEYS = (
    "goal_area",
    "period",
    "proposals",
    "approved",
    "rejected",
    "deferred",
    "referred_back",
    "withdrawn",
    "closed",
    "reports_due",
    "reports_submitted",
    "reports_overdue",
    "completeness",
)
EXTRA_KEYS = (*PROGRESS_STATUSES, "median_lead_time_days")

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS proj_cycle_facts_period ON {proj_cycle_facts} (period_start)",
    "CREATE INDEX IF NOT EXISTS proj_cycle_reports_period ON {proj_cycle_reports} (period_start)",
)


class AnnualCycle(ReadModel):
    """Dated facts per initiative, counted per goal area and reporting period."""

    name = "annual_cycle"
    version = 1
    tables: ClassVar[tuple[str, ...]] = (
        "proj_cycle_initiatives",
        "proj_cycle_facts",
        "proj_cycle_reports",
    )
    sqlite_ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {proj_cycle_initiatives} ("
        " initiative_id TEXT PRIMARY KEY,"
        " goal_area TEXT NOT NULL,"
        " lead_actor TEXT NOT NULL,"
        " proposed_on TEXT NOT NULL,"
        " approval_period TEXT,"
        " approval_period_start TEXT,"
        " closing_period_start TEXT)",
        "CREATE TABLE IF NOT EXISTS {proj_cycle_facts} ("
        " position INTEGER PRIMARY KEY,"
        " initiative_id TEXT NOT NULL,"
        " kind TEXT NOT NULL,"
        " business_date TEXT NOT NULL,"
        " period TEXT NOT NULL,"
        " period_start TEXT NOT NULL,"
        " lead_time_days INTEGER)",
        "CREATE TABLE IF NOT EXISTS {proj_cycle_reports} ("
        " initiative_id TEXT NOT NULL,"
        " period TEXT NOT NULL,"
        " period_start TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " reports INTEGER NOT NULL,"
        " first_recorded_at TEXT NOT NULL,"
        " PRIMARY KEY (initiative_id, period))",
        *_INDEXES,
    )
    postgres_ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {proj_cycle_initiatives} ("
        " initiative_id text PRIMARY KEY,"
        " goal_area text NOT NULL,"
        " lead_actor text NOT NULL,"
        " proposed_on date NOT NULL,"
        " approval_period text,"
        " approval_period_start date,"
        " closing_period_start date)",
        "CREATE TABLE IF NOT EXISTS {proj_cycle_facts} ("
        " position bigint PRIMARY KEY,"
        " initiative_id text NOT NULL,"
        " kind text NOT NULL,"
        " business_date date NOT NULL,"
        " period text NOT NULL,"
        " period_start date NOT NULL,"
        " lead_time_days integer)",
        "CREATE TABLE IF NOT EXISTS {proj_cycle_reports} ("
        " initiative_id text NOT NULL,"
        " period text NOT NULL,"
        " period_start date NOT NULL,"
        " status text NOT NULL,"
        " reports integer NOT NULL,"
        " first_recorded_at timestamptz NOT NULL,"
        " PRIMARY KEY (initiative_id, period))",
        *_INDEXES,
    )

    def apply(self, session: Session, event: InitiativeEvent, position: int) -> None:
        iid = str(event.originator_id)
        match event:
            case Initiative.Proposed():
                proposed_on = day(event.effective_date)
                session.execute(
                    "INSERT INTO {proj_cycle_initiatives} (initiative_id, goal_area, lead_actor,"
                    " proposed_on, approval_period, approval_period_start, closing_period_start)"
                    " VALUES (:id, :goal_area, :lead_actor, :proposed_on, NULL, NULL, NULL)",
                    {
                        "id": iid,
                        "goal_area": event.content["goal_area"],
                        "lead_actor": event.content["lead_actor"],
                        "proposed_on": proposed_on,
                    },
                )
                self._fact(session, iid, position, "proposed", proposed_on)
            case Initiative.Revised():
                changed = {
                    k: v for k, v in event.changes.items() if k in ("goal_area", "lead_actor")
                }
                if changed:
                    assignments = ", ".join(f"{column} = :{column}" for column in changed)
                    session.execute(
                        f"UPDATE {{proj_cycle_initiatives}} SET {assignments}"
                        " WHERE initiative_id = :id",
                        {**changed, "id": iid},
                    )
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
        """`{"year": Y, "rows": [...]}`: one row per goal area and reporting period of Y."""
        periods = self.strategy.reporting_periods(year)
        params = {"first": periods[0].start, "last": periods[-1].start}
        with self.view.read() as session:
            facts = session.fetchall(
                "SELECT f.kind, f.period, f.lead_time_days, i.goal_area FROM {proj_cycle_facts} f"
                " JOIN {proj_cycle_initiatives} i ON i.initiative_id = f.initiative_id"
                " WHERE f.period_start BETWEEN :first AND :last",
                params,
            )
            reports = session.fetchall(
                "SELECT r.initiative_id, r.period, r.status, i.goal_area"
                " FROM {proj_cycle_reports} r JOIN {proj_cycle_initiatives} i"
                " ON i.initiative_id = r.initiative_id"
                " WHERE r.period_start BETWEEN :first AND :last",
                params,
            )
            followed = session.fetchall(
                "SELECT initiative_id, goal_area, approval_period_start, closing_period_start"
                " FROM {proj_cycle_initiatives} WHERE approval_period_start <= :last"
                " AND (closing_period_start IS NULL OR closing_period_start > :first)",
                params,
            )
        counts: Counter[tuple[str, str, str]] = Counter()
        lead_times: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        for fact in facts:
            counts[(fact["goal_area"], fact["period"], fact["kind"])] += 1
            if fact["lead_time_days"] is not None:
                lead_times[(fact["goal_area"], fact["period"])].append(fact["lead_time_days"])
        submitted: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        for report in reports:
            submitted[(report["goal_area"], report["period"])].add(report["initiative_id"])
            counts[(report["goal_area"], report["period"], report["status"])] += 1
        owed: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        overdue: Counter[tuple[str, str]] = Counter()
        for row in followed:
            closing = day(row["closing_period_start"]) if row["closing_period_start"] else None
            for period in owed_periods(
                self.strategy, day(row["approval_period_start"]), closing, today
            ):
                if period.start.year != year:
                    continue
                key = (row["goal_area"], period.id)
                owed[key].add(row["initiative_id"])
                done = row["initiative_id"] in submitted[key]
                if obligation_status(period.due, done, today) == "overdue":
                    overdue[key] += 1
        goal_areas = [g.id for g in self.strategy.goal_areas]
        seen = {fact["goal_area"] for fact in facts} | {r["goal_area"] for r in followed}
        goal_areas += sorted(seen - set(goal_areas))
        rows = []
        for goal_area in goal_areas:
            for period in periods:
                key = (goal_area, period.id)
                due = len(owed[key] | submitted[key])
                submitted_count = len(submitted[key])
                times = lead_times.get(key)
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
                        "reports_overdue": overdue[key],
                        "completeness": round(submitted_count / due, 4) if due else None,
                        **{s: counts[(goal_area, period.id, s)] for s in PROGRESS_STATUSES},
                        "median_lead_time_days": float(statistics.median(times)) if times else None,
                    }
                )
        return {"year": year, "rows": rows}
