"""SQLite store faults: another writer's lock, a read-only store, a full disk. Each
answers a clear error (503/507 problem+json with a `reason`; the CLI in one line), stores
nothing, and leaves the database file intact. And the mapping of every driver's fault."""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import psycopg
import psycopg_pool
import pytest
from eventsourcing.persistence import OperationalError
from psycopg import errors as pg_errors

from ruswf.app.audit.ledger import Ledger
from ruswf.app.store.faults import store_fault
from ruswf.domain.strategy import Strategy
from tests.servers import RUSWF, Server

from .conftest import CONTENT, make_app, make_tokens

LOCK_TIMEOUT = 1


def integrity(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]


def events_in(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RUSWF_DATABASE_URL": database_url,
        "RUSWF_LOG_FORMAT": "json",
        "RUSWF_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
    }
    return subprocess.run(
        [RUSWF, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ruswf: error: ")
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def assert_problem(response: httpx.Response, status: int, reasons: set[str]) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["reason"] in reasons


@pytest.fixture
def sqlite_store(tmp_path: Path, strategy: Strategy) -> tuple[str, Path]:
    path = tmp_path / "store" / "ruswf.db"
    url = f"sqlite:///{path}"
    make_app(url, strategy).close()
    return url, path


def fill(filler: Path) -> None:
    """Write to `filler` until the filesystem is full."""
    with filler.open("wb") as file:
        while True:
            file.write(b"\0" * 65536)
            file.flush()


def test_a_locked_store_waits_then_answers_503_and_the_cli_one_line(
    sqlite_store: tuple[str, Path], start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """Another process holds the write lock: a command waits `RUSWF_LOCK_TIMEOUT` and
    answers 503 (reason `locked`, Retry-After); reads still answer; the CLI fails in one
    line; once the lock is gone, commands succeed again."""
    url, path = sqlite_store
    tokens = make_tokens(url, strategy)
    server = start_server(url, RUSWF_LOCK_TIMEOUT=str(LOCK_TIMEOUT))
    headers = {"Authorization": f"Bearer {tokens['coordinator']}"}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        first = http.post("/api/v1/initiatives", json=CONTENT, headers=headers)
        assert first.status_code == 201
        before = events_in(path)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer's lock
        try:
            started = time.monotonic()
            locked = http.post("/api/v1/initiatives", json=CONTENT, headers=headers)
            waited = time.monotonic() - started
            assert_problem(locked, 503, {"locked"})
            assert locked.headers["retry-after"].isdigit()
            assert LOCK_TIMEOUT * 0.8 <= waited < LOCK_TIMEOUT + 10
            read = http.get(f"/api/v1/initiatives/{first.json()['id']}", headers=headers)
            assert read.status_code == 200
            assert_one_line_error(
                cli(url, "token", "create", "--user", "u", "--role", "admin", "--org", "kramfors"),
                "locked",
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert events_in(path) == before
        assert http.post("/api/v1/initiatives", json=CONTENT, headers=headers).status_code == 201
    server.stop()
    assert integrity(path) == ["ok"]


@contextmanager
def small_filesystem(directory: Path) -> Iterator[bool]:
    """`directory` on a 4 MiB tmpfs when this test may mount one (root); yields whether."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        yield False
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0777", "tmpfs", str(directory)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)


def test_a_full_disk_answers_507_stores_nothing_and_leaves_the_file_intact(
    tmp_path: Path, start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """The disk fills up while ruswf serves: a command answers 507 (reason `disk_full`)
    — or, where no small filesystem can be mounted, the process's file-size limit stands
    in and the answer is 503 `io_error` — nothing of it is stored, reads go on, the file
    passes SQLite's integrity check, and commands succeed again once there is room."""
    directory = tmp_path / "small"
    with small_filesystem(directory) as real_disk:
        path = directory / "ruswf.db"
        url = f"sqlite:///{path}"
        make_app(url, strategy).close()
        tokens = make_tokens(url, strategy)
        server = start_server(url)
        assert server.process is not None
        headers = {"Authorization": f"Bearer {tokens['coordinator']}"}
        filler = directory / "filler"
        with httpx.Client(base_url=server.url, timeout=30) as http:
            first = http.post("/api/v1/initiatives", json=CONTENT, headers=headers)
            assert first.status_code == 201
            if real_disk:
                with pytest.raises(OSError, match="No space"):
                    fill(filler)
            else:
                size = max(p.stat().st_size for p in directory.iterdir())
                limit = (size, resource.RLIM_INFINITY)
                resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, limit)
            before = events_in(path)
            for _ in range(50):  # until the store has to grow
                body = {**CONTENT, "summary": "x" * 10_000}
                full = http.post("/api/v1/initiatives", json=body, headers=headers)
                if full.status_code != 201:
                    break
                before += 1
            if real_disk:
                assert_problem(full, 507, {"disk_full"})
            else:
                assert_problem(full, 503, {"io_error", "disk_full"})
            read = http.get(f"/api/v1/initiatives/{first.json()['id']}", headers=headers)
            assert read.status_code == 200
            if real_disk:
                filler.unlink()
            else:
                unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
                resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, unlimited)
            assert events_in(path) == before
            again = http.post("/api/v1/initiatives", json=CONTENT, headers=headers)
            assert again.status_code == 201
        server.stop()
        assert integrity(path) == ["ok"]
        assert events_in(path) == before + 1


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """`directory` read-only: a read-only remount of its tmpfs as root, else permissions."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True)
        try:
            yield
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(directory)], check=True)
        return
    modes = {p: p.stat().st_mode for p in [directory, *directory.iterdir()]}
    for p in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def test_a_read_only_store_is_refused_in_one_line_and_left_intact(
    tmp_path: Path, strategy: Strategy
) -> None:
    """A store that cannot be written: `ruswf serve` and a command refuse to start with
    one line, and the file is untouched."""
    directory = tmp_path / "ro"
    with small_filesystem(directory) as mounted:
        if os.geteuid() == 0 and not mounted:
            pytest.fail("as root, a read-only store needs a mountable tmpfs")
        path = directory / "ruswf.db"
        url = f"sqlite:///{path}"
        app = make_app(url, strategy)
        app.close()
        make_tokens(url, strategy)
        before = path.read_bytes()
        with read_only(directory):
            assert_one_line_error(cli(url, "serve", "--port", "1"), "cannot open the store")
            assert_one_line_error(
                cli(url, "token", "create", "--user", "u", "--role", "admin", "--org", "kramfors")
            )
        assert path.read_bytes() == before
        assert integrity(path) == ["ok"]


@pytest.mark.parametrize(
    ("error", "status", "reason"),
    [
        (sqlite3.OperationalError("database is locked"), 503, "locked"),
        (sqlite3.OperationalError("attempt to write a readonly database"), 503, "read_only"),
        (sqlite3.OperationalError("database or disk is full"), 507, "disk_full"),
        (sqlite3.OperationalError("disk I/O error"), 503, "io_error"),
        (sqlite3.DatabaseError("database disk image is malformed"), 503, "corrupt"),
        (sqlite3.OperationalError("unable to open database file"), 503, "unavailable"),
        (psycopg.OperationalError("connection refused"), 503, "unavailable"),
        (pg_errors.AdminShutdown("terminating connection"), 503, "unavailable"),
        (psycopg.InterfaceError("the connection is closed"), 503, "unavailable"),
        (psycopg_pool.PoolTimeout("couldn't get a connection"), 503, "unavailable"),
        (psycopg_pool.TooManyRequests("too many requests waiting"), 503, "busy"),
        (pg_errors.LockNotAvailable("lock timeout"), 503, "locked"),
        (pg_errors.QueryCanceled("statement timeout"), 503, "busy"),
        (pg_errors.DiskFull("could not extend file"), 507, "disk_full"),
        (pg_errors.ReadOnlySqlTransaction("read-only transaction"), 503, "read_only"),
        (OperationalError("no driver error behind it"), 503, "unavailable"),
    ],
)
def test_each_driver_fault_maps_to_a_status_and_reason(
    error: Exception, status: int, reason: str
) -> None:
    # As eventsourcing raises them: its own error, the driver's as the cause.
    wrapped = OperationalError(str(error))
    wrapped.__cause__ = error
    for raised in (error, wrapped):
        fault = store_fault(raised)
        assert fault is not None
        assert (fault.status, fault.reason) == (status, reason)
        assert (fault.retry_after is not None) == (reason in {"unavailable", "busy", "locked"})


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        pg_errors.UniqueViolation("duplicate key"),
        pg_errors.SyntaxError("syntax error"),
        ValueError("not a store error"),
    ],
)
def test_bugs_are_not_store_faults(error: Exception) -> None:
    """A constraint violation or bad SQL is a bug (500), not a reason to retry."""
    assert store_fault(error) is None


@pytest.mark.postgres
def test_a_rebuild_without_room_for_its_scratch_database_fails_in_one_line_and_keeps_the_views(
    tmp_path: Path, strategy: Strategy
) -> None:
    """On PostgreSQL `ruswf projections rebuild` builds in a scratch file under TMPDIR.
    With no room left there it fails with one line that says where and what it needs, and
    the projections keep their tables and positions (the swap never happened)."""
    from projections import Projections
    from ruswf.app.demo.walk import run_demo
    from tests.conftest import postgres_schema_url
    from tests.projections.conftest import dump

    directory = tmp_path / "small"
    with small_filesystem(directory) as mounted, postgres_schema_url() as url:
        if not mounted:
            pytest.skip("needs root to mount a small tmpfs for TMPDIR")
        app = make_app(url, strategy)
        run_demo(app, Ledger(app), year=2025)
        views = Projections(app)
        views.catch_up()
        before, positions = dump(views), views.status()
        free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
        (directory / "filler").write_bytes(b"\0" * (free - 32 * 1024))
        env = {
            **os.environ,
            "RUSWF_DATABASE_URL": url,
            "RUSWF_LOG_FORMAT": "json",
            "TMPDIR": str(directory),
        }
        done = subprocess.run(
            [RUSWF, "projections", "rebuild"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 1
        lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("ruswf: error: the rebuild's scratch database in ")
        assert str(directory) in lines[0]
        assert "TMPDIR" in lines[0]
        assert dump(views) == before
        assert views.status() == positions
        assert [p.name for p in directory.iterdir()] == ["filler"]  # the scratch is gone
        views.close()
        app.close()
