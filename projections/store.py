"""The view interface and its two implementations, SQLite and PostgreSQL.

A view is an eventsourcing tracking recorder: the tables of one projection plus its
position in the application's notification log, kept in the `proj_tracking` table of
the same database (and, on PostgreSQL, the same schema) as the events. Every write goes
through `View.apply_batch`, which changes the tables and the position in one
transaction, after checking (under a lock) that the position is the one the batch was
read from. So each event is applied exactly once, whichever process or thread gets
there first, and a crash at any point leaves the tables and the position consistent.

Statements are written once as templates: tables as `{proj_board}` fields, parameters as
`:name`. The SQLite view renders them as they are; the PostgreSQL view composes them
with `psycopg.sql` (schema-qualified identifiers) and `%(name)s` placeholders. Tables
are declared once too (`Table`): each column with its PostgreSQL type, from which the
SQLite table, the JSON and the boolean columns follow.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, ClassVar, Protocol
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder
from psycopg import Cursor, sql
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb

from ruswf.app.store.locks import lock_key, xact_lock
from ruswf.app.store.sql import Backend, Renderer, sqlite_write

TRACKING_TABLE = "proj_tracking"

_SQLITE_TYPES = {
    "text": "TEXT",
    "integer": "INTEGER",
    "bigint": "INTEGER",
    "boolean": "INTEGER",
    "date": "TEXT",
    "timestamptz": "TEXT",
    "jsonb": "TEXT",
}
"""SQLite's type for each PostgreSQL type the projections use: dates and times are ISO
text (which sorts as they do), JSON is text and booleans are 0 or 1."""


@dataclass(frozen=True)
class Table:
    """A table of a projection, declared once for both stores.

    Each column is given by its PostgreSQL definition (`"date NOT NULL"`); the SQLite
    table has the same columns and constraints with SQLite's types (`_SQLITE_TYPES`).
    """

    name: str
    columns: Mapping[str, str]
    primary_key: tuple[str, ...] = ()
    """A key of several columns (a key of one is part of its column's definition)."""
    indexes: Mapping[str, str] = field(default_factory=dict)
    """Each index's name and the columns it covers, in order."""

    def ddl(self, backend: Backend) -> tuple[str, ...]:
        """The statements creating the table and its indexes on `backend` (idempotent)."""
        definitions = [
            f"{column} {_definition(definition, backend)}"
            for column, definition in self.columns.items()
        ]
        if self.primary_key:
            definitions.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        return (
            f"CREATE TABLE IF NOT EXISTS {{{self.name}}} ({', '.join(definitions)})",
            *(
                f"CREATE INDEX IF NOT EXISTS {index} ON {{{self.name}}} ({columns})"
                for index, columns in self.indexes.items()
            ),
        )

    def insert(self, session: Session, row: Mapping[str, Any]) -> None:
        """Insert `row` (the columns it does not name are NULL)."""
        placeholders = ", ".join(f":{column}" for column in row)
        session.execute(
            f"INSERT INTO {{{self.name}}} ({', '.join(row)}) VALUES ({placeholders})", row
        )

    def columns_of_type(self, column_type: str) -> frozenset[str]:
        """The columns of PostgreSQL type `column_type`."""
        return frozenset(
            column
            for column, definition in self.columns.items()
            if definition.split()[0] == column_type
        )


def _definition(definition: str, backend: Backend) -> str:
    if backend == "postgres":
        return definition
    column_type, _, constraints = definition.partition(" ")
    return f"{_SQLITE_TYPES[column_type]} {constraints}".rstrip()


TRACKING = Table(
    TRACKING_TABLE,
    {
        "projection": "text PRIMARY KEY",
        "application_name": "text NOT NULL",
        "notification_id": "bigint NOT NULL",
        "schema_version": "integer NOT NULL",
        "updated_at": "timestamptz NOT NULL",
    },
)
"""Each projection's position in the log and the schema version of its tables."""


class PositionMovedError(Exception):
    """The projection's position is not the one the batch was read from: another runner
    applied these events first, or a rebuild reset it. Re-read the position and go on."""

    def __init__(self, projection: str, expected: int, found: int) -> None:
        super().__init__(f"{projection}: position is {found}, expected {expected}")
        self.projection = projection
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class Json:
    """A parameter stored as JSON (jsonb on PostgreSQL, text on SQLite)."""

    value: Any


@dataclass(frozen=True)
class ViewSpec:
    """What a view needs to know about its projection's tables."""

    name: str
    version: int
    derived: tuple[Table, ...]
    """Tables derived from events: emptied by a rebuild."""
    reference: tuple[Table, ...] = ()
    """Tables derived from configuration: refreshed by `seed`, kept by a rebuild."""
    seed: Callable[[Session], None] | None = None

    @property
    def tables(self) -> tuple[str, ...]:
        """The names of the tables derived from events."""
        return tuple(table.name for table in self.derived)

    @property
    def reference_tables(self) -> tuple[str, ...]:
        """The names of the tables derived from configuration."""
        return tuple(table.name for table in self.reference)

    @property
    def every_table(self) -> tuple[Table, ...]:
        """The tables of both kinds."""
        return (*self.derived, *self.reference)

    def ddl(self, backend: Backend) -> tuple[str, ...]:
        """The statements creating every table and index on `backend` (idempotent)."""
        return tuple(statement for table in self.every_table for statement in table.ddl(backend))

    @cached_property
    def json_columns(self) -> frozenset[str]:
        """The columns read back as decoded JSON."""
        return frozenset(c for table in self.every_table for c in table.columns_of_type("jsonb"))

    @cached_property
    def bool_columns(self) -> frozenset[str]:
        """The columns read back as booleans (SQLite stores 0 or 1)."""
        return frozenset(c for table in self.every_table for c in table.columns_of_type("boolean"))


Row = dict[str, Any]


class _Cursor(Protocol):
    """What a session needs of either store's cursor."""

    def execute(self, statement: str, params: dict[str, Any], /) -> object: ...

    def executemany(self, statement: str, params: list[dict[str, Any]], /) -> object: ...


class Session(ABC):
    """Statements within one transaction of a view."""

    def __init__(self, view: View, cursor: _Cursor) -> None:
        self._view = view
        self._cursor = cursor

    def execute(self, template: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement."""
        self._cursor.execute(self._view.render(template), self._view.bind(params))

    def executemany(self, template: str, params: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement once per set of parameters."""
        self._cursor.executemany(self._view.render(template), [self._view.bind(p) for p in params])

    @abstractmethod
    def fetchall(self, template: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Rows of a query, with dates and times as ISO strings and JSON decoded."""

    def fetchone(self, template: str, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = self.fetchall(template, params)
        return rows[0] if rows else None

    def scalar(self, template: str, params: Mapping[str, Any] | None = None) -> Any:
        row = self.fetchone(template, params)
        return None if row is None else next(iter(row.values()))


class View(TrackingRecorder, ABC):
    """The tables of one projection and its tracked position, on one store."""

    backend: ClassVar[Backend]
    spec: ViewSpec
    application_name: str

    def _setup(self, spec: ViewSpec, application_name: str, schema: str = "") -> None:
        self.spec = spec
        self.application_name = application_name
        known_tables = frozenset((*spec.tables, *spec.reference_tables, TRACKING_TABLE))
        self._renderer = Renderer(self.backend, schema, known_tables=known_tables)

    def render(self, template: str) -> str:
        """A statement template as this store runs it (`ruswf.app.store.sql.Renderer`)."""
        return self._renderer(template)

    def bind(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """A statement's parameters as this store's driver takes them: each value whose
        type this store's `converters` name, converted (the others as they are)."""
        converters = self.converters
        bound = {}
        for key, value in (params or {}).items():
            convert = converters.get(type(value))
            bound[key] = value if convert is None else convert(value)
        return bound

    # -- per store ---------------------------------------------------------------

    converters: ClassVar[Mapping[type, Callable[[Any], Any]]]
    """How this store's driver takes a parameter of each type it does not take as it is
    (`Json`, times, UUIDs), by exact type."""

    @abstractmethod
    def write(self) -> AbstractContextManager[Session]:
        """A write transaction (serialised with every other writer of this view)."""

    def batch_write(self) -> AbstractContextManager[Session]:
        """The write transaction of a batch of events (the same as `write` unless the store
        can do better)."""
        return self.write()

    @abstractmethod
    def read(self) -> AbstractContextManager[Session]:
        """A read-only transaction."""

    @abstractmethod
    def _lock_position(self) -> str:
        """The query that reads (and locks, where the store needs it) the position."""

    @abstractmethod
    def _lock_schema(self, session: Session) -> None:
        """Serialise creating and dropping tables with other processes."""

    # -- tables and position -------------------------------------------------------

    def create_table(self) -> None:
        """Create the tables (and the tracking row) if missing. Without a tracking row at
        this schema version, (re)create them empty at position 0, so that the next
        catch-up builds them from the whole log."""
        with self.write() as session:
            self._lock_schema(session)
            for statement in TRACKING.ddl(self.backend):
                session.execute(statement)
            stored = session.scalar(
                "SELECT schema_version FROM {proj_tracking} WHERE projection = :projection",
                {"projection": self.spec.name},
            )
            fresh = stored != self.spec.version
            if fresh:
                for table in (*self.spec.tables, *self.spec.reference_tables):
                    session.execute(f"DROP TABLE IF EXISTS {{{table}}}")
            for statement in self.spec.ddl(self.backend):
                session.execute(statement)
            if fresh:
                session.execute(
                    "DELETE FROM {proj_tracking} WHERE projection = :projection",
                    {"projection": self.spec.name},
                )
                session.execute(
                    "INSERT INTO {proj_tracking} (projection, application_name,"
                    " notification_id, schema_version, updated_at)"
                    " VALUES (:projection, :application_name, 0, :version, :now)",
                    {
                        "projection": self.spec.name,
                        "application_name": self.application_name,
                        "version": self.spec.version,
                        "now": datetime.now(UTC),
                    },
                )
            if self.spec.seed is not None:
                self.spec.seed(session)

    def reset(self) -> None:
        """Empty the event-derived tables and move the position to 0, atomically."""
        with self.write() as session:
            for table in self.spec.tables:
                session.execute(f"DELETE FROM {{{table}}}")
            self._move(session, 0)

    def position(self) -> int:
        """The notification id of the last event applied (0: none)."""
        with self.read() as session:
            found = session.scalar(
                "SELECT notification_id FROM {proj_tracking} WHERE projection = :projection",
                {"projection": self.spec.name},
            )
        return int(found or 0)

    def positions(self) -> dict[str, int]:
        """Every projection's position in this store (one query)."""
        with self.read() as session:
            rows = session.fetchall("SELECT projection, notification_id FROM {proj_tracking}")
        return {row["projection"]: int(row["notification_id"]) for row in rows}

    def apply_batch(
        self,
        batch: Sequence[tuple[Any, Tracking]],
        apply: Callable[[Session, Any, Tracking], None],
        expected: int | None = None,
    ) -> int:
        """Apply `batch` and record the position in one transaction; returns the position.

        With `expected`, the stored position must be exactly that (else
        `PositionMovedError`); without it, events at or before the stored position are
        skipped. Either way no event is applied twice."""
        with self.batch_write() as session:
            found = int(session.scalar(self._lock_position(), {"projection": self.spec.name}) or 0)
            if expected is not None and found != expected:
                raise PositionMovedError(self.spec.name, expected, found)
            position = found
            for event, tracking in batch:
                if tracking.notification_id <= position:
                    continue
                apply(session, event, tracking)
                position = tracking.notification_id
            if position != found:
                self._move(session, position)
        return position

    def _move(self, session: Session, position: int) -> None:
        session.execute(
            "UPDATE {proj_tracking} SET notification_id = :position, updated_at = :now"
            " WHERE projection = :projection",
            {"position": position, "now": datetime.now(UTC), "projection": self.spec.name},
        )

    # -- the TrackingRecorder interface ----------------------------------------------

    def insert_tracking(self, tracking: Tracking) -> None:
        """Record a position on its own (the library's interface; `apply_batch` is the
        way ruswf records positions, together with the view's changes)."""
        with self.batch_write() as session:
            found = int(session.scalar(self._lock_position(), {"projection": self.spec.name}) or 0)
            if tracking.notification_id > found:
                self._move(session, tracking.notification_id)

    def max_tracking_id(self, application_name: str) -> int | None:
        if application_name != self.application_name:
            return None
        return self.position() or None

    # -- values ------------------------------------------------------------------------

    def normalise(self, row: Mapping[str, Any]) -> Row:
        """A row as plain data: ISO dates and times, decoded JSON, booleans."""
        result: Row = {}
        for key, value in row.items():
            if isinstance(value, datetime):
                value = iso_time(value)
            elif isinstance(value, date):
                value = value.isoformat()
            elif key in self.spec.json_columns and isinstance(value, str):
                value = json.loads(value)
            elif key in self.spec.bool_columns and value is not None:
                value = bool(value)
            result[key] = value
        return result


def iso_time(moment: datetime) -> str:
    """A moment as ISO 8601 in UTC with microseconds (sorts as text)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


# -- SQLite --------------------------------------------------------------------------


class SQLiteSession(Session):
    _cursor: SQLiteCursor

    def fetchall(self, template: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        self.execute(template, params)
        return [self._view.normalise(dict(row)) for row in self._cursor.fetchall()]


class SQLiteView(View, SQLiteTrackingRecorder):
    """A projection's tables in the application's SQLite database."""

    backend = "sqlite"
    converters: ClassVar[Mapping[type, Callable[[Any], Any]]] = {
        Json: lambda value: json.dumps(value.value, ensure_ascii=False, sort_keys=True),
        datetime: iso_time,
        date: date.isoformat,
        bool: int,
        UUID: str,
    }

    def __init__(self, datastore: SQLiteDatastore, spec: ViewSpec, application_name: str) -> None:
        super().__init__(datastore)
        self._setup(spec, application_name)

    @contextmanager
    def write(self) -> Iterator[Session]:
        # Reading the position and writing it cannot be interleaved with another process.
        with sqlite_write(self.datastore) as cursor:
            yield SQLiteSession(self, cursor)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.datastore.transaction(commit=False) as cursor:
            yield SQLiteSession(self, cursor)

    def _lock_position(self) -> str:
        return "SELECT notification_id FROM {proj_tracking} WHERE projection = :projection"

    @contextmanager
    def dump(self, table: str) -> Iterator[tuple[list[str], Iterator[tuple[Any, ...]]]]:
        """`table`'s column names and its rows as stored, streamed (for copying a rebuild
        made in a scratch database; see `PostgresView.replace_from`)."""
        with self.datastore.transaction(commit=False) as cursor:
            raw = cursor.sqlite_cursor
            raw.execute(self.render(f"SELECT * FROM {{{table}}}"))
            columns = [column[0] for column in raw.description]

            def rows() -> Iterator[tuple[Any, ...]]:
                while chunk := raw.fetchmany(5000):
                    yield from (tuple(row) for row in chunk)

            yield columns, rows()

    def _lock_schema(self, session: Session) -> None:
        """BEGIN IMMEDIATE already holds the database's write lock."""


# -- PostgreSQL ----------------------------------------------------------------------


class PostgresSession(Session):
    _view: PostgresView
    _cursor: Cursor[DictRow]

    def fetchall(self, template: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        # A cursor of its own: in pipeline mode (`batch_write`) results go to the cursor
        # that sent the statement, so a shared one could hand back an earlier result.
        with self._cursor.connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(self._view.render(template), self._view.bind(params))
            return [self._view.normalise(row) for row in cursor.fetchall()]

    def copy_in(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Append `rows` to `table` with COPY (text values are parsed by the column types,
        so SQLite's ISO dates, JSON text and 0/1 booleans load as they are)."""
        self._view.render(f"SELECT 1 FROM {{{table}}}")  # a table of this view
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self._view.datastore.schema, table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
        )
        with self._cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


class PostgresView(View, PostgresTrackingRecorder):
    """A projection's tables in the application's PostgreSQL schema."""

    backend = "postgres"
    converters: ClassVar[Mapping[type, Callable[[Any], Any]]] = {
        Json: lambda value: Jsonb(value.value),
        datetime: lambda value: value if value.tzinfo else value.replace(tzinfo=UTC),
        UUID: str,
    }

    def __init__(self, datastore: PostgresDatastore, spec: ViewSpec, application_name: str) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        self._setup(spec, application_name, datastore.schema)
        # One advisory lock per schema serialises creating tables across processes
        # (concurrent CREATE TABLE IF NOT EXISTS can otherwise fail).
        self._schema_lock_key = lock_key("projections-ddl", datastore.schema)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.datastore.transaction(commit=True) as cursor:
            yield PostgresSession(self, cursor)

    @contextmanager
    def batch_write(self) -> Iterator[Session]:
        # Pipeline mode: the statements whose results are not read (a batch's inserts and
        # updates) go out without waiting for each answer; a read waits only for what was
        # sent before it. Far fewer round trips per event (bench/README.md, http_shape).
        with (
            self.datastore.transaction(commit=True) as cursor,
            cursor.connection.pipeline(),
        ):
            yield PostgresSession(self, cursor)

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Autocommit, as `SqlStore.read`: no BEGIN and ROLLBACK round trips around reads.
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            yield PostgresSession(self, cursor)

    def _lock_position(self) -> str:
        # The row lock queues concurrent runners of this projection behind each other.
        return (
            "SELECT notification_id FROM {proj_tracking} WHERE projection = :projection FOR UPDATE"
        )

    def _lock_schema(self, session: Session) -> None:
        assert isinstance(session, PostgresSession)
        xact_lock(session._cursor, self._schema_lock_key)

    def replace_from(self, source: SQLiteView, position: int) -> None:
        """Replace the event-derived tables with `source`'s (the same projection built in
        a scratch database) and move the position to `position`, in one transaction:
        readers see the old rows until it commits, and a runner that applied events
        meanwhile finds its position moved and re-reads it."""
        with self.write() as session:
            assert isinstance(session, PostgresSession)
            session.scalar(self._lock_position(), {"projection": self.spec.name})
            for table in self.spec.tables:
                session.execute(f"DELETE FROM {{{table}}}")
                with source.dump(table) as (columns, rows):
                    session.copy_in(table, columns, rows)
            self._move(session, position)
        self.vacuum_analyze()

    def vacuum_analyze(self) -> None:
        """VACUUM (ANALYZE) the event-derived tables: after a bulk replace the planner's
        statistics describe the old rows, and index-only scans need the visibility map
        that VACUUM sets; without it the report runs at about half speed until
        autovacuum gets there (bench/README.md)."""
        schema = self.datastore.schema
        with self.datastore.cursor() as cursor:
            for table in self.spec.tables:
                cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(schema, table)))
