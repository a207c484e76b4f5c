"""Fixtures of the audit tests: plain SQL on the store (to tamper with it as an attacker
with database access would), the ledger, the CLI, and initiatives with decisions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest
import structlog
import typer
from psycopg import sql
from typer.testing import CliRunner

from ruswf.app.audit.ledger import Ledger
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.cli.audit import audit_cli, gdpr_cli
from ruswf.domain.commands import (
    ActorRef,
    Approve,
    Defer,
    Propose,
    RecordPreparation,
    ReferBack,
    Revise,
    Schedule,
    Submit,
)
from ruswf.domain.strategy import Strategy

FIRST_MEETING = "2026-01-15"  # RSR meetings of the shipped annual cycle
SECOND_MEETING = "2026-02-19"
THIRD_MEETING = "2026-03-19"


class RawStore:
    """Plain SQL on the store, outside ruswf: the events table is `stored_events` (SQLite,
    position = rowid) or `ruswf_events` in the test's schema (PostgreSQL, position =
    notification_id)."""

    def __init__(self, database_url: str) -> None:
        url = urlparse(database_url)
        self.sqlite = url.scheme == "sqlite"
        if self.sqlite:
            self.path = Path(url.path)
            self.events, self.snapshots, self.position = (
                "stored_events",
                "stored_snapshots",
                "rowid",
            )
        else:
            self.base = url._replace(query="").geturl()
            self.schema = parse_qs(url.query)["schema"][0]
            self.events, self.snapshots, self.position = (
                "ruswf_events",
                "ruswf_snapshots",
                "notification_id",
            )

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """One statement with `?` parameters, committed."""
        if self.sqlite:
            with closing(sqlite3.connect(self.path)) as conn, conn:
                return conn.execute(statement, params).fetchall()
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            cursor = conn.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def state(self, position: int) -> bytes:
        rows = self.execute(
            f"SELECT state FROM {self.events} WHERE {self.position} = ?", (position,)
        )
        return bytes(rows[0][0])

    def alter(self, position: int, old: str, new: str) -> None:
        """Change text inside an event's stored bytes."""
        state = self.state(position)
        assert old.encode() in state, f"{old!r} not in the stored event at {position}"
        self.execute(
            f"UPDATE {self.events} SET state = ? WHERE {self.position} = ?",
            (state.replace(old.encode(), new.encode()), position),
        )

    def delete(self, position: int) -> None:
        self.execute(f"DELETE FROM {self.events} WHERE {self.position} = ?", (position,))

    def swap(self, first: int, second: int) -> None:
        """Swap two events' positions in the log."""
        for old, new in ((first, -1), (second, first), (-1, second)):
            self.execute(
                f"UPDATE {self.events} SET {self.position} = ? WHERE {self.position} = ?",
                (new, old),
            )

    def rows(self, excluding: str) -> bytes:
        """Every row of every table but `excluding`, as bytes (text and blobs)."""
        if self.sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"
        tables = self.execute(query, () if self.sqlite else (self.schema,))
        found = b""
        for (table,) in tables:
            if table == excluding:
                continue
            for row in self.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    found += (
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else (str(value).encode())
                    )
                    found += b"\n"
        return found

    def dump(self) -> bytes:
        """Everything the store holds, as bytes: the SQLite files (database and write-ahead
        log), or every row of every table in the PostgreSQL schema as text."""
        if self.sqlite:
            parts = [self.path, self.path.with_name(self.path.name + "-wal")]
            return b"".join(p.read_bytes() for p in parts if p.exists())
        tables = self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            (self.schema,),
        )
        found = b""
        for (table,) in tables:
            rows = self.execute(f'SELECT t::text FROM "{table}" t')
            found += "\n".join(r[0] for r in rows).encode()
            # Stored event states are bytea: their text form is hex, so add them raw too.
            if table in (self.events, self.snapshots):
                found += b"".join(bytes(r[0]) for r in self.execute(f'SELECT state FROM "{table}"'))
        return found


@pytest.fixture
def raw(database_url: str) -> RawStore:
    return RawStore(database_url)


@pytest.fixture
def ledger(app: RusApp) -> Ledger:
    return Ledger(app)


@pytest.fixture
def open_app(strategy: Strategy, database_url: str) -> Iterator[Callable[..., RusApp]]:
    """`open_app(**settings)`: another application on the test's store."""
    opened: list[RusApp] = []

    def make(**overrides: Any) -> RusApp:
        settings = Settings(database_url=database_url, log_format="json", **overrides)
        application = RusApp(strategy, settings)
        opened.append(application)
        return application

    yield make
    for application in opened:
        application.close()


cli = typer.Typer()
cli.add_typer(audit_cli, name="audit")
cli.add_typer(gdpr_cli, name="gdpr")


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """`run(*args)`: the `ruswf` command line in-process, on the test's store. The
    command configures structlog for the process; the configuration is restored after,
    so later tests' `capture_logs` still see every level."""
    monkeypatch.setenv("RUSWF_DATABASE_URL", database_url)
    monkeypatch.setenv("RUSWF_LOG_FORMAT", "json")
    monkeypatch.setenv("RUSWF_LOG_LEVEL", "warning")
    runner = CliRunner()
    saved = structlog.get_config()
    yield lambda *args: runner.invoke(cli, list(args))
    structlog.configure(**saved)


@pytest.fixture
def decided(
    app: RusApp,
    coordinator: ActorRef,
    preparer: ActorRef,
    secretary: ActorRef,
    content: dict[str, object],
) -> str:
    """An initiative deferred once, referred back once, revised, then approved: its
    decisions are 1 deferred, 2 referred_back, 3 approved."""
    initiative = app.propose(Propose(**content), coordinator).id
    app.execute(initiative, Submit(comment="Till beredning."), coordinator)
    app.execute(
        initiative,
        RecordPreparation(memo="PM: första beredningen.", recommendation="approve"),
        preparer,
    )
    app.execute(initiative, Schedule(council="rsr", meeting_date=FIRST_MEETING), preparer)
    app.execute(
        initiative,
        Defer(reason="Underlaget saknar budget.", meeting_date=SECOND_MEETING),
        secretary,
    )
    app.execute(initiative, ReferBack(reason="Förankra med kommunerna."), secretary)
    app.execute(
        initiative,
        Revise(changes={"title": "Branschanalys 2.0"}, comment="Efter återremiss."),
        coordinator,
    )
    app.execute(
        initiative,
        RecordPreparation(memo="PM: andra beredningen.", recommendation="approve"),
        preparer,
    )
    app.execute(initiative, Schedule(council="rsr", meeting_date=THIRD_MEETING), preparer)
    app.execute(initiative, Approve(decision_text="RSR ställer sig bakom insatsen."), secretary)
    return initiative
