"""Several `ruswf serve` processes (one with `--workers 2`) and `ruswf projections run`
workers on one store, under load from several clients: every acknowledged command is
stored once, one process leads each follower job, a leader killed by SIGKILL is replaced
within 5 s, and the read models and the ledger follow the log exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from projections import Projections
from ruswf.app.audit.ledger import Ledger
from ruswf.app.audit.verify import verify_store
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.domain.strategy import Strategy
from tests.conftest import postgres_schema_url
from tests.projections.conftest import dump
from tests.projections.test_crash import assert_audit_trail_is_exactly_the_log_prefix
from tests.reliability.conftest import (
    assert_commands_stored_exactly_once,
    make_app,
    make_tokens,
    retry_unanswered,
    wait_for,
)
from tests.servers import Server

from .conftest import JOBS, SpreadLoad, Worker, kill, leaders, wait_for_leaders

TAKEOVER_SECONDS = 5.0
pytestmark = pytest.mark.timeout(60)  # each takes 6-20 s here


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    for server in made:
        server.stop()


def elections(logs: list[str], job: str) -> int:
    """How many times any process became the leader of `job`, from their JSON logs."""
    count = 0
    for text in logs:
        for line in text.splitlines():
            if '"leader_elected"' in line:
                event = json.loads(line)
                count += event.get("job") == job
    return count


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def run_many_processes(
    url: str,
    strategy: Strategy,
    tmp_path: Path,
    servers: list[Server],
    workers: list[Worker],
    *,
    serve_args: list[list[str]],
    worker_count: int,
    kills: int = 2,
) -> None:
    settings = Settings(database_url=url, log_format="json")
    app: RusApp = make_app(url, strategy)
    tokens = make_tokens(url, strategy)
    try:
        # The first server starts alone, so the first leader is one of its processes.
        for n, args in enumerate(serve_args):
            servers.append(Server(url, tmp_path / f"serve-{n}.log", args=args))
        servers[0].start()
        first = wait_for_leaders(settings, 10)
        for n in range(worker_count):
            workers.append(Worker(url, tmp_path / f"worker-{n}.log"))
        for process in [*servers[1:], *workers]:
            process.launch()
        for server in servers[1:]:
            server.wait_ready()
        for worker in workers:
            worker.wait_ready()
        assert leaders(settings) == first  # the others stand by

        load = SpreadLoad([s.url for s in servers], tokens, clients=4)
        threads = load.start()
        terms = dict.fromkeys(JOBS, 1)
        try:
            wait_for(lambda: load.successes() >= 30, 30)
            led = first
            for round_ in range(kills):
                killed = led["projections"].pid
                if round_ == 0:  # the first leader is one of the first server's `--workers`
                    assert servers[0].process is not None
                    assert parent_pid(killed) == servers[0].process.pid
                kill(killed)
                killed_at = time.monotonic()
                after = wait_for_leaders(settings, TAKEOVER_SECONDS + 5, not_pid=killed)
                took_over = time.monotonic() - killed_at
                assert took_over < TAKEOVER_SECONDS, f"a new leader after {took_over:.1f} s"
                print(f"a new leader {took_over:.2f} s after killing {killed}: {after}")
                for job in JOBS:
                    terms[job] += led[job].pid == killed
                led = after
                done = load.successes()
                wait_for(lambda done=done: load.successes() >= done + 20, 30)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(60)

        with httpx.Client(base_url=servers[0].url, timeout=30) as http:
            retry_unanswered(http, tokens, app, load.commands)
        stored = assert_commands_stored_exactly_once(app, load.commands)
        assert stored == len(load.commands)

        # The new leaders (not the test) bring the read models and the ledger up to date.
        views = Projections(app)
        ledger = Ledger(app)
        try:
            head = views.head()
            wait_for(lambda: all(r["position"] >= head for r in views.status()), 30)
            wait_for(lambda: ledger.head().position >= head, 30)
            assert_audit_trail_is_exactly_the_log_prefix(views, app)
            proposed = {c.answer["id"] for c in load.commands if c.answer}
            assert views.board(limit=1000)[1] == len(proposed)
            followed = dump(views)
            views.rebuild()
            assert dump(views) == followed
            verified = verify_store(app, ledger)
            assert verified.ok, verified.first_bad
            assert verified.pending == 0
        finally:
            views.close()

        logs = [p.log_text() for p in [*servers, *workers]]
        for process in [*servers, *workers]:
            process.stop()  # before the store goes (the PostgreSQL schema is dropped next)
        for job in JOBS:
            # The first term, and one more each time the process leading the job was killed.
            assert elections(logs, job) == terms[job], (job, first, led)
        assert '"unhandled_error"' not in "".join(logs)
    finally:
        app.close()


def test_serves_and_workers_on_postgresql_share_the_followers_and_survive_a_killed_leader(
    strategy: Strategy, tmp_path: Path, servers: list[Server], workers: list[Worker]
) -> None:
    """Two `ruswf serve` (one `--workers 2`) and two `ruswf projections run` on one
    PostgreSQL schema; the leader (first a worker process of the first server, then whoever
    took over) is killed, twice."""
    with postgres_schema_url() as url:
        run_many_processes(
            url,
            strategy,
            tmp_path,
            servers,
            workers,
            serve_args=[["--workers", "2"], []],
            worker_count=2,
        )


def test_serve_workers_on_one_sqlite_file_share_the_followers_and_survive_a_killed_leader(
    strategy: Strategy, tmp_path: Path, servers: list[Server], workers: list[Worker]
) -> None:
    """`ruswf serve --workers 2` and `ruswf projections run` on one SQLite file; the
    leader (first a worker process of the server, then whoever took over) is killed, twice."""
    run_many_processes(
        f"sqlite:///{tmp_path / 'ruswf.db'}",
        strategy,
        tmp_path,
        servers,
        workers,
        serve_args=[["--workers", "2"]],
        worker_count=1,
    )


def test_serve_demo_with_workers_loads_the_demo_once_and_its_projections_follow(
    strategy: Strategy, tmp_path: Path, servers: list[Server]
) -> None:
    """`ruswf serve --demo --workers 2` on an empty SQLite store: the demo is loaded once
    (before the workers start), one worker leads the followers, and the board shows the
    demo's initiatives."""
    url = f"sqlite:///{tmp_path / 'ruswf.db'}"
    server = Server(url, tmp_path / "serve.log", args=["--demo", "--workers", "2"])
    servers.append(server)
    server.start(timeout=60)
    output = server.log_text()
    assert output.count("Empty store: loading the demo") == 1
    token = next(
        line.split()[-1] for line in output.splitlines() if line.strip().startswith("reporter")
    )
    settings = Settings(database_url=url, log_format="json")
    led = wait_for_leaders(settings, 10)
    assert servers[0].process is not None
    assert all(parent_pid(h.pid) == servers[0].process.pid for h in led.values())
    app = make_app(url, strategy)
    try:
        views = Projections(app)
        head = views.head()
        assert head > 100
        wait_for(lambda: all(r["position"] >= head for r in views.status()), 30)
        response = httpx.get(
            f"{server.url}/api/v1/initiatives",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.json()["total"] == views.board(limit=1000)[1] > 10
    finally:
        app.close()
