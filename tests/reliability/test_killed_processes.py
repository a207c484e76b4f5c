"""Killed processes: `ruswf serve` dies by SIGKILL mid-command, or its database
connections are terminated. (The projection worker killed mid-batch is
tests/projections/test_crash.py; the worker's connections terminated is
tests/projections/test_runtime.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import uuid4

import httpx
import psycopg
import pytest

from projections import Projections
from ruswf.domain.strategy import Strategy
from tests.conftest import PG_URL, postgres_schema_url
from tests.projections.conftest import dump
from tests.projections.test_crash import assert_audit_trail_is_exactly_the_log_prefix

from .conftest import (
    CONTENT,
    Command,
    Load,
    Server,
    assert_commands_stored_exactly_once,
    make_app,
    make_tokens,
    retry_unanswered,
    send,
    wait_for,
)


def test_serve_killed_mid_command_loses_nothing_acknowledged(
    database_url: str, start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """6 clients send keyed commands; `ruswf serve` is killed with SIGKILL while some are
    in flight, then started again. Every acknowledged command is stored; each broken one
    is stored whole or not at all, and its keyed retry settles which; the embedded
    projections resume where they were and apply every event exactly once."""
    app = make_app(database_url, strategy)
    tokens = make_tokens(database_url, strategy)
    server = start_server(database_url)
    load = Load(server.url, tokens, clients=6)
    threads = load.threads()
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: load.successes_since(0) >= 40, 60)
        killed_at = time.monotonic()
        server.kill()
        time.sleep(0.3)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(60)

    in_flight = [c for c in load.commands if c.status is None and c.started < killed_at]
    assert in_flight, "no command was in flight when the server died"
    assert all(c.ok or c.status is None for c in load.commands)

    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        retry_unanswered(http, tokens, app, load.commands)
    stored = assert_commands_stored_exactly_once(app, load.commands)
    assert stored == len(load.commands)

    views = Projections(app)
    try:
        wait_for(lambda: all(r["lag"] == 0 for r in views.status()), 30)
        assert_audit_trail_is_exactly_the_log_prefix(views, app)
        proposed = {c.answer["id"] for c in load.commands if c.answer}
        assert views.board(limit=1000)[1] == len(proposed)
        resumed = dump(views)
        views.rebuild()
        assert dump(views) == resumed
    finally:
        views.close()
        app.close()


@pytest.mark.postgres
def test_serve_carries_on_after_its_database_connections_are_terminated(
    start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """`pg_terminate_backend` on every connection of a running `ruswf serve` (the event
    store's pool, which the embedded projections share, and the token table's pool): the
    next commands succeed and the projections keep following, with no restart."""
    name = f"ruswf-test-{uuid4().hex[:12]}"
    with postgres_schema_url() as url:
        app = make_app(url, strategy)
        tokens = make_tokens(url, strategy)
        server = start_server(url, PGAPPNAME=name)
        commands: list[Command] = []
        with httpx.Client(base_url=server.url, timeout=30) as http:
            first = send(http, tokens, Command("coordinator", "/api/v1/initiatives", CONTENT))
            assert first.status == 201
            commands.append(first)
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (name,),
                ).fetchall()
            assert len(rows) >= 2  # the event store's pool and the token table's
            for n in range(10):
                command = send(
                    http,
                    tokens,
                    Command("coordinator", "/api/v1/initiatives", {**CONTENT, "title": f"Nr {n}"}),
                )
                assert command.status == 201, command
                commands.append(command)
            listed = http.get(
                "/api/v1/initiatives",
                headers={"Authorization": f"Bearer {tokens['coordinator']}"},
            )
            assert listed.status_code == 200
            assert listed.json()["total"] == 11
        assert assert_commands_stored_exactly_once(app, commands) == 11
        assert '"unhandled_error"' not in server.log_text()
        server.stop()
        app.close()
