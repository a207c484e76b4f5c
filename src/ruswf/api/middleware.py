"""ASGI middleware: request ids and request logging; a body-size limit enforced before
the body is parsed."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ruswf.api.problems import send_problem

log = structlog.get_logger("ruswf.api")
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


async def _send_problem(send: Send, status: int, detail: str, request_id: str) -> None:
    await send_problem(send, status, detail, request_id, {"X-Request-ID": request_id})


class RequestContextMiddleware:
    """Gives each request an id (`X-Request-ID`, accepted or made), logs one line per
    request, and refuses bodies over `max_body_bytes` with 413 before they are parsed."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        offered = headers.get("x-request-id", "")
        request_id = offered if REQUEST_ID_PATTERN.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        def finish() -> None:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_holder["status"],
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                user=scope["state"].get("user"),
            )

        async def refuse_too_large() -> None:
            status_holder["status"] = 413
            await _send_problem(
                send, 413, f"request body exceeds {self.max_body_bytes} bytes", request_id
            )
            finish()

        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await refuse_too_large()
            return

        # Read the whole body first (at most the limit), so an oversized one is refused
        # before anything parses it.
        chunks: list[bytes] = []
        received = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                await refuse_too_large()
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay, send_with_id)
        finally:
            finish()


# Every HTML page ruswf sends: nothing but its own scripts, styles and fonts (no inline
# script, no CDN), no framing, no <base> or form target elsewhere (docs/security.md).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# FastAPI's interactive API docs (/docs, /redoc) are pages of the framework: they load
# Swagger UI / ReDoc from their CDN and start them with an inline script. They hold no
# user content; their policy allows exactly that and nothing more.
API_DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every response; on every `text/html` one a
    Content-Security-Policy without inline scripts, `frame-ancestors 'none'`,
    `X-Frame-Options: DENY` and `Referrer-Policy: same-origin` (not `no-referrer`: with it
    browsers send `Origin: null` on the UI's own form posts, which its origin check must
    refuse). A header an endpoint set itself is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = API_DOCS_POLICY if scope["path"] in API_DOCS_PATHS else CONTENT_SECURITY_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                added = [(b"x-content-type-options", b"nosniff")]
                content_type = next(
                    (value for name, value in headers if name.lower() == b"content-type"), b""
                )
                if content_type.lower().startswith(b"text/html"):
                    added += [
                        (b"content-security-policy", policy.encode()),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"same-origin"),
                    ]
                headers += [(name, value) for name, value in added if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
