"""Liveness, readiness, the strategy and audit verification."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ruswf.api.deps import App, require_read
from ruswf.api.problems import problem
from ruswf.api.schemas import Problem, VerifyOut
from ruswf.app.audit.verify import verify_store
from ruswf.app.calendar import meeting_view
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.domain.initiative import ActorRef

router = APIRouter(tags=["system"])


def store_reachable(settings: Settings) -> str | None:
    """None if the store answers a trivial query, else why not."""
    try:
        if settings.backend == "sqlite":
            with closing(sqlite3.connect(settings.sqlite_path(), timeout=2)) as conn:
                conn.execute("SELECT 1").fetchone()
        else:
            with psycopg.connect(
                settings.postgres_conninfo().replace(
                    f"connect_timeout={settings.postgres_connect_timeout}", "connect_timeout=2"
                )
            ) as conn:
                conn.execute("SELECT 1").fetchone()
    except (sqlite3.Error, psycopg.Error) as error:
        return f"{type(error).__name__}"
    return None


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", responses={503: {"model": Problem}})
def readyz(app: App) -> Any:
    """200 when the store is reachable, 503 otherwise."""
    failure = store_reachable(app.settings)
    if failure:
        return problem(503, f"the store is unreachable ({failure})")
    return {"status": "ready", "store": app.settings.backend}


@router.get("/api/v1/strategy", summary="The strategy in force", tags=["strategy"])
def strategy(
    app: App, _caller: Annotated[ActorRef, Depends(require_read("strategy"))]
) -> dict[str, Any]:
    """Goal areas, priorities, principles, actors, councils, arenas and the annual cycle rules."""
    s = app.strategy
    year = app.today().year
    return {
        "id": s.id,
        "name": s.name,
        "region": s.region,
        "vision": s.vision,
        "goal_areas": [{"id": g.id, "name": g.name} for g in s.goal_areas],
        "priorities": [
            {"id": p.id, "name": p.name, "goal_area": p.goal_area} for p in s.priorities
        ],
        "principles": [{"id": p.id, "name": p.name} for p in s.principles],
        "actors": [
            {"id": a.id, "name": a.name, "kind": a.kind, "councils": list(a.councils)}
            for a in s.actors
        ],
        "councils": [
            {
                "id": c.id,
                "name": c.name,
                "kind": c.kind,
                "decides": c.decides,
                "description": c.description,
            }
            for c in s.councils
        ],
        "arenas": [{"id": a.id, "name": a.name} for a in s.arenas],
        "annual_cycle": {
            "report_due_days": s.report_due_days,
            "reporting_periods": [
                {
                    "id": p.id,
                    "name": p.name,
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat(),
                    "due": p.due.isoformat(),
                }
                for p in s.reporting_periods(year)
            ],
            "events": [
                {"id": e.id, "name": e.name, "date": day.isoformat()}
                for e, day in s.cycle_event_dates(year)
            ],
            "summer_break": list(s.working_days.summer_break),
            "holidays": s.working_days.country,
            "bridge_days": "off" if s.working_days.bridge_days_off else "working",
            # Every year the cycle covers, with the meetings as adjusted (docs/calendar.md).
            "years": [_cycle_year(app, y) for y in s.cycle_years(app.today())],
        },
    }


def _cycle_year(app: RusApp, year: int) -> dict[str, Any]:
    s = app.strategy
    return {
        "year": year,
        "meetings": [meeting_view(m, app.calendar.zone) for m in app.calendar.meetings(year)],
        "events": [
            {"id": e.id, "name": e.name, "date": day.isoformat()}
            for e, day in s.cycle_event_dates(year)
        ],
        "reporting_periods": [
            {"id": p.id, "name": p.name, "due": p.due.isoformat()}
            for p in s.reporting_periods(year)
        ],
    }


@router.get(
    "/api/v1/audit/verify", response_model=VerifyOut, tags=["audit"], summary="Verify stored events"
)
def audit_verify(
    app: App, _caller: Annotated[ActorRef, Depends(require_read("audit"))]
) -> JSONResponse:
    """`ok` is true when every stored event is intact; `first_bad` names the first one
    that is not."""
    return JSONResponse(verify_store(app).as_dict())
