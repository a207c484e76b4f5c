"""Liveness, readiness, the strategy and audit verification."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ruswf.api.deps import App, LedgerDep, require_read
from ruswf.api.problems import problem
from ruswf.api.schemas import Problem, VerifyOut
from ruswf.app.audit.verify import verify_store
from ruswf.app.calendar import meeting_view
from ruswf.app.service import RusApp
from ruswf.app.store.faults import is_store_error
from ruswf.app.store.sql import SqlStore
from ruswf.domain.commands import ActorRef

router = APIRouter(tags=["system"])


def store_reachable(app: RusApp) -> str | None:
    """None if the store answers a trivial query on a pooled connection, else why not.
    The check is unauthenticated: it must not cost the database a new connection (and
    its authentication) per call."""
    try:
        with SqlStore(app).read() as tx:
            tx.execute("SELECT 1")
    except Exception as error:
        if not is_store_error(error):
            raise
        return f"{type(error).__name__}"
    return None


# One verification at a time per process: each reads the whole store.
_VERIFYING = threading.Lock()
VERIFY_RETRY_AFTER = 5


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", responses={503: {"model": Problem}})
def readyz(app: App) -> Any:
    """200 when the store is reachable, 503 otherwise."""
    failure = store_reachable(app)
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
    "/api/v1/audit/verify",
    response_model=VerifyOut,
    responses={429: {"model": Problem, "description": "A verification is already running."}},
    tags=["audit"],
    summary="Verify stored events",
)
def audit_verify(
    app: App, ledger: LedgerDep, _caller: Annotated[ActorRef, Depends(require_read("audit"))]
) -> JSONResponse:
    """`ok` is true when every stored event is intact; `first_bad` names the first one
    that is not. It reads the whole store: one runs at a time per process, a call
    meanwhile answers 429 with `Retry-After`."""
    if not _VERIFYING.acquire(blocking=False):
        return problem(
            429,
            "a verification of the store is already running; try again later",
            headers={"Retry-After": str(VERIFY_RETRY_AFTER)},
        )
    try:
        return JSONResponse(verify_store(app, ledger).as_dict())
    finally:
        _VERIFYING.release()
