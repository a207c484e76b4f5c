"""`ruswf backup` / `ruswf restore` round-trip a store: after losing it and restoring
the backup, `ruswf audit verify` passes and the projections rebuild to the same reports."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
from psycopg import sql

from projections import Projections
from ruswf.app.audit.ledger import Ledger
from ruswf.app.demo.walk import run_demo
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.strategy import Strategy
from tests.conftest import PG_URL
from tests.servers import RUSWF

from .conftest import make_app

TODAY = date(2026, 6, 1)


def ruswf(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUSWF_DATABASE_URL": database_url, "RUSWF_LOG_FORMAT": "json"}
    return subprocess.run(
        [RUSWF, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ruswf: error: ")
    return lines[0]


def lose_the_store(database_url: str) -> None:
    """The disaster: the SQLite file is gone, or the PostgreSQL schema is empty."""
    url = urlparse(database_url)
    if url.scheme == "sqlite":
        path = Path(url.path)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return
    schema = parse_qs(url.query)["schema"][0]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def test_backup_and_restore_round_trip_a_store(
    database_url: str, strategy: Strategy, tmp_path: Path
) -> None:
    app = make_app(database_url, strategy)
    run_demo(app, Ledger(app), year=2025)
    views = Projections(app)
    views.catch_up()
    report = views.annual_cycle(2025, today=TODAY)
    board = views.board(limit=1000)
    events = app.recorder.max_notification_id()
    tokens = TokenStore(app.settings, strategy)
    _, token = tokens.create("anna", "coordinator", "sundsvall")
    tokens.close()
    views.close()
    app.close()

    backup = tmp_path / "backups" / "ruswf.backup"
    done = ruswf(database_url, "backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert backup.stat().st_size > 0
    assert "exists" in one_line_error(ruswf(database_url, "backup", str(backup)))
    assert "holds" in one_line_error(ruswf(database_url, "restore", str(backup)))

    lose_the_store(database_url)
    done = ruswf(database_url, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    verified = ruswf(database_url, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    rebuilt = ruswf(database_url, "projections", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr

    restored = make_app(database_url, strategy)
    try:
        assert restored.recorder.max_notification_id() == events
        again = Projections(restored)
        assert all(r["lag"] == 0 for r in again.status())
        assert again.annual_cycle(2025, today=TODAY) == report
        assert again.board(limit=1000) == board
        again.close()
        tokens = TokenStore(Settings(database_url=database_url, log_format="json"), strategy)
        assert tokens.authenticate(token) is not None
        tokens.close()
    finally:
        restored.close()


def test_restore_refuses_what_is_not_a_backup_of_this_kind_of_store(
    database_url: str, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(b"not a backup at all")
    assert "not a ruswf backup" in one_line_error(ruswf(database_url, "restore", str(garbage)))
    other = tmp_path / "other.backup"
    other.write_bytes(b"PGDMP" if database_url.startswith("sqlite") else b"SQLite format 3\x00")
    assert "restores into" in one_line_error(ruswf(database_url, "restore", str(other)))
