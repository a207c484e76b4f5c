"""Locks across the processes and machines that share one store.

Every lock ruswf takes between processes goes through this module:

- **Keys** are derived from a name and a namespace (the PostgreSQL schema, so two stores
  in two schemas of one database never contend): `lock_key` hashes them to a stable
  signed 64-bit integer, PostgreSQL's advisory-lock key space.
- **DDL** (`CREATE ... IF NOT EXISTS` from several processes starting at once can fail
  with "tuple concurrently updated"): `xact_lock` takes a transaction-level advisory lock
  inside the creating transaction; `schema_creation_lock` holds a session-level one around
  the event store's own table creation.
- **Leadership** of a follower job (see `ruswf.app.store.leadership`): `leader_lock`
  gives a `LeaderLock` for one job. On PostgreSQL it is a session-level advisory lock on
  a dedicated autocommit connection (never one from a pool, and never through a
  transaction-pooling proxy such as PgBouncer in transaction mode, where a session lock
  would outlive its holder or land on another client): the lock lives exactly as long as
  that connection, so a leader that is killed, or whose connection dies, loses it at
  once. On SQLite it is `fcntl.flock` on a file beside the database
  (`<db>.<job>.lock`), released by the kernel when the holding process dies. The
  holder's host, pid and start are kept where `current_leaders` finds them: a
  `ruswf_leaders` row (PostgreSQL; believed only while the advisory lock is held by that
  row's backend) or the lock file's content (SQLite; believed only while the file is
  locked).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg
import structlog
from psycopg import sql

from ruswf.app.settings import Settings

log = structlog.get_logger("ruswf.locks")

LEADERS_TABLE = "ruswf_leaders"
KEEPALIVE_SECONDS = 5
"""How soon a silent peer is noticed on the lock connection: TCP keepalives start after
this idle time, on both ends (the server's `tcp_keepalives_*`), and libpq gives up on
unacknowledged data after it (`tcp_user_timeout`)."""


def lock_key(name: str, namespace: str = "") -> int:
    """A stable signed 64-bit advisory-lock key for `name` in `namespace` (a schema)."""
    digest = hashlib.blake2b(f"ruswf\n{namespace}\n{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def postgres_schema(settings: Settings) -> str:
    """The store's PostgreSQL schema (as eventsourcing resolves it: `public` by default)."""
    return settings.postgres_params()["schema"].strip() or "public"


def xact_lock(cursor: psycopg.Cursor[Any], key: int) -> None:
    """Take the transaction-level advisory lock `key` in `cursor`'s transaction (released
    at its commit or rollback)."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


@contextmanager
def schema_creation_lock(settings: Settings) -> Iterator[None]:
    """Serialise table creation across processes starting at once on PostgreSQL.

    Creating tables, types and functions "if not exists" from several processes at the
    same moment fails with "tuple concurrently updated"; an advisory lock lets one
    process create them and the others find them.
    """
    if settings.backend != "postgres":
        yield
        return
    key = lock_key("schema-creation", postgres_schema(settings))
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


# -- leadership locks --------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Who holds a job's leadership: host name, process id, and since when (UTC)."""

    job: str
    host: str
    pid: int
    since: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "host": self.host, "pid": self.pid, "since": self.since}


def this_process(job: str) -> Holder:
    return Holder(job, socket.gethostname(), os.getpid(), datetime.now(UTC))


class LeaderLock(Protocol):
    """One process's handle on one job's leadership lock."""

    job: str

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (never waits); True when this handle holds it."""
        ...

    def held(self) -> bool:
        """Whether this handle still holds the lock (on PostgreSQL a round trip on the
        lock's connection: False once that connection is gone)."""
        ...

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        ...


class PostgresLeaderLock:
    """A session-level advisory lock on a dedicated autocommit connection."""

    def __init__(self, settings: Settings, job: str) -> None:
        self.job = job
        self.schema = postgres_schema(settings)
        self.key = lock_key(f"leader:{job}", self.schema)
        self._conninfo = settings.postgres_conninfo()
        self._conn: psycopg.Connection[Any] | None = None
        self._holding = False

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            self._conninfo,
            autocommit=True,
            fallback_application_name=f"ruswf leader {self.job}",
            keepalives=1,
            keepalives_idle=KEEPALIVE_SECONDS,
            keepalives_interval=1,
            keepalives_count=3,
            tcp_user_timeout=KEEPALIVE_SECONDS * 1000,
        )
        # The server too should notice a holder whose machine vanished, and free the lock.
        conn.execute(
            f"SET tcp_keepalives_idle = {KEEPALIVE_SECONDS};"
            " SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3"
        )
        return conn

    def try_acquire(self) -> bool:
        if self._holding and self.held():
            return True
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            if not (row and row[0]):
                return False
            self._holding = True
            self._record_or_warn(self._conn)
        except psycopg.Error:
            self._drop()  # a fresh connection next time (closing it frees a lock it took)
            raise
        return True

    def _record_or_warn(self, conn: psycopg.Connection[Any]) -> None:
        """Leading does not depend on the status row: a row that cannot be written (no
        CREATE right on the schema, say) is logged, and `ruswf projections status` then
        shows no leader for the job."""
        try:
            self._record(conn)
        except psycopg.Error as error:
            if conn.closed or conn.broken:
                raise
            log.warning(
                "leader_record_failed",
                job=self.job,
                error=f"{type(error).__name__}: {error}".splitlines()[0],
            )

    def _record(self, conn: psycopg.Connection[Any]) -> None:
        """Write this process into `ruswf_leaders` (for `ruswf projections status`)."""
        me = this_process(self.job)
        table = sql.Identifier(self.schema, LEADERS_TABLE)
        with conn.transaction(), conn.cursor() as cursor:
            xact_lock(cursor, lock_key("leaders-ddl", self.schema))
            cursor.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (job TEXT PRIMARY KEY, host TEXT NOT NULL,"
                    " pid INTEGER NOT NULL, backend_pid INTEGER NOT NULL,"
                    " since TIMESTAMPTZ NOT NULL)"
                ).format(table)
            )
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (job, host, pid, backend_pid, since)"
                    " VALUES (%s, %s, %s, pg_backend_pid(), %s)"
                    " ON CONFLICT (job) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,"
                    " backend_pid = EXCLUDED.backend_pid, since = EXCLUDED.since"
                ).format(table),
                (me.job, me.host, me.pid, me.since),
            )

    def held(self) -> bool:
        if not self._holding or self._conn is None or self._conn.closed:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed and self._holding:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self._drop()

    def _drop(self) -> None:
        self._holding = False
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


def lock_file(database: Path, job: str) -> Path:
    """The lock file of `job` beside the SQLite database `database`."""
    return database.with_name(f"{database.name}.{job}.lock")


class FileLeaderLock:
    """`fcntl.flock` on `<db>.<job>.lock` beside the SQLite database (one machine: SQLite
    cannot be shared between machines anyway)."""

    def __init__(self, database: Path, job: str) -> None:
        self.job = job
        self.path = lock_file(database, job)
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return self.held()
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        except BaseException:
            handle.close()
            raise
        me = this_process(self.job)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"host": me.host, "pid": me.pid, "since": me.since.isoformat()}))
        handle.flush()
        self._file = handle
        return True

    def held(self) -> bool:
        if self._file is None:
            return False
        try:
            # A lock file removed (or replaced) behind our back is a lock nobody else sees.
            same = os.stat(self.path).st_ino == os.fstat(self._file.fileno()).st_ino
        except OSError:
            same = False
        if not same:
            self.release()
        return same

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class ProcessLocalLock:
    """For a store that is not shared between processes (an in-memory database): this
    process always leads."""

    def __init__(self, job: str) -> None:
        self.job = job
        self._holding = False

    def try_acquire(self) -> bool:
        self._holding = True
        return True

    def held(self) -> bool:
        return self._holding

    def release(self) -> None:
        self._holding = False


def _sqlite_file(settings: Settings) -> Path | None:
    path = settings.sqlite_path()
    if path.name == ":memory:" or str(path).startswith("file:"):
        return None
    return path


def leader_lock(settings: Settings, job: str) -> LeaderLock:
    """The leadership lock of `job` on the store `settings` configure."""
    if settings.backend == "postgres":
        return PostgresLeaderLock(settings, job)
    path = _sqlite_file(settings)
    return ProcessLocalLock(job) if path is None else FileLeaderLock(path, job)


def current_leaders(settings: Settings, jobs: Sequence[str]) -> dict[str, Holder | None]:
    """Who leads each of `jobs` now (None: nobody holds its lock)."""
    if settings.backend == "postgres":
        return _postgres_leaders(settings, jobs)
    path = _sqlite_file(settings)
    return {job: None if path is None else _file_leader(path, job) for job in jobs}


def _postgres_leaders(settings: Settings, jobs: Sequence[str]) -> dict[str, Holder | None]:
    schema = postgres_schema(settings)
    found: dict[str, Holder | None] = dict.fromkeys(jobs)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT to_regclass(%s)", (sql.Identifier(schema, LEADERS_TABLE).as_string(conn),)
        ).fetchone()
        if not exists or exists[0] is None:
            return found
        for job in jobs:
            # pg_locks shows a bigint advisory key as its high and low 32 bits.
            unsigned = lock_key(f"leader:{job}", schema) & 0xFFFF_FFFF_FFFF_FFFF
            row = conn.execute(
                sql.SQL(
                    "SELECT l.host, l.pid, l.since FROM {} l WHERE l.job = %s AND EXISTS ("
                    " SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted"
                    " AND k.pid = l.backend_pid AND k.classid = %s::bigint::oid"
                    " AND k.objid = %s::bigint::oid AND k.objsubid = 1"
                    " AND k.database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database()))"
                ).format(sql.Identifier(schema, LEADERS_TABLE)),
                (job, unsigned >> 32, unsigned & 0xFFFF_FFFF),
            ).fetchone()
            if row is not None:
                found[job] = Holder(job, row[0], int(row[1]), row[2])
    return found


def _file_leader(database: Path, job: str) -> Holder | None:
    path = lock_file(database, job)
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return None
    with handle:
        try:
            # A shared lock is refused while the leader holds its exclusive one.
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None
        # A new leader writes its facts just after it locks the file: read again briefly.
        for _ in range(50):
            handle.seek(0)
            try:
                data = json.loads(handle.read() or "{}")
                return Holder(
                    job, str(data["host"]), int(data["pid"]), datetime.fromisoformat(data["since"])
                )
            except (ValueError, KeyError, TypeError):
                time.sleep(0.01)
        return Holder(job, "?", 0, datetime.fromtimestamp(0, UTC))


__all__: Sequence[str] = (
    "FileLeaderLock",
    "Holder",
    "LeaderLock",
    "PostgresLeaderLock",
    "current_leaders",
    "leader_lock",
    "lock_file",
    "lock_key",
    "postgres_schema",
    "schema_creation_lock",
    "xact_lock",
)
