"""One leader per follower job (`ruswf.app.store.leadership`, `ruswf.app.store.locks`):
in one process, two contenders on one store stand for two processes (each holds its own
PostgreSQL connection or its own open lock file, which exclude each other as separate
processes would)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import structlog
import typer
from psycopg import sql
from typer.testing import CliRunner

from ruswf.app.settings import Settings
from ruswf.app.store.leadership import LeaderJob, leader_job
from ruswf.app.store.locks import (
    LEADERS_TABLE,
    current_leaders,
    lock_file,
    lock_key,
    postgres_schema,
)
from ruswf.cli.projections import projections_cli
from tests.conftest import PG_URL
from tests.reliability.conftest import PrivatePostgres

INTERVAL = 0.1


class Recorder:
    """A follower job that notes when it runs and when it is told to stop."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.runs = 0

    def __call__(self, stop: threading.Event) -> None:
        self.runs += 1
        self.stopped.clear()
        self.started.set()
        stop.wait()
        self.started.clear()
        self.stopped.set()


@pytest.fixture
def contenders(settings: Settings) -> Iterator[Callable[[str], tuple[LeaderJob, Recorder]]]:
    made: list[LeaderJob] = []

    def make(name: str = "projections") -> tuple[LeaderJob, Recorder]:
        job = Recorder()
        contender = leader_job(settings, name, job, interval=INTERVAL)
        made.append(contender)
        return contender, job

    yield make
    for contender in made:
        contender.stop()


def wait_until(condition: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.02)
    return time.monotonic() - started


def test_lock_keys_are_stable_signed_64_bit_and_namespaced_by_schema() -> None:
    key = lock_key("leader:projections", "public")
    assert key == lock_key("leader:projections", "public")
    assert key == 1_935_116_399_781_494_198  # a changed derivation would split the locks
    assert -(2**63) <= key < 2**63
    assert key != lock_key("leader:projections", "other_schema")
    assert key != lock_key("leader:ledger", "public")


def test_of_two_contenders_one_leads_and_only_its_job_runs(
    contenders: Callable[[str], tuple[LeaderJob, Recorder]],
) -> None:
    first, first_job = contenders("projections")
    second, second_job = contenders("projections")
    first.start()
    assert first_job.started.wait(5)
    second.start()
    time.sleep(5 * INTERVAL)
    assert first.is_leader
    assert not second.is_leader
    assert (first_job.runs, second_job.runs) == (1, 0)


def test_jobs_of_different_names_lead_independently(
    contenders: Callable[[str], tuple[LeaderJob, Recorder]],
) -> None:
    projections, projections_job = contenders("projections")
    ledger, ledger_job = contenders("ledger")
    projections.start()
    ledger.start()
    assert projections_job.started.wait(5)
    assert ledger_job.started.wait(5)
    assert projections.is_leader
    assert ledger.is_leader


def test_a_standby_takes_over_when_the_leader_stops(
    contenders: Callable[[str], tuple[LeaderJob, Recorder]],
) -> None:
    leader, leader_run = contenders("projections")
    standby, standby_run = contenders("projections")
    leader.start()
    assert leader_run.started.wait(5)
    standby.start()
    leader.stop()
    assert leader_run.stopped.is_set()
    assert not leader.is_leader
    assert wait_until(lambda: standby.is_leader, 5) < 10 * INTERVAL + 1
    assert standby_run.started.wait(5)


def test_current_leaders_names_this_process_while_it_leads(
    settings: Settings, contenders: Callable[[str], tuple[LeaderJob, Recorder]]
) -> None:
    assert current_leaders(settings, ["projections", "ledger"]) == {
        "projections": None,
        "ledger": None,
    }
    leader, run = contenders("projections")
    before = time.time()
    leader.start()
    assert run.started.wait(5)
    wait_until(lambda: current_leaders(settings, ["projections"])["projections"] is not None, 5)
    found = current_leaders(settings, ["projections", "ledger"])
    holder = found["projections"]
    assert holder is not None
    assert (holder.host, holder.pid) == (socket.gethostname(), os.getpid())
    assert before - 1 <= holder.since.timestamp() <= time.time()
    assert found["ledger"] is None
    leader.stop()
    assert current_leaders(settings, ["projections"])["projections"] is None


def test_projections_status_shows_which_process_leads(
    database_url: str,
    settings: Settings,
    contenders: Callable[[str], tuple[LeaderJob, Recorder]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUSWF_DATABASE_URL", database_url)
    monkeypatch.setenv("RUSWF_LOG_FORMAT", "json")
    monkeypatch.setenv("RUSWF_LOG_LEVEL", "warning")
    leader, run = contenders("projections")
    leader.start()
    assert run.started.wait(5)
    saved = structlog.get_config()
    cli = typer.Typer()
    cli.add_typer(projections_cli, name="projections")
    try:
        result = CliRunner().invoke(cli, ["projections", "status"])
    finally:
        structlog.configure(**saved)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    jobs = lines[lines.index(next(line for line in lines if line.startswith("job"))) + 1 :]
    assert jobs[0].split()[:4] == ["projections", socket.gethostname(), "pid", str(os.getpid())]
    assert "since" in jobs[0]
    assert jobs[1].split()[:2] == ["ledger", "none"]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_leader_whose_lock_connection_dies_stops_its_job_and_a_standby_takes_over(
    contenders: Callable[[str], tuple[LeaderJob, Recorder]], settings: Settings
) -> None:
    leader, leader_run = contenders("projections")
    standby, standby_run = contenders("projections")
    leader.start()
    assert leader_run.started.wait(5)
    standby.start()
    schema = postgres_schema(settings)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        row = conn.execute(
            sql.SQL("SELECT backend_pid FROM {} WHERE job = 'projections'").format(
                sql.Identifier(schema, LEADERS_TABLE)
            )
        ).fetchone()
        assert row is not None
        terminated = conn.execute("SELECT pg_terminate_backend(%s)", (row[0],)).fetchone()
        assert terminated == (True,)
    started = time.monotonic()
    assert leader_run.stopped.wait(5)
    assert time.monotonic() - started < 10 * INTERVAL + 1  # within a check or so
    assert standby_run.started.wait(5)
    assert standby.is_leader
    assert not leader.is_leader
    # The old leader stands by now: when the new one stops, it leads again.
    standby.stop()
    assert wait_until(lambda: leader.is_leader, 5) >= 0
    assert leader_run.started.wait(5)
    assert leader_run.runs == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_sqlite_the_lock_is_a_file_beside_the_database(
    settings: Settings, contenders: Callable[[str], tuple[LeaderJob, Recorder]]
) -> None:
    leader, run = contenders("ledger")
    leader.start()
    assert run.started.wait(5)
    database = settings.sqlite_path()
    path = lock_file(database, "ledger")
    assert path == database.parent / f"{database.name}.ledger.lock"
    assert path.exists()
    assert str(os.getpid()) in Path(path).read_text()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_removed_lock_file_ends_the_leadership_it_held(
    settings: Settings, contenders: Callable[[str], tuple[LeaderJob, Recorder]]
) -> None:
    """Someone deleting the lock file would let a second process lock a new file: the
    leader notices at its next check and stops, and one leader (on the new file) remains."""
    leader, run = contenders("ledger")
    leader.start()
    assert run.started.wait(5)
    lock_file(settings.sqlite_path(), "ledger").unlink()
    assert run.stopped.wait(5)
    assert wait_until(lambda: leader.is_leader, 5) >= 0  # it re-contends, on the new file
    assert run.started.wait(5)
    assert run.runs == 2


@pytest.mark.postgres
def test_after_a_postgresql_restart_the_leader_stops_and_one_process_leads_again(
    private_postgres: PrivatePostgres,
) -> None:
    """The database restarts: the lock is gone with its connection, so the leader stops
    its job; once the database is back, exactly one contender leads again."""
    settings = Settings(
        database_url=private_postgres.url, log_format="json", postgres_connect_timeout=1
    )
    runs = [Recorder(), Recorder()]
    jobs = [leader_job(settings, "projections", run, interval=INTERVAL) for run in runs]
    try:
        jobs[0].start()
        assert runs[0].started.wait(5)
        jobs[1].start()
        private_postgres.stop("immediate")
        assert runs[0].stopped.wait(5)
        assert not jobs[0].is_leader
        private_postgres.start()
        wait_until(lambda: any(job.is_leader for job in jobs), 15)
        time.sleep(5 * INTERVAL)
        assert [job.is_leader for job in jobs].count(True) == 1
        assert sum(run.started.is_set() for run in runs) == 1
    finally:
        for job in jobs:
            job.stop()
