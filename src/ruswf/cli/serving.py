"""`ruswf serve`'s server: uvicorn, with one process or with `--workers N` processes on
one port.

With several workers uvicorn's own supervisor starts N processes (spawned, each
importing the application afresh from `worker_app`, with the settings from the
environment), shares the listening socket between them, and starts a new one when one
dies. Each process contends for the follower jobs (projections, ledger sealer): only the
leader of each runs it (`ruswf.app.store.leadership`).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

EMBEDDED_PROJECTIONS_ENV = "RUSWF_SERVE_EMBEDDED_PROJECTIONS"
"""How `ruswf serve` tells its worker processes whether to contend for the follower jobs
(`--no-projections`): internal, set by `serve` itself."""


def worker_app() -> FastAPI:
    """The application factory each server process calls (`uvicorn ... --factory`)."""
    from ruswf.api.main import create_app
    from ruswf.app.logging import configure_logging
    from ruswf.app.settings import Settings

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    embedded = os.environ.get(EMBEDDED_PROJECTIONS_ENV, "true") != "false"
    return create_app(settings, embedded_projections=embedded)


def run_server(host: str, port: int, *, workers: int, embedded_projections: bool) -> None:
    """Serve until stopped (SIGTERM, Ctrl-C): one process, or `workers` of them."""
    import uvicorn

    os.environ[EMBEDDED_PROJECTIONS_ENV] = "true" if embedded_projections else "false"
    uvicorn.run(
        f"{__name__}:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # The client address is ruswf's to decide (RUSWF_TRUSTED_PROXIES, api/ratelimit.py):
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1.
        proxy_headers=False,
    )
