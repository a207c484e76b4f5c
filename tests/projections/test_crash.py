"""A worker killed with SIGKILL in the middle of a batch loses nothing and doubles nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from projections import Projections
from ruswf.app.audit.ledger import Ledger
from ruswf.app.demo.walk import run_demo
from ruswf.app.service import RusApp
from ruswf.domain.initiative import Initiative

from . import oracle
from .conftest import Wait, dump

ROOT = Path(__file__).resolve().parents[2]


def start(args: list[str], database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """A Python subprocess in the repository, on the test's store, logging to `log`."""
    env = {**os.environ, "RUSWF_DATABASE_URL": database_url, "RUSWF_LOG_FORMAT": "json"}
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=output, stderr=output
        )


def crash_in_batch(
    database_url: str, tmp_path: Path, projection: str, batch: int, event: int, wait: Wait
) -> int:
    """Run the freezing worker until it is inside the batch, then SIGKILL it; returns the
    position of the event it had applied in the open transaction."""
    marker = tmp_path / f"marker-{projection}-{batch}"
    log = tmp_path / "worker.log"
    worker = start(
        [
            "-m",
            "tests.projections.crash_worker",
            database_url,
            str(marker),
            projection,
            str(batch),
            str(event),
        ],
        database_url,
        log,
    )
    try:
        wait(lambda: marker.exists() or worker.poll() is not None, 30)
        assert worker.poll() is None, log.read_text()
        wait(lambda: marker.read_text() != "", 5)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert worker.returncode == -signal.SIGKILL
    return int(marker.read_text())


def assert_audit_trail_is_exactly_the_log_prefix(views: Projections, app: RusApp) -> None:
    """The audit trail holds every initiative event up to its position, once each."""
    position = next(r["position"] for r in views.status() if r["name"] == "audit_trail")
    expected = [
        n.id
        for n in app.recorder.select_notifications(1, 100_000, stop=position)
        if isinstance(app.mapper.to_domain_event(n), Initiative.Event | Initiative.Proposed)
    ]
    rows, total = views.audit_events(limit=1000)
    assert [r["position"] for r in rows] == expected
    assert total == len(expected)


def test_worker_killed_mid_batch_resumes_exactly_once(
    app: RusApp, database_url: str, tmp_path: Path, wait_until: Wait
) -> None:
    """Two workers die by SIGKILL inside open batches (of different projections); the real
    worker (`ruswf projections run`) then resumes: nothing missing, nothing doubled, and a
    rebuild from scratch yields identical tables."""
    run_demo(app, Ledger(app), year=2025)
    views = Projections(app)
    head = views.head()
    assert head > 200

    frozen_at = crash_in_batch(database_url, tmp_path, "board", batch=3, event=10, wait=wait_until)
    status = {r["name"]: r["position"] for r in views.status()}
    assert 0 < status["board"] < frozen_at  # the open batch was rolled back
    assert status["audit_trail"] >= frozen_at  # committed before the board's turn
    assert_audit_trail_is_exactly_the_log_prefix(views, app)

    frozen_at = crash_in_batch(database_url, tmp_path, "lessons", batch=4, event=3, wait=wait_until)
    status = {r["name"]: r["position"] for r in views.status()}
    assert 0 < status["lessons"] < frozen_at < head
    assert_audit_trail_is_exactly_the_log_prefix(views, app)

    worker = start(
        [
            "-c",
            "from ruswf.cli.projections import projections_cli; projections_cli()",
            "run",
            "--interval",
            "0.05",
        ],
        database_url,
        tmp_path / "worker.log",
    )
    try:
        wait_until(lambda: all(r["lag"] == 0 for r in views.status()), 60)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0, (tmp_path / "worker.log").read_text()

    assert_audit_trail_is_exactly_the_log_prefix(views, app)
    log = oracle.read_log(app)
    assert views.board(limit=1000)[0] == oracle.board(log)
    assert views.lessons(limit=1000)[0] == oracle.lessons(log)
    assert views.obligations(today=app.today()) == oracle.obligations(log, app.today())
    resumed = dump(views)
    views.rebuild()
    assert dump(views) == resumed


def test_a_second_runner_cannot_apply_a_batch_twice(app: RusApp) -> None:
    """Two runners on one store (an API process and the worker) race; the tracking check
    in each batch's transaction lets exactly one of them apply each event."""
    run_demo(app, Ledger(app), year=2025)
    first, second = Projections(app, batch_size=7), Projections(app, batch_size=5)
    errors: list[BaseException] = []

    def race(views: Projections) -> None:
        try:
            views.catch_up()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=race, args=(v,)) for v in (first, second, first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert all(r["lag"] == 0 for r in first.status())
    log = oracle.read_log(app)
    assert first.audit_events(limit=1000)[0] == log.audit
    assert first.board(limit=1000)[0] == oracle.board(log)
    assert first.lessons(limit=1000)[0] == oracle.lessons(log)
