"""The web UI: server-rendered HTML in Swedish (English on request), same origin as the
API, no build step; every asset is served from `static/`. `install(api)` adds its
routes (outside the OpenAPI schema), its static files and its error handlers;
`UiState.build` is called once in the lifespan."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ruswf.api.ratelimit import AuthFailureLimit
from ruswf.api.ui.base import HANDLERS, UiState
from ruswf.api.ui.session import SessionStore
from ruswf.app.service import RusApp
from ruswf.app.store.tokens import TokenStore

STATIC = Path(__file__).parent / "static"

__all__ = ["UiState", "build_state", "install"]


def build_state(app: RusApp, tokens: TokenStore) -> UiState:
    """The UI's per-process state (its sessions table beside the store)."""
    return UiState(
        sessions=SessionStore(app, tokens),
        login_failures=AuthFailureLimit(app.settings.auth_failures_per_minute),
    )


def install(api: FastAPI) -> None:
    """Add the UI's routers, static files and error handlers to `api`."""
    from ruswf.api.ui import initiatives, login, overview

    for module in (login, overview, initiatives):
        api.include_router(module.router)
    api.mount("/static/ui", StaticFiles(directory=STATIC), name="ui-static")
    for error, handler in HANDLERS.items():
        api.add_exception_handler(error, handler)
