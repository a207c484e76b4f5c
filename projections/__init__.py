"""ruswf's read models (projections), in the same database as the events.

`Projections(app)` opens them on the application's store; `catch_up`, `rebuild` and
`status` run them; its query methods answer the CLI and the HTTP API. `EmbeddedRunner`
follows new events inside `ruswf serve`, `run_worker` is `ruswf projections run`.
The tables are documented for reporting jobs in docs/projections.md.
"""

from __future__ import annotations

from projections.queries import Queries, render_annual
from projections.runtime import (
    NAMES,
    READ_MODELS,
    EmbeddedRunner,
    Followers,
    ProjectionError,
    Projections,
    run_worker,
)

__all__ = [
    "NAMES",
    "READ_MODELS",
    "EmbeddedRunner",
    "Followers",
    "ProjectionError",
    "Projections",
    "Queries",
    "render_annual",
    "run_worker",
]
