"""/api/v1/initiatives: propose, read (now, at a version, as of a time), list, act, history."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from ruswf.api.deps import App, CurrentUser, ProjectionsDep, require_read
from ruswf.api.params import IdempotencyKey, PastMoment, PastVersion
from ruswf.api.problems import ProblemError
from ruswf.api.schemas import (
    ACTION_BODIES,
    EventOut,
    InitiativeOut,
    Page,
    Problem,
    ProposeBody,
    Strict,
)
from ruswf.app.views import InitiativeView
from ruswf.domain.commands import ActorRef, Propose
from ruswf.domain.lifecycle import Action, State

router = APIRouter(prefix="/api/v1/initiatives", tags=["initiatives"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}, "description": text}
    for status, text in {
        401: "No or bad token.",
        403: "Role or organisation may not do this.",
        404: "Unknown initiative.",
        409: "Action not allowed in the current state (names the state and the allowed "
        "actions), or a concurrent change.",
        412: "Stale If-Match.",
        413: "Body too large.",
        422: "Invalid input (names the field).",
    }.items()
}
ETAG_PATTERN = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')

InitiativeId = Annotated[str, Path(description="The initiative's id (a UUID).", max_length=100)]
ReadInitiatives = Annotated[ActorRef, Depends(require_read("initiatives"))]


def _respond(
    view: InitiativeView, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The initiative as JSON, its version as the ETag. A ready response: the view is
    typed already, and FastAPI's check of a returned dict against `InitiativeOut` (in a
    worker thread, for a plain `def` endpoint) only repeated that work. The schema tests
    check every answer against the OpenAPI document."""
    return JSONResponse(
        view.as_dict(),
        status_code=status_code,
        headers={"ETag": f'"{view.version}"', **(headers or {})},
    )


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = ETAG_PATTERN.match(if_match)
    if not match:
        raise ProblemError(
            422,
            f'If-Match must be a version in quotes, e.g. "3": {if_match!r}',
            errors=[{"field": "If-Match", "reason": "not a version"}],
        )
    return int(match.group(1))


def propose(
    body: Strict,  # replaced by `ProposeBody` below, for the schema
    app: App,
    caller: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A coordinator drafts a new initiative led by their own organisation."""
    view = app.propose(Propose(**body.model_dump()), caller, idempotency_key=idempotency_key)
    return _respond(view, 201, {"Location": f"{router.prefix}/{view.id}"})


propose.__annotations__["body"] = ProposeBody
router.post(
    "",
    status_code=201,
    response_model=InitiativeOut,
    responses=ERRORS,
    summary="Propose an initiative",
)(propose)


@router.get("", response_model=Page[dict[str, Any]], responses=ERRORS, summary="List initiatives")
def list_initiatives(
    app: App,
    caller: ReadInitiatives,
    projections: ProjectionsDep,
    state: Annotated[State | None, Query()] = None,
    goal_area: Annotated[str | None, Query(max_length=100)] = None,
    lead_actor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The initiative board (a projection), filtered and paged, with `allowed_actions`
    for the caller."""
    items, total = projections.board(
        state=state.value if state else None,
        goal_area=goal_area,
        lead_actor=lead_actor,
        limit=limit,
        offset=offset,
    )
    for item in items:
        item["allowed_actions"] = app.allowed_actions_for(
            caller, item["state"], bool(item["has_preparation"]), item["lead_actor"]
        )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/{initiative_id}", response_model=InitiativeOut, responses=ERRORS, summary="Get an initiative"
)
def get_initiative(
    initiative_id: InitiativeId,
    app: App,
    caller: ReadInitiatives,
    version: PastVersion = None,
    as_of: PastMoment = None,
) -> JSONResponse:
    """The initiative now, at `version`, or as of a moment; 404 if it did not exist then."""
    if version is not None and as_of is not None:
        raise ProblemError(
            422,
            "give either version or as_of, not both",
            errors=[{"field": "as_of", "reason": "conflicts with version"}],
        )
    return _respond(app.get_initiative(initiative_id, caller, version=version, as_of=as_of))


@router.get(
    "/{initiative_id}/history",
    response_model=Page[EventOut],
    responses=ERRORS,
    summary="History of an initiative",
)
def history(
    initiative_id: InitiativeId,
    app: App,
    caller: Annotated[ActorRef, Depends(require_read("history"))],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Every event in order: version, type, recorded time, business date, actor and data."""
    events = app.history(initiative_id)
    return {
        "items": [e.as_dict() for e in events[offset : offset + limit]],
        "total": len(events),
        "limit": limit,
        "offset": offset,
    }


def _action_endpoint(action: Action, body_model: type[Strict]) -> Any:
    def act(
        initiative_id: InitiativeId,
        app: App,
        caller: CurrentUser,
        body: Strict | None = None,  # replaced by `body_model` below, for the schema
        if_match: Annotated[str | None, Header(alias="If-Match", max_length=100)] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        fields = body.model_dump(exclude_unset=True) if body is not None else {}
        view = app.act(
            initiative_id,
            action.value,
            caller,
            fields,
            expected_version=_expected_version(if_match),
            idempotency_key=idempotency_key,
        )
        return _respond(view)

    # Each action's route documents and validates its own body model.
    act.__annotations__["body"] = body_model | None
    act.__name__ = f"act_{action.value}"
    act.__doc__ = (
        f'The `{action.value}` action of the lifecycle. `If-Match: "<version>"` is optional.'
    )
    return act


for _action in Action:
    router.add_api_route(
        f"/{{initiative_id}}/actions/{_action.value}",
        _action_endpoint(_action, ACTION_BODIES[_action.value]),
        methods=["POST"],
        response_model=InitiativeOut,
        responses=ERRORS,
        summary=f"Action: {_action.value}",
    )
