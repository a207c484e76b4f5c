"""The FastAPI application factory. The application service, the token store and the
projections are built in the lifespan, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ruswf.api import audit, initiatives, reports, system, ui
from ruswf.api.deps import ApiState
from ruswf.api.middleware import RequestContextMiddleware
from ruswf.api.problems import install_problem_handlers, problem_openapi
from ruswf.api.ratelimit import AuthFailureLimitMiddleware
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.app.strategy_loader import load_strategy

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
        from projections import EmbeddedRunner, Projections

        strategy = load_strategy(settings.strategy)
        app = RusApp(strategy, settings)
        tokens = TokenStore(settings, strategy)
        await tokens.open_async()
        views = Projections(app)
        runner = EmbeddedRunner(views) if embedded_projections else None
        if runner is not None:
            runner.start()
        api.state.ruswf = ApiState(
            app=app, tokens=tokens, projections=views, max_body_bytes=settings.max_body_bytes
        )
        api.state.ui = ui.build_state(app, tokens)  # the web UI's sessions
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            views.close()
            await tokens.close_async()
            tokens.close()
            app.close()

    api = FastAPI(
        title="ruswf",
        version="0.1.0",
        summary="Event-sourced workflow for the initiatives of a regional development strategy",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(api)
    # Added first, so it runs inside the request context (request id, request log).
    api.add_middleware(AuthFailureLimitMiddleware, per_minute=settings.auth_failures_per_minute)
    api.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    api.include_router(system.router)
    api.include_router(initiatives.router)
    api.include_router(reports.router)
    api.include_router(audit.router)
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
