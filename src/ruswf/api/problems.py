"""Errors as RFC 9457 problem+json: one handler per error family, no blanket catch-all
except the last-resort 500, which logs the request id and leaks no stack trace."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import psycopg
import structlog
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from ruswf.app.errors import (
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    InitiativeNotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from ruswf.app.store.faults import store_fault
from ruswf.domain.errors import (
    MeetingCancelledError,
    MeetingNotFoundError,
    TransitionNotAllowedError,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("ruswf.api")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    507: "Insufficient storage",
}


class ProblemError(Exception):
    """Raise from the API layer to answer with a problem."""

    def __init__(
        self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def _problem_body(
    status: int, detail: str, instance: str | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """A problem document (RFC 9457): the members every one has, then where it happened
    and the request id when known."""
    body: dict[str, Any] = {
        "type": f"https://ruswf.se/problems/{status}" if status != 500 else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    return body


def problem(
    status: int,
    detail: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    if request is None:
        body = _problem_body(status, detail)
    else:
        request_id = getattr(request.state, "request_id", None)
        body = _problem_body(status, detail, request.url.path, request_id)
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer a problem straight from ASGI middleware (before any route runs)."""
    body = json.dumps(_problem_body(status, detail, request_id=request_id)).encode()
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error family to its status code."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, error: ProblemError) -> JSONResponse:
        return problem(error.status, error.detail, request, error.headers, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": "body"
                if e.get("type") == "json_invalid"
                else _field_of(tuple(e.get("loc", ()))),
                "reason": str(e.get("msg", "invalid")),
            }
            for e in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        return problem(422, detail, request, errors=errors)

    @app.exception_handler(ValidationError)
    async def _invalid(request: Request, error: ValidationError) -> JSONResponse:
        return problem(
            422, str(error), request, errors=[{"field": error.field, "reason": error.reason}]
        )

    @app.exception_handler(IdempotencyKeyReusedError)
    async def _key_reused(request: Request, error: IdempotencyKeyReusedError) -> JSONResponse:
        return problem(
            422, str(error), request, errors=[{"field": "Idempotency-Key", "reason": str(error)}]
        )

    @app.exception_handler(TransitionNotAllowedError)
    async def _not_allowed(request: Request, error: TransitionNotAllowedError) -> JSONResponse:
        return problem(
            409, str(error), request, state=error.state, allowed_actions=error.allowed_actions
        )

    @app.exception_handler(MeetingCancelledError)
    async def _cancelled(request: Request, error: MeetingCancelledError) -> JSONResponse:
        return problem(409, str(error), request, meeting_id=error.meeting_id)

    @app.exception_handler(MeetingNotFoundError)
    async def _no_meeting(request: Request, error: MeetingNotFoundError) -> JSONResponse:
        return problem(404, str(error), request, meeting_id=error.meeting_id)

    @app.exception_handler(ConcurrencyConflictError)
    async def _conflict(request: Request, error: ConcurrencyConflictError) -> JSONResponse:
        return problem(409, str(error), request)

    @app.exception_handler(StaleVersionError)
    async def _stale(request: Request, error: StaleVersionError) -> JSONResponse:
        return problem(412, str(error), request, headers={"ETag": f'"{error.current}"'})

    @app.exception_handler(InitiativeNotFoundError)
    async def _not_found(request: Request, error: InitiativeNotFoundError) -> JSONResponse:
        return problem(404, str(error), request)

    @app.exception_handler(PermissionDeniedError)
    async def _forbidden(request: Request, error: PermissionDeniedError) -> JSONResponse:
        return problem(
            403,
            str(error),
            request,
            needed_roles=error.needed_roles or None,
            needed_organisation=error.needed_organisation,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = (
            error.detail
            if isinstance(error.detail, str)
            else TITLES.get(error.status_code, "Error")
        )
        return problem(error.status_code, detail, request, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Last resort: the cause goes to the log with the request id, never to the client.
        log.error("unhandled_error", error_type=type(error).__name__, exc_info=error)
        return problem(
            500, "an unexpected error occurred; quote the request id when reporting it", request
        )

    async def _store(request: Request, error: Exception) -> JSONResponse:
        fault = store_fault(error)
        if fault is None:
            return await _unexpected(request, error)
        # The driver's message can name hosts, users and SQL: the log gets it, the
        # caller gets the reason.
        log.warning(
            "store_fault",
            reason=fault.reason,
            status=fault.status,
            error_type=type(error).__name__,
            error=str(error).splitlines()[0] if str(error) else "",
        )
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
        return problem(fault.status, fault.message, request, headers, reason=fault.reason)

    for store_error in (PersistenceError, sqlite3.Error, psycopg.Error):
        app.add_exception_handler(store_error, _store)


# Every API operation can answer these, whatever its own list says.
COMMON_ERRORS = {
    "401": "No, malformed, unknown or revoked bearer token.",
    "403": "The caller's role or organisation may not do this.",
    "413": "The request body is too large.",
    "422": "Invalid input; `errors` names each offending field.",
    "429": "Too many failed authentications from this client; see `Retry-After`.",
    "500": "An unexpected error; quote the request id.",
    "503": "The store is unavailable (unreachable, busy, locked or read-only): `reason` "
    "says which, `Retry-After` when a retry may help (with the same `Idempotency-Key`).",
    "507": "The store's disk is full; the command was not recorded.",
}


def problem_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Document every error response as `application/problem+json` with the Problem schema."""
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path.startswith("/api/"):
                for status, description in COMMON_ERRORS.items():
                    responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {"application/problem+json": {"schema": problem_ref}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema
