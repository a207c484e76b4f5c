"""Finding 2: an erase answers what it guarantees. With a reader holding the old data (a
reporting job's open transaction), DELETE answers 202 `pending`; the erasure completes
once the reader has gone, and the person's GET says when."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import IsolationLevel, sql

from tests.conftest import PG_URL, STORES
from tests.servers import RUSWF

NAME = "Greta Raderasdotter"
Auth = Callable[[str], dict[str, str]]


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store; on PostgreSQL a database of its own, since an erasure there
    depends on every open snapshot of the database (other tests' included)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ruswf.db'}"
        return
    name = f"sec_{uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlparse(PG_URL)._replace(path=f"/{name}", query="schema=public").geturl()
    finally:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def open_reader(database_url: str) -> Iterator[None]:
    """A reporting job with a read transaction open on the people table."""
    url = urlparse(database_url)
    if url.scheme == "sqlite":
        conn = sqlite3.connect(url.path)
        try:
            conn.execute("BEGIN")
            assert conn.execute('SELECT count(*) FROM "ruswf_people"').fetchone()
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    schema = parse_qs(url.query)["schema"][0]
    with psycopg.connect(url._replace(query="").geturl()) as pg:
        pg.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "ruswf_people"))
        )
        yield
        pg.rollback()


def stored_bytes(database_url: str) -> bytes:
    """SQLite: the database and write-ahead log files. PostgreSQL: the table's file
    identity (a rewrite by VACUUM FULL gives it a new one)."""
    url = urlparse(database_url)
    if url.scheme == "sqlite":
        path = Path(url.path)
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    schema = parse_qs(url.query)["schema"][0]
    with psycopg.connect(url._replace(query="").geturl()) as pg:
        row = pg.execute(
            "SELECT pg_relation_filenode(%s::regclass)", (f'"{schema}".ruswf_people',)
        ).fetchone()
    assert row is not None
    return str(row[0]).encode()


def register(client: TestClient, auth: Auth) -> dict[str, Any]:
    created = client.post(
        "/api/v1/people", json={"name": NAME, "organisation": "sundsvall"}, headers=auth("admin")
    )
    assert created.status_code == 201, created.text
    person: dict[str, Any] = created.json()
    return person


def test_erase_with_an_open_reader_answers_pending_then_completes(
    client: TestClient, auth: Auth, database_url: str
) -> None:
    person = register(client, auth)
    before = stored_bytes(database_url)
    with open_reader(database_url):
        erased = client.delete(f"/api/v1/people/{person['id']}", headers=auth("admin"))
        assert erased.status_code == 202, erased.text
        assert erased.json()["erasure"] == "pending"
        assert erased.json()["erasure_completed_at"] is None
        assert erased.json()["name"] == "[raderad]"
    later = client.get(f"/api/v1/people/{person['id']}", headers=auth("admin")).json()
    assert later["erasure"] == "complete"
    assert later["erasure_completed_at"] is not None
    after = stored_bytes(database_url)
    if database_url.startswith("sqlite"):
        assert NAME.encode() in before
        assert NAME.encode() not in after
    else:
        assert after != before  # the table was rewritten: no dead row version is left


def test_erase_without_readers_answers_complete(
    client: TestClient, auth: Auth, database_url: str
) -> None:
    person = register(client, auth)
    erased = client.delete(f"/api/v1/people/{person['id']}", headers=auth("admin"))
    assert erased.status_code == 200, erased.text
    assert erased.json()["erasure"] == "complete"
    if database_url.startswith("sqlite"):
        assert NAME.encode() not in stored_bytes(database_url)


def completed_at(database_url: str, person_id: str) -> str | None:
    """The erasure's completion as stored, read with plain SQL (no ruswf code runs)."""
    url = urlparse(database_url)
    query = "SELECT completed_at FROM {} WHERE person_id = "
    if url.scheme == "sqlite":
        with closing(sqlite3.connect(url.path)) as conn:
            row = conn.execute(
                query.format('"ruswf_people_erasures"') + "?", (person_id,)
            ).fetchone()
    else:
        schema = parse_qs(url.query)["schema"][0]
        with psycopg.connect(url._replace(query="").geturl()) as pg:
            row = pg.execute(
                sql.SQL(query + "%s").format(sql.Identifier(schema, "ruswf_people_erasures")),
                (person_id,),
            ).fetchone()
    assert row is not None
    return None if row[0] is None else str(row[0])


def test_server_completes_a_pending_erasure_by_itself_once_the_reader_has_gone(
    client: TestClient, auth: Auth, database_url: str
) -> None:
    person = register(client, auth)
    with open_reader(database_url):
        erased = client.delete(f"/api/v1/people/{person['id']}", headers=auth("admin"))
        assert erased.status_code == 202, erased.text
    deadline = time.monotonic() + 20
    while completed_at(database_url, person["id"]) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert completed_at(database_url, person["id"]) is not None


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_erase_with_an_old_snapshot_open_answers_pending_then_completes(
    client: TestClient, auth: Auth, database_url: str
) -> None:
    """A reporting job in one REPEATABLE READ transaction (on any table) still sees the
    old row version, so VACUUM FULL would copy it into the rewritten table: pending."""
    person = register(client, auth)
    url = urlparse(database_url)
    with psycopg.connect(url._replace(query="").geturl()) as job:
        job.isolation_level = IsolationLevel.REPEATABLE_READ
        job.execute("SELECT count(*) FROM pg_class").fetchone()
        erased = client.delete(f"/api/v1/people/{person['id']}", headers=auth("admin"))
        assert erased.status_code == 202, erased.text
        assert erased.json()["erasure"] == "pending"
        job.rollback()
    later = client.get(f"/api/v1/people/{person['id']}", headers=auth("admin")).json()
    assert later["erasure"] == "complete"


def gdpr(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RUSWF, "gdpr", *args],
        env={**os.environ, "RUSWF_DATABASE_URL": database_url, "RUSWF_LOG_LEVEL": "error"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_gdpr_status_reports_a_pending_erasure_until_it_is_complete(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ruswf.db'}"
    registered = gdpr(url, "register", "--name", NAME)
    assert registered.returncode == 0, registered.stderr
    person_id = registered.stdout.strip().splitlines()[-1]
    with open_reader(url):
        erased = gdpr(url, "erase", "--person", person_id)
        assert erased.returncode == 0, erased.stderr
        assert "pending" in erased.stdout
        waiting = gdpr(url, "status")
        assert waiting.returncode == 3
        assert f"{person_id}" in waiting.stdout
        assert "pending" in waiting.stdout
    done = gdpr(url, "status")
    assert done.returncode == 0, done.stderr
    assert "complete" in done.stdout
    assert NAME.encode() not in stored_bytes(url)
