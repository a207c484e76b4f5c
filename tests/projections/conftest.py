"""Fixtures of the projection tests (on SQLite and PostgreSQL, like every backend test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from projections import Projections
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.domain.strategy import Strategy


@pytest.fixture
def projections(app: RusApp) -> Iterator[Projections]:
    views = Projections(app)
    try:
        yield views
    finally:
        views.close()


@contextmanager
def fresh_app(database_url: str, strategy: Strategy) -> Iterator[RusApp]:
    """Another empty store next to the fixture's (a new SQLite file, or a new schema in
    the fixture's PostgreSQL database), for tests that need several."""
    url = urlparse(database_url)
    if url.scheme == "sqlite":
        path = Path(url.path).with_name(f"ruswf-{uuid4().hex[:8]}.db")
        app = RusApp(strategy, Settings(database_url=f"sqlite:///{path}", log_format="json"))
        try:
            yield app
        finally:
            app.close()
        return
    schema = f"t_{uuid4().hex[:16]}"
    base = url._replace(query="").geturl()
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    app = RusApp(strategy, Settings(database_url=f"{base}?schema={schema}", log_format="json"))
    try:
        yield app
    finally:
        app.close()
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def dump(views: Projections) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, in a stable order (for comparing whole tables)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for model in views.models.values():
        with model.view.read() as session:
            for table in (*model.view.spec.tables, *model.view.spec.reference_tables):
                rows = session.fetchall(f"SELECT * FROM {{{table}}}")
                tables[table] = sorted((tuple(sorted(r.items())) for r in rows), key=repr)
    return tables


def store_kind(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


def schema_of(database_url: str) -> str:
    return parse_qs(urlparse(database_url).query).get("schema", ["public"])[0]


Wait = Callable[[Callable[[], bool], float], float]


@pytest.fixture
def wait_until() -> Wait:
    """`wait_until(condition, timeout)`: poll until true; returns the seconds it took."""
    import time

    def wait(condition: Callable[[], bool], timeout: float) -> float:
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not true within {timeout} s")
            time.sleep(0.01)
        return time.monotonic() - started

    return wait
