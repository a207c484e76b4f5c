"""The one SQL layer beside the event store, on the application's own connection pool.

Everything that is not the event store itself (the audit ledger, the people registry,
the tokens, the projections' read models) writes its statements once, for both stores:
tables as `{name}` fields, parameters as `?` (positional) or `:name` (named). On SQLite
they run as written (tables quoted); on PostgreSQL the tables become schema-qualified
identifiers (`psycopg.sql`) and the parameters `%s` / `%(name)s`, so a statement must not
contain a literal `%`. `Renderer` does this (once per template); `sqlite_write`
is the one SQLite write transaction (`BEGIN IMMEDIATE`, rollback on error); `SqlStore`
runs statements in transactions for the small tables.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from string import Formatter
from typing import Any, Literal

import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from ruswf.app.store.locks import lock_key, xact_lock

Row = dict[str, Any]
Backend = Literal["sqlite", "postgres"]
NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def table_fields(template: str) -> set[str]:
    """The `{table}` fields of a statement template."""
    return {field for _, field, _, _ in Formatter().parse(template) if field}


class Renderer:
    """Statement templates as one store runs them (each rendered once, then cached)."""

    def __init__(
        self, backend: Backend, schema: str = "", known_tables: Collection[str] | None = None
    ) -> None:
        self.backend = backend
        self.schema = schema
        self.known_tables = known_tables
        self._rendered: dict[str, str] = {}

    def __call__(self, template: str) -> str:
        found = self._rendered.get(template)
        if found is None:
            found = self._render(template)
            self._rendered[template] = found
        return found

    def sqlite(self, template: str) -> str:
        rendered = self(template)
        assert isinstance(rendered, str)
        return rendered

    def postgres(self, template: str) -> str:
        rendered = self(template)
        assert isinstance(rendered, str)
        return rendered

    def _render(self, template: str) -> str:
        names = table_fields(template)
        if self.known_tables is not None and names - set(self.known_tables):
            unknown = sorted(names - set(self.known_tables))
            msg = f"template names unknown tables {unknown}"
            raise ValueError(msg)
        if self.backend == "sqlite":
            return template.format(**{name: f'"{name}"' for name in names})
        if "%" in template:
            msg = "pass '%' as a parameter, not in the statement"
            raise ValueError(msg)
        placeholders = NAMED_PARAMETER.sub(r"%(\1)s", template).replace("?", "%s")
        # Rendered once to text: psycopg re-renders a `Composed` on every execute and
        # caches the parsing of text queries only (a third of a follower's CPU).
        return (
            sql.SQL(placeholders)
            .format(**{name: sql.Identifier(self.schema, name) for name in names})
            .as_string(None)
        )


@contextmanager
def sqlite_write(datastore: SQLiteDatastore) -> Iterator[SQLiteCursor]:
    """A SQLite write transaction. The pool hands out one writer at a time in this
    process; `BEGIN IMMEDIATE` takes the database's write lock up front, so what the
    transaction reads cannot change under it in another process."""
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


class StoreNotSupportedError(Exception):
    """The application's store is neither SQLite nor PostgreSQL."""


class Tx:
    """One transaction: run statements, get rows back as dicts."""

    def __init__(self, store: SqlStore, cursor: Any) -> None:
        self._store = store
        self._cursor = cursor

    def execute(self, template: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows (empty for statements without a result)."""
        if self._store.backend == "sqlite":
            raw: sqlite3.Cursor = self._cursor
            raw.execute(self._store.render.sqlite(template), tuple(params))
            if raw.description is None:
                return []
            names = [d[0] for d in raw.description]
            return [dict(zip(names, row, strict=True)) for row in raw.fetchall()]
        pg: Cursor[DictRow] = self._cursor
        pg.execute(self._store.render.postgres(template), tuple(params))
        return list(pg.fetchall()) if pg.description else []

    def executemany(self, template: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per row of parameters (on PostgreSQL pipelined: one round
        trip for all of them, not one each)."""
        if not rows:
            return
        if self._store.backend == "sqlite":
            raw: sqlite3.Cursor = self._cursor
            raw.executemany(self._store.render.sqlite(template), [tuple(r) for r in rows])
            return
        pg: Cursor[DictRow] = self._cursor
        pg.executemany(self._store.render.postgres(template), [tuple(r) for r in rows])

    def one(self, template: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.execute(template, params)
        return rows[0] if rows else None


class SqlStore:
    """Plain SQL transactions on `app`'s store (sharing its connection pool)."""

    def __init__(self, app: Application[Any]) -> None:
        recorder = app.recorder
        self.events_table: str
        self.snapshots_table: str | None = None
        if app.snapshots is not None:
            self.snapshots_table = getattr(app.snapshots.recorder, "events_table_name", None)
        self.backend: Backend
        if isinstance(recorder, SQLiteApplicationRecorder):
            self.backend = "sqlite"
            self._sqlite: SQLiteDatastore = recorder.datastore
            self.events_table = recorder.events_table_name
            self.schema = ""
        elif isinstance(recorder, PostgresApplicationRecorder):
            self.backend = "postgres"
            self._postgres: PostgresDatastore = recorder.datastore
            self.events_table = recorder.events_table_name
            self.schema = recorder.datastore.schema
        else:
            msg = f"needs the SQLite or PostgreSQL store, not {type(recorder).__name__}"
            raise StoreNotSupportedError(msg)
        self.render = Renderer(self.backend, self.schema)

    # -- transactions ------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction. On SQLite `BEGIN IMMEDIATE` takes the database's write
        lock up front; on PostgreSQL lock rows yourself (`FOR UPDATE`)."""
        if self.backend == "sqlite":
            with sqlite_write(self._sqlite) as cursor:
                yield Tx(self, cursor.sqlite_cursor)
            return
        with self._postgres.transaction(commit=True) as pg_cursor:
            yield Tx(self, pg_cursor)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Reads. On PostgreSQL outside a transaction (autocommit): each statement sees
        what was committed when it started, as in the READ COMMITTED transaction it would
        otherwise be, without the BEGIN and ROLLBACK round trips."""
        if self.backend == "sqlite":
            with self._sqlite.transaction(commit=False) as sqlite_cursor:
                yield Tx(self, sqlite_cursor.sqlite_cursor)
            return
        with self._postgres.get_connection() as connection, connection.cursor() as pg_cursor:
            yield Tx(self, pg_cursor)

    def create(self, statements: Sequence[str], lock_name: str) -> None:
        """Run idempotent DDL, serialised across processes (concurrent `CREATE TABLE IF
        NOT EXISTS` can fail on PostgreSQL)."""
        with self.write() as tx:
            if self.backend == "postgres":
                xact_lock(tx._cursor, lock_key(lock_name, self.schema))
            for statement in statements:
                tx.execute(statement)

    def identifier(self, table: str) -> str:
        """How a table is named in SQL an operator would type (docs, error messages)."""
        return table if self.backend == "sqlite" else f"{self.schema}.{table}"

    def maintenance_connection(self, conninfo: str) -> psycopg.Connection[Any]:
        """An autocommit PostgreSQL connection outside the pool (for VACUUM)."""
        return psycopg.connect(conninfo, autocommit=True)
