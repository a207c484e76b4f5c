"""Backup and restore of the whole store (what `ruswf backup` and `ruswf restore` do).

Everything in the store is copied, not only the events: snapshots, tokens, the
projections and any table beside them (the audit ledger, the people registry), each as
of one consistent moment, so a restored store verifies (`ruswf audit verify`) and its
projections are where the events are.

- SQLite: the sqlite3 online backup API, safe while `ruswf serve` writes. The backup is
  a SQLite database file, itself a ruswf store (`RUSWF_DATABASE_URL=sqlite:///OUT`).
  Restoring copies it into the configured file with the same API, in one transaction.
- PostgreSQL: `pg_dump --format=custom` of the store's schema (from the URL's
  `?schema=`, else `public`), one consistent snapshot, safe while ruswf runs. Restoring
  runs `pg_restore --clean --if-exists --single-transaction --exit-on-error` into the
  same schema name: it replaces the store's objects, or changes nothing. Needs the
  PostgreSQL client tools (`pg_dump`, `pg_restore`) of the server's major version or
  newer on the PATH.

Restoring refuses a store that holds events unless forced. Stop ruswf (server and
projection worker) before a restore: a running process keeps what it has cached of the
old store.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ruswf.app.files import create_private
from ruswf.app.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
EVENTS_TABLE_SQLITE = "stored_events"
EVENTS_TABLE_POSTGRES = "ruswf_events"
PG_TOOL_TIMEOUT = 3600


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one line."""


def backup_store(settings: Settings, out: Path) -> int:
    """Write the whole store to `out` (a new, private file); returns the events in it."""
    if settings.backend == "sqlite":
        return _backup_sqlite(settings, out)
    return _backup_postgres(settings, out)


def backup_kind(source: Path) -> str | None:
    """`sqlite` or `postgres` for a file `ruswf backup` wrote; None for anything else."""
    with source.open("rb") as file:
        magic = file.read(len(SQLITE_MAGIC))
    if magic.startswith(SQLITE_MAGIC):
        return "sqlite"
    if magic.startswith(PG_DUMP_MAGIC):
        return "postgres"
    return None


def restore_store(settings: Settings, source: Path, *, force: bool) -> int:
    """Put the backup `source` into the configured store; returns the events restored."""
    kind = backup_kind(source)
    if kind is None:
        raise BackupError(
            f"{source} is not a ruswf backup (neither a SQLite file nor a pg_dump archive)"
        )
    if kind != settings.backend:
        raise BackupError(
            f"{source} is a {kind} backup; it restores into a {kind} store, "
            f"not the configured {settings.backend} one"
        )
    if kind == "sqlite":
        return _restore_sqlite(settings, source, force)
    return _restore_postgres(settings, source, force)


# -- SQLite ------------------------------------------------------------------------------


def _count_events_sqlite(conn: sqlite3.Connection) -> int | None:
    """Events in a SQLite store, or None if it has no events table."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (EVENTS_TABLE_SQLITE,)
    ).fetchone()
    if found is None:
        return None
    return int(conn.execute(f"SELECT COUNT(*) FROM {EVENTS_TABLE_SQLITE}").fetchone()[0])


def _check_integrity(conn: sqlite3.Connection, what: str) -> None:
    result = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    if result != ["ok"]:
        raise BackupError(f"{what} fails SQLite's integrity check: {'; '.join(result[:3])}")


def _backup_sqlite(settings: Settings, out: Path) -> int:
    path = settings.sqlite_path()
    if not path.exists():
        raise BackupError(f"no store at {path}")
    with (
        closing(settings.sqlite_connect(path)) as source,
        closing(sqlite3.connect(out)) as target,
    ):
        source.backup(target)  # one step: a consistent snapshot, even while ruswf writes
        # A self-contained file: no -wal beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        _check_integrity(target, "the backup")
        events = _count_events_sqlite(target)
    if events is None:
        raise BackupError(f"{path} is not a ruswf store (no {EVENTS_TABLE_SQLITE} table)")
    return events


def _restore_sqlite(settings: Settings, source: Path, force: bool) -> int:
    path = settings.sqlite_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        create_private(path)  # owner-only, as a new store is (app/files.py)
    with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as backup:
        _check_integrity(backup, str(source))
        events = _count_events_sqlite(backup)
        if events is None:
            raise BackupError(f"{source} is not a ruswf backup (no {EVENTS_TABLE_SQLITE} table)")
        with closing(settings.sqlite_connect(path)) as target:
            present = _count_events_sqlite(target)
            if present and not force:
                raise BackupError(
                    f"the store {path} holds {present} events (use --force to replace them)"
                )
            backup.backup(target)  # page by page under the target's write lock, atomic
            _check_integrity(target, f"the restored store {path}")
    return events


# -- PostgreSQL --------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found on the PATH (install the PostgreSQL client tools)")
    return found


def _pg_env(settings: Settings) -> dict[str, str]:
    """The tools' environment: the password travels here, never on the command line."""
    env = dict(os.environ)
    password = settings.postgres_params()["password"]
    if password:
        env["PGPASSWORD"] = password
    return env


def _pg_conninfo(settings: Settings) -> str:
    """The store's connection string without the password (that goes in `_pg_env`)."""
    options = conninfo_to_dict(settings.postgres_conninfo())
    options.pop("password", None)
    return make_conninfo("", **options)


def _schema(settings: Settings) -> str:
    return settings.postgres_schema


def _run_pg_tool(args: list[str], settings: Settings) -> None:
    try:
        done = subprocess.run(
            args,
            env=_pg_env(settings),
            capture_output=True,
            text=True,
            timeout=PG_TOOL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        msg = f"{Path(args[0]).name} did not finish within {PG_TOOL_TIMEOUT} s"
        raise BackupError(msg) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(
            f"{Path(args[0]).name} failed: {lines[0] if lines else f'exit {done.returncode}'}"
        )


def _count_events_postgres(settings: Settings) -> int | None:
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        table = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s",
            (_schema(settings), EVENTS_TABLE_POSTGRES),
        ).fetchone()
        if table is None:
            return None
        row = conn.execute(
            sql.SQL("SELECT COUNT(*) FROM {}").format(
                sql.Identifier(_schema(settings), EVENTS_TABLE_POSTGRES)
            )
        ).fetchone()
        return int(row[0]) if row else 0


def _backup_postgres(settings: Settings, out: Path) -> int:
    schema = _schema(settings)
    events = _count_events_postgres(settings)
    if events is None:
        raise BackupError(
            f"schema {schema!r} holds no ruswf store ({EVENTS_TABLE_POSTGRES} is missing)"
        )
    _run_pg_tool(
        [
            _pg_tool("pg_dump"),
            "--format=custom",
            f"--schema={schema}",
            "--no-owner",
            "--no-privileges",
            f"--file={out}",
            f"--dbname={_pg_conninfo(settings)}",
        ],
        settings,
    )
    return events  # counted just before the dump's snapshot: writes since are in it too


def _archive_schemas(settings: Settings, archive: Path) -> set[str]:
    """The schemas of the tables in a pg_dump archive (from its table of contents)."""
    listing = subprocess.run(
        [_pg_tool("pg_restore"), "--list", str(archive)],
        env=_pg_env(settings),
        capture_output=True,
        text=True,
        timeout=PG_TOOL_TIMEOUT,
        check=False,
    )
    if listing.returncode != 0:
        raise BackupError(f"{archive} is not a readable pg_dump archive")
    schemas = set()
    for line in listing.stdout.splitlines():
        # "239; 1259 340556 TABLE t_abc ruswf_events postgres" (also "TABLE DATA t_abc ...")
        parts = line.split()
        if line.startswith(";") or len(parts) < 6 or parts[3] != "TABLE":
            continue
        schemas.add(parts[5] if parts[4] == "DATA" else parts[4])
    return schemas


def _restore_postgres(settings: Settings, source: Path, force: bool) -> int:
    schema = _schema(settings)
    schemas = _archive_schemas(settings, source)
    if schemas and schemas != {schema}:
        raise BackupError(
            f"{source} holds schema {', '.join(sorted(schemas))}; set RUSWF_DATABASE_URL's "
            f"?schema= to it (pg_restore cannot rename a schema)"
        )
    present = _count_events_postgres(settings)
    if present and not force:
        raise BackupError(f"schema {schema!r} holds {present} events (use --force to replace them)")
    _run_pg_tool(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            f"--dbname={_pg_conninfo(settings)}",
            str(source),
        ],
        settings,
    )
    events = _count_events_postgres(settings)
    if events is None:
        raise BackupError(f"{source} restored no {EVENTS_TABLE_POSTGRES} table")
    return events
