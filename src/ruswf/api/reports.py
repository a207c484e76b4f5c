"""Read models for reporting: council meetings, the annual-cycle report, reporting
obligations, "Här och nu", lessons learned and the audit trail (all from projections)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from ruswf.api.deps import App, ProjectionsDep, require_read
from ruswf.api.params import Moment
from ruswf.api.schemas import Page, error_responses
from ruswf.domain.commands import ActorRef

router = APIRouter(prefix="/api/v1", tags=["reports"])
ERRORS = error_responses("Role may not read this.", invalid="Invalid query (names the field).")
Year = Annotated[int | None, Query(ge=1990, le=2100)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Reports = Annotated[ActorRef, Depends(require_read("reports"))]


def _page(items: list[dict[str, Any]], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/meetings", response_model=Page[dict[str, Any]], responses=ERRORS, tags=["meetings"])
def meetings(
    app: App,
    _caller: Annotated[ActorRef, Depends(require_read("meetings"))],
    projections: ProjectionsDep,
    council: Annotated[str | None, Query(max_length=100)] = None,
    year: Year = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Council meetings of the annual cycle with their agenda and decisions (the minutes)."""
    found = projections.meetings(council=council, year=year or app.today().year)
    return _page(found[offset : offset + limit], len(found), limit, offset)


@router.get(
    "/reports/annual-cycle",
    responses={**ERRORS, 200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def annual_cycle(
    request: Request,
    app: App,
    _caller: Reports,
    projections: ProjectionsDep,
    year: Year = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
) -> Any:
    """Per goal area and reporting period: proposals, decisions by outcome, reports
    due/submitted/overdue and completeness. `Accept: text/csv` or `?format=csv` for CSV."""
    from projections import render_annual

    report = projections.annual_cycle(year or app.today().year, today=app.today())
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    if wants_csv:
        return PlainTextResponse(render_annual(report, "csv"), media_type="text/csv; charset=utf-8")
    return report


@router.get("/reports/obligations", response_model=Page[dict[str, Any]], responses=ERRORS)
def obligations(
    app: App,
    _caller: Reports,
    projections: ProjectionsDep,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    period: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[Literal["due", "submitted", "overdue"] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Which actor owes which progress report for which period, and its status."""
    found = projections.obligations(actor=actor, period=period, status=status, today=app.today())
    return _page(found[offset : offset + limit], len(found), limit, offset)


@router.get("/reports/har-och-nu", responses=ERRORS)
def har_och_nu(app: App, _caller: Reports, projections: ProjectionsDep) -> dict[str, Any]:
    """The "Här och nu" status report: in flight per goal area, at risk, and what was
    decided since the last one."""
    result: dict[str, Any] = projections.har_och_nu(today=app.today())
    return result


@router.get("/reports/lessons", response_model=Page[dict[str, Any]], responses=ERRORS)
def lessons(
    _caller: Reports,
    projections: ProjectionsDep,
    q: Annotated[str | None, Query(max_length=200, description="Words to search for.")] = None,
    goal_area: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Lessons learned, searchable, for the next cycle's proposals."""
    items, total = projections.lessons(q=q, goal_area=goal_area, limit=limit, offset=offset)
    return _page(items, total, limit, offset)


@router.get("/audit/events", response_model=Page[dict[str, Any]], responses=ERRORS, tags=["audit"])
def audit_events(
    _caller: Annotated[ActorRef, Depends(require_read("audit"))],
    projections: ProjectionsDep,
    initiative_id: Annotated[str | None, Query(max_length=100)] = None,
    user: Annotated[str | None, Query(max_length=100)] = None,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The audit trail: one row per event, filtered and paged."""
    items, total = projections.audit_events(
        initiative_id=initiative_id,
        user=user,
        organisation=organisation,
        type=type,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return _page(items, total, limit, offset)
