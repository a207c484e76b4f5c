"""Every read model recomputed from the raw event log, in plain Python.

This is the independent code path the property test compares the projections with: it
reads the notification log and the application's own history of each initiative, folds
them in memory and answers the same queries — no SQL, no projection code. Where the
projections keep state incrementally, this recomputes from the whole history.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from ruswf.app.service import RusApp
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import ReportingPeriod, Strategy

DECISION_OUTCOMES = {
    "Approved": "approved",
    "Rejected": "rejected",
    "Deferred": "deferred",
    "ReferredBack": "referred_back",
}
STATE_AFTER = {
    "Submitted": "council_preparation",
    "ReturnedForRevision": "proposal",
    "Scheduled": "decision",
    "Approved": "follow_up",
    "Rejected": "rejected",
    "ReferredBack": "council_preparation",
    "Closed": "closed",
    "Withdrawn": "withdrawn",
}


@dataclass
class Story:
    """One initiative, folded from its events."""

    id: str
    content: dict[str, Any]
    proposed_on: date
    created_at: str
    state: str = "proposal"
    version: int = 0
    last_change: str = ""
    last_event: str = ""
    has_preparation: bool = False
    agenda: tuple[str, str] | None = None
    approval_period: str | None = None
    closed_on: date | None = None
    reports: dict[str, list[tuple[int, str, str, str]]] = field(default_factory=dict)
    """period -> [(position, status, recorded_at, effective_date)] in log order."""


@dataclass
class Log:
    """The raw log, read once, with what every read model needs."""

    strategy: Strategy
    stories: dict[str, Story] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    agenda: dict[tuple[str, str, str], int] = field(default_factory=dict)
    facts: list[tuple[str, str, date, int | None]] = field(default_factory=list)
    """(initiative id, kind, business date, lead time days)."""
    lessons: list[dict[str, Any]] = field(default_factory=list)


def read_log(app: RusApp) -> Log:
    """Fold the whole notification log."""
    log = Log(app.strategy)
    history: dict[str, list[Any]] = {}
    seen: dict[str, int] = {}
    for notification in app.recorder.select_notifications(1, 1_000_000):
        event = app.mapper.to_domain_event(notification)
        if not isinstance(event, Initiative.Event | Initiative.Proposed):
            continue
        iid = str(event.originator_id)
        if iid not in history:
            history[iid] = app.history(iid)
        view = history[iid][seen.get(iid, 0)]
        seen[iid] = seen.get(iid, 0) + 1
        assert view.version == event.originator_version
        _fold(log, notification.id, iid, view, event)
    return log


def _fold(log: Log, position: int, iid: str, view: Any, event: Any) -> None:
    kind = view.type
    data = view.data
    log.audit.append(
        {
            "position": position,
            "initiative_id": iid,
            "version": view.version,
            "type": kind,
            "recorded_at": view.recorded_at,
            "effective_date": view.effective_date,
            "actor": dict(view.actor),
            "reason": data.get("reason"),
            "payload": data,
        }
    )
    if kind == "Proposed":
        log.stories[iid] = Story(
            iid, dict(data["content"]), date.fromisoformat(view.effective_date), view.recorded_at
        )
        log.facts.append((iid, "proposed", date.fromisoformat(view.effective_date), None))
    story = log.stories[iid]
    story.version = view.version
    story.last_change = view.recorded_at
    story.last_event = kind
    story.state = STATE_AFTER.get(kind, story.state)
    if kind == "Revised":
        story.content.update(data["changes"])
    elif kind == "PreparationRecorded":
        story.has_preparation = True
    elif kind == "Scheduled":
        story.agenda = (data["council"], data["meeting_date"])
        log.agenda.setdefault((data["council"], data["meeting_date"], iid), position)
    elif kind in DECISION_OUTCOMES:
        outcome = DECISION_OUTCOMES[kind]
        meeting = date.fromisoformat(data["meeting_date"])
        log.decisions.append(
            {
                "position": position,
                "initiative_id": iid,
                "council": data["council"],
                "meeting_date": data["meeting_date"],
                "outcome": outcome,
                "text": data["decision_text"] if kind == "Approved" else data["reason"],
                "next_meeting_date": data.get("next_meeting_date"),
                "recorded_at": view.recorded_at,
            }
        )
        lead = (meeting - story.proposed_on).days if kind in ("Approved", "Rejected") else None
        log.facts.append((iid, outcome, meeting, lead))
        story.agenda = None
        if kind == "Approved":
            story.approval_period = data["period"]
        if kind == "Deferred":
            story.agenda = (data["council"], data["next_meeting_date"])
            log.agenda.setdefault((data["council"], data["next_meeting_date"], iid), position)
    elif kind == "Withdrawn":
        log.facts.append((iid, "withdrawn", date.fromisoformat(view.effective_date), None))
        if story.agenda is not None:
            council, when = story.agenda
            decided = any(
                d["initiative_id"] == iid and d["council"] == council and d["meeting_date"] == when
                for d in log.decisions
            )
            if not decided:
                log.agenda.pop((council, when, iid), None)
        story.agenda = None
    elif kind == "ProgressReported":
        story.reports.setdefault(data["period"], []).append(
            (position, data["status"], view.recorded_at, view.effective_date)
        )
        _lessons(log, position, story, view, data["period"], "progress_report")
    elif kind == "Closed":
        story.closed_on = date.fromisoformat(view.effective_date)
        log.facts.append((iid, "closed", story.closed_on, None))
        period = _period_containing(log.strategy, story.closed_on).id
        _lessons(log, position, story, view, period, "final_report")


def _lessons(log: Log, position: int, story: Story, view: Any, period: str, source: str) -> None:
    for seq, lesson in enumerate(view.data["lessons"]):
        log.lessons.append(
            {
                "id": f"{position}-{seq}",
                "position": position,
                "seq": seq,
                "initiative_id": story.id,
                "title": story.content["title"],
                "goal_area": story.content["goal_area"],
                "lead_actor": story.content["lead_actor"],
                "principles": list(story.content["principles"]),
                "period": period,
                "source": source,
                "lesson": lesson,
                "recorded_at": view.recorded_at,
                "effective_date": view.effective_date,
            }
        )


# -- the calendar, computed by hand ------------------------------------------------------


def _all_periods(strategy: Strategy, first_year: int, last_year: int) -> list[ReportingPeriod]:
    return [p for y in range(first_year, last_year + 1) for p in strategy.reporting_periods(y)]


def _period_containing(strategy: Strategy, day: date) -> ReportingPeriod:
    return next(p for p in strategy.reporting_periods(day.year) if p.start <= day <= p.end)


def owed(strategy: Strategy, story: Story, today: date) -> list[ReportingPeriod]:
    """Periods owed by hand: from the approval's period, ended before today, before the
    period of the closing; plus every period reported anyway."""
    if story.approval_period is None:
        return []
    approved = strategy.period(story.approval_period)
    closing = _period_containing(strategy, story.closed_on).start if story.closed_on else None
    found = {
        p.id: p
        for p in _all_periods(strategy, approved.start.year, max(today.year, approved.start.year))
        if p.start >= approved.start and p.end < today and (closing is None or p.start < closing)
    }
    for period in story.reports:
        found.setdefault(period, strategy.period(period))
    return sorted(found.values())


def status(period: ReportingPeriod, story: Story, today: date) -> str:
    if period.id in story.reports:
        return "submitted"
    return "overdue" if period.due < today else "due"


# -- the read models, recomputed -----------------------------------------------------------


def board(log: Log) -> list[dict[str, Any]]:
    rows = []
    for s in log.stories.values():
        reported = sorted(s.reports, key=lambda p: log.strategy.period(p).start)
        latest = max(
            (
                (log.strategy.period(p).start, pos, p, status)
                for p, entries in s.reports.items()
                for pos, status, _, _ in entries
            ),
            default=None,
        )
        next_period = None
        if s.approval_period is not None and s.state == "follow_up":
            approved = log.strategy.period(s.approval_period)
            next_period = next(
                p
                for p in _all_periods(log.strategy, approved.start.year, approved.start.year + 200)
                if p.start >= approved.start and p.id not in s.reports
            )
        rows.append(
            {
                "id": s.id,
                "title": s.content["title"],
                "state": s.state,
                "goal_area": s.content["goal_area"],
                "lead_actor": s.content["lead_actor"],
                "version": s.version,
                "has_preparation": s.has_preparation,
                "proposed_on": s.proposed_on.isoformat(),
                "created_at": s.created_at,
                "last_change": s.last_change,
                "last_event": s.last_event,
                "next_meeting": s.agenda[1] if s.agenda and s.state == "decision" else None,
                "next_meeting_council": s.agenda[0] if s.agenda and s.state == "decision" else None,
                "approval_period": s.approval_period,
                "reported_periods": reported,
                "last_report_period": latest[2] if latest else None,
                "last_report_status": latest[3] if latest else None,
                "next_report_period": next_period.id if next_period else None,
                "next_report_due": next_period.due.isoformat() if next_period else None,
            }
        )
    return sorted(rows, key=lambda r: (_desc(r["last_change"]), r["id"]))


def _desc(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


def meetings(log: Log, year: int, council: str | None = None) -> list[dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}

    zone = ZoneInfo(log.strategy.timezone)

    def meeting(
        council_id: str, when: str, fmt: str = "", hours: tuple[time, time] = (time(9), time(12))
    ) -> dict[str, Any]:
        day = date.fromisoformat(when)
        return found.setdefault(
            (when, council_id),
            {
                "id": f"{council_id}-{when}",
                "council": council_id,
                "date": when,
                "format": fmt,
                "start": datetime.combine(day, hours[0], zone).isoformat(),
                "end": datetime.combine(day, hours[1], zone).isoformat(),
                "status": "planned",  # no adjustments in these logs (tests/calendar has them)
                "agenda": [],
                "decisions": [],
            },
        )

    for m in log.strategy.meetings(year, council):
        meeting(m.council, m.date.isoformat(), m.format, (m.start, m.end))
    placed = sorted(log.agenda.items(), key=lambda item: (item[1], item[0][2]))
    for (council_id, when, iid), _ in placed:
        if when.startswith(f"{year}-") and council in (None, council_id):
            meeting(council_id, when)["agenda"].append(
                {"initiative_id": iid, "title": log.stories[iid].content["title"]}
            )
    for d in log.decisions:
        if d["meeting_date"].startswith(f"{year}-") and council in (None, d["council"]):
            meeting(d["council"], d["meeting_date"])["decisions"].append(
                {
                    "initiative_id": d["initiative_id"],
                    "title": log.stories[d["initiative_id"]].content["title"],
                    "outcome": d["outcome"],
                    "text": d["text"],
                    "next_meeting_date": d["next_meeting_date"],
                    "recorded_at": d["recorded_at"],
                }
            )
    return [found[key] for key in sorted(found)]


def annual_cycle(log: Log, year: int, today: date) -> dict[str, Any]:
    strategy = log.strategy
    goal_areas = [g.id for g in strategy.goal_areas]
    rows = []
    for goal_area in goal_areas:
        for period in strategy.reporting_periods(year):
            stories = [s for s in log.stories.values() if s.content["goal_area"] == goal_area]
            ids = {s.id for s in stories}

            def count(kind: str, period: ReportingPeriod = period, ids: set[str] = ids) -> int:
                return sum(
                    1
                    for iid, k, when, _ in log.facts
                    if k == kind and iid in ids and period.start <= when <= period.end
                )

            due = submitted = overdue = 0
            statuses = {"on_track": 0, "at_risk": 0, "off_track": 0}
            for s in stories:
                if period.id in [p.id for p in owed(strategy, s, today)]:
                    due += 1
                    result = status(period, s, today)
                    submitted += result == "submitted"
                    overdue += result == "overdue"
                if period.id in s.reports:
                    statuses[s.reports[period.id][-1][1]] += 1
            lead_times = [
                lead
                for iid, k, when, lead in log.facts
                if lead is not None and iid in ids and period.start <= when <= period.end
            ]
            rows.append(
                {
                    "goal_area": goal_area,
                    "period": period.id,
                    "proposals": count("proposed"),
                    "approved": count("approved"),
                    "rejected": count("rejected"),
                    "deferred": count("deferred"),
                    "referred_back": count("referred_back"),
                    "withdrawn": count("withdrawn"),
                    "closed": count("closed"),
                    "reports_due": due,
                    "reports_submitted": submitted,
                    "reports_overdue": overdue,
                    "completeness": round(submitted / due, 4) if due else None,
                    **statuses,
                    "median_lead_time_days": (
                        float(statistics.median(lead_times)) if lead_times else None
                    ),
                }
            )
    return {"year": year, "rows": rows}


def obligations(log: Log, today: date) -> list[dict[str, Any]]:
    found = []
    for s in log.stories.values():
        for period in owed(log.strategy, s, today):
            entries = s.reports.get(period.id, [])
            found.append(
                {
                    "initiative_id": s.id,
                    "title": s.content["title"],
                    "goal_area": s.content["goal_area"],
                    "actor": s.content["lead_actor"],
                    "period": period.id,
                    "period_start": period.start.isoformat(),
                    "period_end": period.end.isoformat(),
                    "due_date": period.due.isoformat(),
                    "status": status(period, s, today),
                    "submitted_at": entries[0][2] if entries else None,
                    "reports": len(entries),
                    "progress_status": entries[-1][1] if entries else None,
                }
            )
    return sorted(found, key=lambda o: (o["due_date"], o["actor"], o["title"], o["initiative_id"]))


def lessons(log: Log, q: str | None = None) -> list[dict[str, Any]]:
    words = [w.casefold() for w in (q or "").split()]
    found = [
        lesson
        for lesson in log.lessons
        if all(w in f"{lesson['lesson']}\n{lesson['title']}".casefold() for w in words)
    ]
    return sorted(found, key=lambda lesson: (-lesson["position"], lesson["seq"]))


def har_och_nu(log: Log, today: date) -> dict[str, Any]:
    strategy = log.strategy
    reports_days = [
        when
        for year in (today.year - 1, today.year)
        for event, when in strategy.cycle_event_dates(year)
        if event.id.startswith("har_och_nu") and when < today
    ]
    since = max(reports_days) if reports_days else date(today.year - 1, 1, 1)
    rows = board(log)
    in_flight = []
    for goal in [g.id for g in strategy.goal_areas]:
        counts = {
            state: sum(1 for r in rows if r["goal_area"] == goal and r["state"] == state)
            for state in ("proposal", "council_preparation", "decision", "follow_up")
        }
        in_flight.append({"goal_area": goal, **counts, "total": sum(counts.values())})
    at_risk = sorted(
        (
            {
                k: r[k]
                for k in (
                    "id",
                    "title",
                    "goal_area",
                    "lead_actor",
                    "last_report_period",
                    "last_report_status",
                )
            }
            for r in rows
            if r["state"] == "follow_up" and r["last_report_status"] in ("at_risk", "off_track")
        ),
        key=lambda r: (r["goal_area"], r["title"], r["id"]),
    )
    decided = sorted(
        (d for d in log.decisions if since < date.fromisoformat(d["meeting_date"]) <= today),
        key=lambda d: (d["meeting_date"], d["position"]),
    )
    return {
        "today": today.isoformat(),
        "since": since.isoformat(),
        "in_flight": in_flight,
        "at_risk": at_risk,
        "overdue_reports": [o for o in obligations(log, today) if o["status"] == "overdue"],
        "decided": [
            {
                "initiative_id": d["initiative_id"],
                "title": log.stories[d["initiative_id"]].content["title"],
                "goal_area": log.stories[d["initiative_id"]].content["goal_area"],
                "council": d["council"],
                "meeting_date": d["meeting_date"],
                "outcome": d["outcome"],
                "text": d["text"],
                "recorded_at": d["recorded_at"],
            }
            for d in decided
        ],
    }
