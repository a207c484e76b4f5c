"""Plain SQL beside the events, on the application's own store and connection pool.

The audit ledger and the people registry are small tables next to the event log (in the
same SQLite file, or the same PostgreSQL schema). Statements are written once: tables as
`{name}` fields, parameters as `?`. On SQLite they run as written (tables quoted); on
PostgreSQL the tables become schema-qualified identifiers (`psycopg.sql`) and `?`
becomes `%s`, so a statement must not contain a literal `%` or `?`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from string import Formatter
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from ruswf.app.store.locks import lock_key, xact_lock

Row = dict[str, Any]


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
            raw.execute(self._store.render_sqlite(template), tuple(params))
            if raw.description is None:
                return []
            names = [d[0] for d in raw.description]
            return [dict(zip(names, row, strict=True)) for row in raw.fetchall()]
        pg: Cursor[DictRow] = self._cursor
        pg.execute(self._store.render_postgres(template), tuple(params))
        return list(pg.fetchall()) if pg.description else []

    def executemany(self, template: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per row of parameters (on PostgreSQL pipelined: one round
        trip for all of them, not one each)."""
        if not rows:
            return
        if self._store.backend == "sqlite":
            raw: sqlite3.Cursor = self._cursor
            raw.executemany(self._store.render_sqlite(template), [tuple(r) for r in rows])
            return
        pg: Cursor[DictRow] = self._cursor
        pg.executemany(self._store.render_postgres(template), [tuple(r) for r in rows])

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
        self._rendered: dict[str, Any] = {}

    # -- rendering ---------------------------------------------------------------

    @staticmethod
    def _tables(template: str) -> set[str]:
        return {field for _, field, _, _ in Formatter().parse(template) if field}

    def render_sqlite(self, template: str) -> str:
        found = self._rendered.get(template)
        if found is None:
            found = template.format(**{name: f'"{name}"' for name in self._tables(template)})
            self._rendered[template] = found
        assert isinstance(found, str)
        return found

    def render_postgres(self, template: str) -> str:
        found = self._rendered.get(template)
        if found is None:
            if "%" in template:
                msg = "pass '%' as a parameter, not in the statement"
                raise ValueError(msg)
            # Rendered once to text: psycopg re-renders a `Composed` on every execute and
            # caches the parsing of text queries only.
            found = (
                sql.SQL(template.replace("?", "%s"))
                .format(
                    **{name: sql.Identifier(self.schema, name) for name in self._tables(template)}
                )
                .as_string(None)
            )
            self._rendered[template] = found
        assert isinstance(found, str)
        return found

    # -- transactions ------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction. On SQLite `BEGIN IMMEDIATE` takes the database's write
        lock up front; on PostgreSQL lock rows yourself (`FOR UPDATE`)."""
        if self.backend == "sqlite":
            with self._sqlite.get_connection(commit=True) as connection:
                cursor = connection.cursor().sqlite_cursor
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(self, cursor)
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
            return
        with self._postgres.transaction(commit=True) as pg_cursor:
            yield Tx(self, pg_cursor)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only transaction."""
        if self.backend == "sqlite":
            with self._sqlite.transaction(commit=False) as sqlite_cursor:
                yield Tx(self, sqlite_cursor.sqlite_cursor)
            return
        with self._postgres.transaction(commit=False) as pg_cursor:
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
