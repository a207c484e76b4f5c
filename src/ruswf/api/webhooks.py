"""Webhook subscriptions (admin only): register, list, delete, the delivery log, replay
and secret rotation. Deliveries are signed as Standard Webhooks says; see
docs/integrations.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ruswf.api.deps import App, CurrentUser, ServicesDep
from ruswf.api.params import IdempotencyKey
from ruswf.api.problems import ProblemError
from ruswf.api.schemas import Page, error_responses
from ruswf.app.authorization import Role
from ruswf.app.notify import targets
from ruswf.app.notify.webhooks import WebhookNotFoundError, WebhookStore
from ruswf.domain.commands import ActorRef

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
ERRORS = error_responses("Only an admin manages webhooks.", unknown="Unknown webhook.")
WebhookId = Annotated[
    str, Path(description="The webhook's id (wh_ and 16 hex digits).", max_length=40)
]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=targets.MAX_URL_LENGTH, examples=["https://203.0.113.10/hooks/ruswf"]
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=50,
        description='Event `type` names as in `/history`, or `["*"]` for every event.',
        examples=[["Approved", "ProgressReported"]],
    )


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_position: int = Field(ge=1, description="Deliver again from this log position on.")


async def get_webhooks(services: ServicesDep) -> WebhookStore:
    """The subscriptions (built once per process by the composition root)."""
    return services.webhooks


Webhooks = Annotated[WebhookStore, Depends(get_webhooks)]


def _admin(caller: ActorRef) -> str:
    if caller.role != Role.ADMIN.value:
        raise ProblemError(
            403,
            f"role '{caller.role}' may not manage webhooks; needed: admin",
            needed_roles=["admin"],
        )
    return f"{caller.user}\n{caller.organisation}\n{caller.role}"


def _found(error: WebhookNotFoundError) -> ProblemError:
    return ProblemError(404, str(error))


@router.post("/webhooks", status_code=201, responses=ERRORS, summary="Subscribe to events")
def create_webhook(
    body: WebhookBody,
    caller: CurrentUser,
    app: App,
    webhooks: Webhooks,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register a receiver; the answer's `secret` (`whsec_` + base64) is shown only here.
    Delivery starts with the next event recorded."""
    scope = _admin(caller)
    store = webhooks
    targets.check(body.url, allow_private=app.settings.webhook_allow_private)
    status, created = store.create(
        body.url,
        body.event_types,
        created_by=caller.user,
        scope=scope,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(
        created,
        status_code=status,
        headers={"Location": f"{router.prefix}/webhooks/{created['id']}"},
    )


@router.get("/webhooks", response_model=Page[dict[str, Any]], responses=ERRORS, summary="Webhooks")
def list_webhooks(
    caller: CurrentUser, webhooks: Webhooks, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Every subscription (never its secret), with its cursor and back-off."""
    _admin(caller)
    found, total = webhooks.page(limit, offset)
    return {"items": [s.public() for s in found], "total": total, "limit": limit, "offset": offset}


@router.get("/webhooks/{webhook_id}", responses=ERRORS, summary="One webhook")
def read_webhook(webhook_id: WebhookId, caller: CurrentUser, webhooks: Webhooks) -> dict[str, Any]:
    _admin(caller)
    try:
        return webhooks.get(webhook_id).public()
    except WebhookNotFoundError as error:
        raise _found(error) from None


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=ERRORS, summary="Unsubscribe")
def delete_webhook(webhook_id: WebhookId, caller: CurrentUser, webhooks: Webhooks) -> Response:
    """Remove the subscription and its delivery log; nothing more is sent to it."""
    _admin(caller)
    try:
        webhooks.delete(webhook_id)
    except WebhookNotFoundError as error:
        raise _found(error) from None
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[dict[str, Any]],
    responses=ERRORS,
    summary="The delivery log",
)
def webhook_deliveries(
    webhook_id: WebhookId,
    caller: CurrentUser,
    webhooks: Webhooks,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Every delivery attempt, newest first: position, `webhook_id`, attempt, status code
    or error, outcome (delivered | failed | gone) and duration."""
    _admin(caller)
    try:
        items, total = webhooks.deliveries(webhook_id, limit, offset)
    except WebhookNotFoundError as error:
        raise _found(error) from None
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post(
    "/webhooks/{webhook_id}/replay", status_code=202, responses=ERRORS, summary="Deliver again"
)
def replay_webhook(
    webhook_id: WebhookId,
    body: ReplayBody,
    caller: CurrentUser,
    webhooks: Webhooks,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Deliver every subscribed event again from `from_position` (inclusive) on, in log
    order, with the same `webhook-id`s as before; enables a disabled subscription."""
    scope = _admin(caller)
    try:
        status, answer = webhooks.replay(
            webhook_id, body.from_position, scope=scope, idempotency_key=idempotency_key
        )
    except WebhookNotFoundError as error:
        raise _found(error) from None
    return JSONResponse(answer, status_code=status)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret", responses=ERRORS, summary="A new signing secret"
)
def rotate_webhook_secret(
    webhook_id: WebhookId,
    caller: CurrentUser,
    webhooks: Webhooks,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A new secret (shown only here). For 24 hours deliveries carry signatures with both
    the new and the previous secret, so the receiver can switch without losing any."""
    scope = _admin(caller)
    try:
        status, answer = webhooks.rotate_secret(
            webhook_id, scope=scope, idempotency_key=idempotency_key
        )
    except WebhookNotFoundError as error:
        raise _found(error) from None
    return JSONResponse(answer, status_code=status)
