"""Catching up, status, rebuilding, schema versions, gaps and lost connections."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql
from structlog.testing import capture_logs

from projections import Projections, run_worker
from projections.board import Board
from ruswf.app.audit.ledger import Ledger
from ruswf.app.demo.walk import run_demo
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.domain.commands import ActorRef, Propose, Submit
from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import Strategy
from tests.conftest import PG_URL, postgres_schema_url

from .conftest import Wait, dump, schema_of, store_kind


def test_status_shows_position_head_and_lag(
    app: RusApp, projections: Projections, coordinator: ActorRef, content: dict[str, object]
) -> None:
    assert [r["lag"] for r in projections.status()] == [0] * 6
    iid = app.propose(Propose(**content), coordinator).id
    app.execute(iid, Submit(), coordinator)
    status = projections.status()
    assert [r["name"] for r in status] == [
        "audit_trail",
        "board",
        "meetings",
        "annual_cycle",
        "obligations",
        "lessons",
    ]
    assert all((r["position"], r["lag"]) == (0, r["head"]) for r in status)
    assert projections.catch_up() == 2
    assert projections.catch_up() == 0
    assert all(r["position"] == r["head"] and r["lag"] == 0 for r in projections.status())


def test_rebuilding_one_projection_leaves_the_others_alone(
    app: RusApp, projections: Projections, coordinator: ActorRef, content: dict[str, object]
) -> None:
    for _ in range(3):
        app.propose(Propose(**content), coordinator)
    projections.catch_up()
    before = dump(projections)
    seen: list[tuple[int, int]] = []
    projections.rebuild("board", progress=lambda done, head: seen.append((done, head)))
    assert seen[-1] == (3, 3)
    assert dump(projections) == before
    with pytest.raises(ValidationError, match="unknown projection 'boards'"):
        projections.rebuild("boards")


def test_a_new_schema_version_recreates_and_rebuilds_the_tables(
    app: RusApp,
    projections: Projections,
    coordinator: ActorRef,
    content: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app.propose(Propose(**content), coordinator)
    projections.catch_up()
    before = projections.board()
    monkeypatch.setattr(Board, "version", 2)
    upgraded = Projections(app)
    status = {r["name"]: r for r in upgraded.status()}
    assert (status["board"]["version"], status["board"]["position"]) == (2, 0)
    assert status["audit_trail"]["position"] == status["audit_trail"]["head"]
    assert upgraded.board() == ([], 0)
    upgraded.catch_up()
    assert upgraded.board() == before


def test_projections_starting_from_nothing_on_a_long_log_build_to_the_same_tables(
    app: RusApp, database_url: str
) -> None:
    """Past `scratch_threshold` events, projections at position 0 are built in a scratch
    database (PostgreSQL) and swapped in: the tables equal the batch-by-batch build."""
    run_demo(app, Ledger(app), year=2025)
    by_batches = Projections(app, batch_size=7, scratch_threshold=10**9)
    by_batches.catch_up()
    expected = dump(by_batches)
    for model in by_batches.models.values():
        model.view.reset()
    with capture_logs() as logs:
        built = Projections(app, scratch_threshold=10).catch_up()
    assert built == by_batches.head()
    assert dump(by_batches) == expected
    in_scratch = [entry for entry in logs if entry["event"] == "projections_built_in_scratch"]
    if store_kind(database_url) == "postgres":
        assert in_scratch[0]["projections"] == list(by_batches.names)
    else:
        assert in_scratch == []  # SQLite applies in place: its statements are in-process


def test_readers_keep_the_old_tables_while_a_postgres_rebuild_builds_the_new(
    app: RusApp, database_url: str, coordinator: ActorRef, content: dict[str, object]
) -> None:
    """On PostgreSQL a rebuild swaps the new tables in at the end, in one transaction per
    projection; on SQLite the tables are emptied first and fill batch by batch."""
    app.propose(Propose(**content), coordinator)
    projections = Projections(app)
    projections.catch_up()
    with projections.models["board"].view.write() as session:
        session.execute("UPDATE {proj_board} SET title = 'stale'")
    titles_during: list[str] = []
    projections.rebuild(
        "board",
        progress=lambda done, head: titles_during.append(projections.board()[0][0]["title"]),
    )
    assert projections.board()[0][0]["title"] == content["title"]
    if store_kind(database_url) == "postgres":
        assert titles_during[0] == "stale"  # built in scratch, not yet swapped in
    else:
        assert titles_during[0] == content["title"]  # built in place, batch by batch


def test_events_of_other_aggregates_only_advance_the_position(
    app: RusApp, projections: Projections, coordinator: ActorRef, content: dict[str, object]
) -> None:
    """Idempotency records share the log; the projections skip them."""
    iid = app.propose(Propose(**content), coordinator, idempotency_key="k-1").id
    app.execute(iid, Submit(), coordinator, idempotency_key="k-2")
    assert projections.head() == 4
    assert projections.catch_up() == 4
    assert projections.audit_events()[1] == 2
    assert projections.board()[0][0]["version"] == 2


@pytest.fixture
def postgres_app(strategy: Strategy) -> Iterator[RusApp]:
    with postgres_schema_url() as url:
        app = RusApp(strategy, Settings(database_url=url, log_format="json"))
        try:
            yield app
        finally:
            app.close()


@pytest.mark.postgres
def test_an_event_after_a_fresh_gap_waits_until_the_gap_is_old(
    postgres_app: RusApp, coordinator: ActorRef, content: dict[str, object]
) -> None:
    """A rolled-back insert leaves a gap, but so does an insert that has not committed
    yet: a fresh gap holds the projections back, an old one does not."""
    app = postgres_app
    first = app.propose(Propose(**content), coordinator).id
    schema = schema_of(app.settings.database_url)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(
            sql.SQL("SELECT nextval(pg_get_serial_sequence({}, 'notification_id'))").format(
                sql.Literal(f"{schema}.ruswf_events")
            )
        )
    second = app.propose(Propose(**content), coordinator).id
    assert app.recorder.max_notification_id() == 3  # ids 1 and 3: a gap at 2

    waiting = Projections(app, gap_grace=60)
    assert waiting.catch_up() == 1
    assert [i["id"] for i in waiting.board()[0]] == [first]
    assert Projections(app, gap_grace=0).catch_up() == 1
    assert {i["id"] for i in waiting.board()[0]} == {first, second}


@pytest.mark.postgres
def test_the_worker_carries_on_after_its_connections_are_killed(
    postgres_app: RusApp,
    strategy: Strategy,
    coordinator: ActorRef,
    content: dict[str, object],
    wait_until: Wait,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = postgres_app
    # Name the worker's connections, so only they are terminated (the server is shared).
    name = f"ruswf-worker-{uuid4().hex[:12]}"
    monkeypatch.setenv("PGAPPNAME", name)
    worker_app = RusApp(strategy, app.settings)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(worker_app, stop), kwargs={"interval": 0.05})
    worker.start()
    try:
        views = Projections(app)
        app.propose(Propose(**content), coordinator)
        wait_until(lambda: views.board()[1] == 1, 5)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        assert killed  # the worker's connections were there, and are gone
        # A new client: the fixture's own pool would first have to notice its dead connections.
        writer = RusApp(strategy, app.settings)
        try:
            writer.propose(Propose(**content), coordinator)
            fresh = Projections(writer)
            wait_until(lambda: all(r["lag"] == 0 for r in fresh.status()), 10)
            assert fresh.board()[1] == 2
        finally:
            writer.close()
    finally:
        stop.set()
        worker.join(10)
        worker_app.close()
    assert not worker.is_alive()


def test_a_filter_with_a_nul_character_is_invalid_input(projections: Projections) -> None:
    """Stored texts never hold NUL and PostgreSQL cannot compare with one: 422, not 500."""
    with pytest.raises(ValidationError, match="actor"):
        projections.obligations(actor="a\x00")
    with pytest.raises(ValidationError, match="q"):
        projections.lessons(q="\x00")
    with pytest.raises(ValidationError, match="user"):
        projections.audit_events(user="\x00")
    with pytest.raises(ValidationError, match="lead_actor"):
        projections.board(lead_actor="\x00")
    with pytest.raises(ValidationError, match="council"):
        projections.meetings(council="\x00")
