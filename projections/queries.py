"""The read side: every query the CLI and the HTTP API ask of the projections, returning
plain dicts and lists, and the renderings of the annual-cycle report."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar, Unpack

from projections.annual_cycle import EXTRA_KEYS, ROW_KEYS, AnnualCycle
from projections.audit_trail import AuditFilters, AuditTrail
from projections.base import Page, ReadModel
from projections.board import Board, BoardFilters
from projections.lessons import LessonFilters, Lessons
from projections.meetings import Meetings
from projections.obligations import ObligationFilters, Obligations
from ruswf.app.csvsafe import write_csv
from ruswf.app.service import RusApp
from ruswf.domain.errors import ValidationError
from ruswf.domain.lifecycle import State
from ruswf.domain.strategy import EARLIEST_YEAR, LATEST_YEAR, Strategy

M = TypeVar("M", bound=ReadModel)

IN_FLIGHT = (State.PROPOSAL, State.COUNCIL_PREPARATION, State.DECISION, State.FOLLOW_UP)
AT_RISK = ("at_risk", "off_track")
HAR_OCH_NU = "har_och_nu"
"""Cycle events whose id starts with this are the "Här och nu" status reports."""
MAX_LIMIT = 1000
FORMATS = ("json", "csv", "md")


class Queries:
    """Queries over the read models (mixed into `Projections`)."""

    app: RusApp
    strategy: Strategy
    models: Mapping[str, ReadModel]

    def today(self) -> date:
        """Today in the strategy's time zone."""
        return self.app.today()

    def _model(self, kind: type[M]) -> M:
        model = self.models[kind.name]
        assert isinstance(model, kind)
        return model

    # -- the board ---------------------------------------------------------------------

    def board(self, *, limit: int = 50, offset: int = 0, **filters: Unpack[BoardFilters]) -> Page:
        """One page of the initiative board and the number of matching initiatives."""
        return _paged(self._model(Board).rows, limit, offset, filters)

    # -- meetings ----------------------------------------------------------------------

    def meetings(self, council: str | None = None, year: int | None = None) -> list[dict[str, Any]]:
        """Every meeting of the year's annual cycle (default: this year), even empty ones,
        with its agenda and decisions."""
        _texts(council=council)
        return self._model(Meetings).meetings(_year(year or self.today().year), council)

    def needing_new_meeting(self) -> list[dict[str, Any]]:
        """Initiatives waiting on a cancelled meeting's agenda ("Att göra")."""
        return self._model(Meetings).needing_new_meeting()

    def followed_up(self, actor: str) -> list[tuple[str, date, date | None]]:
        """`actor`'s approved initiatives, for its reporting deadlines in the calendar."""
        _texts(actor=actor)
        return self._model(Obligations).followed_up(actor)

    # -- reports -----------------------------------------------------------------------

    def annual_cycle(self, year: int, today: date | None = None) -> dict[str, Any]:
        """`{"year": Y, "rows": [...]}`: one row per goal area and reporting period."""
        return self._model(AnnualCycle).report(_year(year), today or self.today())

    def obligations(
        self, *, today: date | None = None, **filters: Unpack[ObligationFilters]
    ) -> list[dict[str, Any]]:
        """Progress reports owed as of `today` (default: today), with status due |
        submitted | overdue."""
        _texts(**filters)
        return self._model(Obligations).obligations(today or self.today(), **filters)

    def har_och_nu(self, today: date | None = None) -> dict[str, Any]:
        """The "Här och nu" status report: what is in flight per goal area, what is at
        risk, which reports are overdue and what was decided since the last report."""
        today = today or self.today()
        since = last_har_och_nu(self.strategy, today)
        rows = self._model(Board).all_rows()
        counts = Counter((row["goal_area"], row["state"]) for row in rows)
        goal_areas = [g.id for g in self.strategy.goal_areas]
        goal_areas += sorted({row["goal_area"] for row in rows} - set(goal_areas))
        in_flight = []
        for goal_area in goal_areas:
            by_state = {s.value: counts[(goal_area, s.value)] for s in IN_FLIGHT}
            in_flight.append({"goal_area": goal_area, **by_state, "total": sum(by_state.values())})
        at_risk = [
            {
                key: row[key]
                for key in (
                    "id",
                    "title",
                    "goal_area",
                    "lead_actor",
                    "last_report_period",
                    "last_report_status",
                )
            }
            for row in rows
            if row["state"] == State.FOLLOW_UP.value and row["last_report_status"] in AT_RISK
        ]
        return {
            "today": today.isoformat(),
            "since": since.isoformat(),
            "in_flight": in_flight,
            "at_risk": sorted(at_risk, key=lambda r: (r["goal_area"], r["title"], r["id"])),
            "overdue_reports": self.obligations(status="overdue", today=today),
            "decided": self._model(Meetings).decided_between(since, today),
        }

    def lessons(
        self, *, limit: int = 50, offset: int = 0, **filters: Unpack[LessonFilters]
    ) -> Page:
        """One page of lessons learned (every word of `q` must match) and the total."""
        return _paged(self._model(Lessons).search, limit, offset, filters)

    def audit_events(
        self, *, limit: int = 50, offset: int = 0, **filters: Unpack[AuditFilters]
    ) -> Page:
        """One page of the audit trail (log order) and the number of matching events."""
        return _paged(self._model(AuditTrail).events, limit, offset, filters)


def last_har_och_nu(strategy: Strategy, today: date) -> date:
    """The date of the last "Här och nu" report before `today` (1 January of the year
    before, when the annual cycle has none)."""
    dates = [
        when
        for year in (today.year - 1, today.year)
        for event, when in strategy.cycle_event_dates(year)
        if event.id.startswith(HAR_OCH_NU) and when < today
    ]
    return max(dates, default=date(today.year - 1, 1, 1))


def render_annual(report: Mapping[str, Any], fmt: str) -> str:
    """The annual-cycle report as `json`, `csv` (the row keys as columns, in order) or
    `md` (a Markdown table)."""
    rows: list[Mapping[str, Any]] = report["rows"]
    columns = [*ROW_KEYS, *EXTRA_KEYS]
    columns += [key for row in rows for key in row if key not in columns]
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return write_csv(columns, ([row.get(c) for c in columns] for row in rows))
    if fmt == "md":
        lines = [
            f"# Annual cycle {report['year']}",
            "",
            "| " + " | ".join(columns) + " |",
            "|"
            + "|".join("---" if c in ("goal_area", "period") else "---:" for c in columns)
            + "|",
        ]
        lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    raise ValidationError("format", f"must be one of {', '.join(FORMATS)}")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _paged(query: Callable[..., Page], limit: int, offset: int, filters: Mapping[str, Any]) -> Page:
    """`query`'s page `limit`/`offset` with `filters`, once the page and the texts are valid."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise ValidationError("offset", "must not be negative")
    _texts(**filters)
    return query(limit=limit, offset=offset, **filters)


def _texts(**filters: object) -> None:
    """Stored texts never contain NUL (the domain refuses it), and PostgreSQL cannot
    even compare with one: a text filter that has one is invalid input."""
    for field, value in filters.items():
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError(field, "must not contain NUL characters")


def _year(year: int) -> int:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValidationError("year", f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return year
