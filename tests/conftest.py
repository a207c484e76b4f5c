"""Shared fixtures: every backend test runs on SQLite and on PostgreSQL.

PostgreSQL tests are never skipped: if no server answers at RUSWF_TEST_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/test) they fail. Each test gets its own
schema, dropped afterwards, so tests cannot see each other's events.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.strategy_loader import load_strategy
from ruswf.domain.commands import ActorRef
from ruswf.domain.strategy import Strategy
from tests.servers import free_port as free_port

PG_URL = os.environ.get("RUSWF_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
STORES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A database URL pointing at a fresh schema, dropped on exit."""
    schema = f"t_{uuid4().hex[:16]}"
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def store_url(kind: str, directory: Path) -> Iterator[str]:
    """A database URL for a fresh, empty store of `kind` ("sqlite" or "postgres")."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'ruswf.db'}"
    else:
        with postgres_schema_url() as url:
            yield url


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store's URL, once for SQLite and once for PostgreSQL."""
    with store_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_format="json")


@pytest.fixture(scope="session")
def strategy() -> Strategy:
    return load_strategy()


@pytest.fixture
def app(strategy: Strategy, settings: Settings) -> Iterator[RusApp]:
    application = RusApp(strategy, settings)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def coordinator() -> ActorRef:
    return ActorRef("coord-1", "sundsvall", "coordinator")


@pytest.fixture
def preparer() -> ActorRef:
    return ActorRef("prep-1", "region_vasternorrland", "preparer")


@pytest.fixture
def secretary() -> ActorRef:
    return ActorRef("sec-1", "region_vasternorrland", "secretary")


# A valid initiative led by Sundsvall (the coordinator fixture's organisation).
CONTENT: dict[str, Any] = {
    "title": "Branschanalys – besöksnäringen",
    "summary": "Analys av besöksnäringens utveckling.",
    "goal_area": "grow",
    "lead_actor": "sundsvall",
    "priorities": ["growing_sustainable_companies"],
    "partner_actors": ["region_vasternorrland"],
    "principles": ["try_and_learn"],
    "arena": 3,
    "indicators": [{"name": "Nya företag", "unit": "antal", "baseline": 0, "target": 20}],
}


@pytest.fixture
def content() -> dict[str, Any]:
    """A fresh copy of CONTENT for each test."""
    return deepcopy(CONTENT)
