"""PostgreSQL restarts under load: 503s while it is down, back by itself, nothing lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from ruswf.domain.strategy import Strategy

from .conftest import (
    Load,
    PrivatePostgres,
    Server,
    assert_commands_stored_exactly_once,
    make_app,
    make_tokens,
    retry_unanswered,
    wait_for,
)

pytestmark = pytest.mark.postgres

CONNECT_TIMEOUT = 1
"""`RUSWF_POSTGRES_CONNECT_TIMEOUT` of the server under test: how long a request waits
for a pooled connection."""
MAX_REQUEST_SECONDS = 10 * (CONNECT_TIMEOUT + 0.2) + CONNECT_TIMEOUT + 4
"""The longest a request may take while the database is down: eventsourcing's recorder
tries a statement 10 times, 0.2 s apart, each waiting up to the pool timeout; plus the
token check's wait and slack for a loaded 2-core machine."""
FAULTS = {"unavailable", "busy", "locked"}


def poll_readiness(url: str, stop: threading.Event, seen: list[int]) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            seen.append(http.get("/readyz").status_code)
            time.sleep(0.1)


def test_a_database_restart_under_load_loses_nothing_and_heals_itself(
    private_postgres: PrivatePostgres, start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """8 clients send keyed commands through `ruswf serve` while PostgreSQL stops for
    about 4 s and starts again. Meanwhile the API answers 503 problem+json within its
    bound and /readyz answers 503; then commands succeed again without a restart of
    ruswf. Every 2xx is stored; every error is either not stored or a lost
    acknowledgement that its keyed retry resolves; no command is stored in part."""
    restarts_under_load(private_postgres, start_server, strategy, rounds=1, mode="fast")


@pytest.mark.soak
def test_repeated_database_crashes_under_load_soak(
    private_postgres: PrivatePostgres, start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """Five crashes (`pg_ctl stop -m immediate`: no shutdown, crash recovery on start)."""
    restarts_under_load(private_postgres, start_server, strategy, rounds=5, mode="immediate")


def recovered(load: Load, since: int) -> Callable[[], bool]:
    """Every client has succeeded twice (on average) since command number `since`."""
    return lambda: load.successes_since(since) >= 2 * load.clients


def restarts_under_load(
    private_postgres: PrivatePostgres,
    start_server: Callable[..., Server],
    strategy: Strategy,
    rounds: int,
    mode: str,
) -> None:
    url = private_postgres.url
    app = make_app(url, strategy)  # creates the tables
    tokens = make_tokens(url, strategy)
    server = start_server(url, RUSWF_POSTGRES_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT))
    load = Load(server.url, tokens, clients=8)
    readiness: list[int] = []
    stop_polling = threading.Event()
    threads = load.threads()
    poller = threading.Thread(target=poll_readiness, args=(server.url, stop_polling, readiness))
    during: list[int | None] = []
    try:
        for thread in [*threads, poller]:
            thread.start()
        wait_for(lambda: load.successes_since(0) >= 24, 30)
        for _ in range(rounds):
            private_postgres.stop(mode)
            down_at = len(load.commands)
            try:
                wait_for(lambda: 503 in readiness[-5:], 10)
                time.sleep(4)
                during += [c.status for c in load.commands[down_at:]]
            finally:
                private_postgres.start()
            wait_for(recovered(load, len(load.commands)), 60)
            wait_for(lambda: readiness[-1] == 200, 10)
    finally:
        load.stop.set()
        stop_polling.set()
        for thread in [*threads, poller]:
            thread.join(90)

    statuses = [c.status for c in load.commands]
    assert 503 in during, f"no 503 while the database was down: {during}"
    assert None not in statuses, "a request got no answer"
    assert 500 not in statuses
    failed = [c for c in load.commands if not c.ok]
    for command in failed:
        assert command.status in (503, 409), command
        assert command.answer is not None
        if command.status == 503:
            assert command.answer["reason"] in FAULTS, command.answer
            assert command.answer["status"] == 503
    slowest = max(c.seconds for c in load.commands)
    assert slowest < MAX_REQUEST_SECONDS, f"a request took {slowest:.1f} s"

    conflicts = {id(c) for c in failed if c.status == 409}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        lost_acknowledgements = retry_unanswered(http, tokens, app, load.commands)
    # A 409 here is only ever the lost acknowledgement of a command stored after all
    # (eventsourcing's retry of the insert then meets its own first attempt).
    assert conflicts <= {id(c) for c in lost_acknowledgements}
    stored = assert_commands_stored_exactly_once(app, load.commands)
    assert stored == len(load.commands)
    app.close()
