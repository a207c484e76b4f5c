"""The example SQL of docs/projections.md runs on both stores and agrees with the API."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg import sql

from projections import Projections
from ruswf.app.audit.ledger import Ledger
from ruswf.app.demo.walk import run_demo
from ruswf.app.service import RusApp

from .conftest import schema_of, store_kind

DOC = Path(__file__).resolve().parents[2] / "docs" / "projections.md"
Query = Callable[[str], list[tuple[Any, ...]]]


def examples() -> dict[str, str]:
    """The doc's SQL blocks, by the comment on their first line."""
    blocks = re.findall(r"```sql\n-- (.+?)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return {name: body for name, body in blocks}


@pytest.fixture
def query(app: RusApp, database_url: str) -> Iterator[Query]:
    """Runs SQL the way a reporting job would: its own connection to the database."""
    if store_kind(database_url) == "sqlite":
        connection = sqlite3.connect(urlparse(database_url).path)
        try:
            yield lambda text: [tuple(row) for row in connection.execute(text).fetchall()]
        finally:
            connection.close()
        return
    base = urlparse(database_url)._replace(query="").geturl()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(schema_of(database_url)))
        )
        yield lambda text: [tuple(row) for row in conn.execute(text.encode()).fetchall()]


@pytest.fixture
def demo(app: RusApp, projections: Projections) -> Projections:
    run_demo(app, Ledger(app), seed=3, year=2025)
    projections.catch_up()
    return projections


def test_the_doc_has_the_promised_examples() -> None:
    assert {"completeness per goal area", "overdue reports per actor", "lessons search"} <= set(
        examples()
    )


def test_completeness_per_goal_area(demo: Projections, query: Query) -> None:
    today = date.fromisoformat(str(query("SELECT CURRENT_DATE")[0][0]))
    rows = query(examples()["completeness per goal area"])
    expected = [
        (r["goal_area"], r["period"], r["reports_due"], r["reports_submitted"], r["completeness"])
        for r in demo.annual_cycle(2025, today=today)["rows"]
        if r["reports_due"]
    ]
    assert sorted(r[:4] for r in rows) == sorted(e[:4] for e in expected)
    by_key = {(e[0], e[1]): e[4] for e in expected}
    assert all(abs(float(r[4]) - by_key[(r[0], r[1])]) < 1e-4 for r in rows)
    assert any(float(r[4]) < 1 for r in rows)


def test_overdue_reports_per_actor(demo: Projections, query: Query) -> None:
    today = date.fromisoformat(str(query("SELECT CURRENT_DATE")[0][0]))
    rows = query(examples()["overdue reports per actor"])
    overdue = demo.obligations(status="overdue", today=today)
    assert {r[0]: r[1] for r in rows} == Counter(o["actor"] for o in overdue)
    assert rows


def test_lessons_search(demo: Projections, query: Query) -> None:
    rows = query(examples()["lessons search"])
    found, _ = demo.lessons(q="Förankring", limit=1000)
    assert [r[0] for r in rows] == [f["lesson"] for f in found]
    assert rows


def test_decisions_of_a_year(demo: Projections, query: Query) -> None:
    rows = query(examples()["decisions of a year"])
    minutes = [
        (m["date"], d["title"], d["outcome"])
        for m in demo.meetings(council="rsr", year=2025)
        for d in m["decisions"]
    ]
    assert [(str(r[0]), r[2], r[3]) for r in rows] == minutes


def test_postgresql_only_examples_run(demo: Projections, query: Query, database_url: str) -> None:
    if store_kind(database_url) == "sqlite":
        assert query("SELECT COUNT(*) FROM proj_tracking") == [(6,)]
        return
    assert len(query(examples()["median lead time (PostgreSQL)"])) == 3
    assert {r[3] for r in query(examples()["lag (PostgreSQL)"])} == {0}
