"""The FastAPI application factory. The services (`ruswf.bootstrap`) are built once in
the lifespan, never at import time, and read by routes through `api.deps`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from projections import EmbeddedRunner
from ruswf.api import audit, initiatives, reports, system, ui, webhooks
from ruswf.api import calendar as calendar_api
from ruswf.api.middleware import RequestContextMiddleware, SecurityHeadersMiddleware
from ruswf.api.problems import install_problem_handlers, problem_openapi
from ruswf.api.ratelimit import AuthFailureLimitMiddleware
from ruswf.app.notify.schedule import BackgroundJobs
from ruswf.app.settings import Settings
from ruswf.bootstrap import Services

DESCRIPTION = """
ruswf keeps every step of every initiative of the regional development strategy
(RUS 2030, Region Västernorrland) as an immutable event. Authenticate with
`Authorization: Bearer <token>` (`ruswf token create --user U --role R --org O`).
Errors are `application/problem+json` (RFC 9457).
"""


def create_app(settings: Settings | None = None, *, embedded_projections: bool = True) -> FastAPI:
    """Build the HTTP API. `embedded_projections` runs the projection follower in-process."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        services = Services(settings, long_running=True)
        await services.tokens.open_async()
        runner = EmbeddedRunner(services.projections) if embedded_projections else None
        if runner is not None:
            runner.start()
        # Scheduled reminders; webhook deliveries where the projections run (integrations.md)
        jobs = BackgroundJobs(
            services.app,
            lambda: services.people,
            lambda today: services.projections.obligations(today=today),
            webhooks=(lambda: services.webhooks) if embedded_projections else None,
        ).start()
        api.state.ruswf = services
        api.state.ui = ui.build_state(services.app, services.tokens)  # the web UI's sessions
        try:
            yield
        finally:
            jobs.stop()
            if runner is not None:
                runner.stop()
            await services.tokens.close_async()
            services.close()

    api = FastAPI(
        title="ruswf",
        version="0.1.0",
        summary="Event-sourced workflow for the initiatives of a regional development strategy",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(api)
    # Added first, so it runs inside the request context (request id, request log).
    api.add_middleware(
        AuthFailureLimitMiddleware,
        per_minute=settings.auth_failures_per_minute,
        trusted_proxies=settings.trusted_proxy_networks(),
    )
    api.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    api.add_middleware(SecurityHeadersMiddleware)  # outermost: every response, 413s too
    api.include_router(system.router)
    api.include_router(initiatives.router)
    api.include_router(reports.router)
    api.include_router(audit.router)
    api.include_router(calendar_api.router)
    api.include_router(webhooks.router)
    ui.install(api)  # the web UI (outside the OpenAPI schema)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = problem_openapi(
                get_openapi(
                    title=api.title,
                    version=api.version,
                    summary=api.summary,
                    description=api.description,
                    routes=api.routes,
                )
            )
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
    return api
