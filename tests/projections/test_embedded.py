"""The embedded runner (inside `ruswf serve`) follows new events without a second process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from projections import EmbeddedRunner, Projections
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose, Submit

from .conftest import Wait


@pytest.fixture
def runner(projections: Projections) -> Iterator[EmbeddedRunner]:
    embedded = EmbeddedRunner(projections)
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


def test_a_command_is_in_the_board_and_the_report_within_a_second(
    app: RusApp,
    projections: Projections,
    runner: EmbeddedRunner,
    coordinator: ActorRef,
    content: dict[str, object],
    wait_until: Wait,
) -> None:
    before = projections.annual_cycle(2026)["rows"]
    view = app.propose(Propose(**content, effective_date="2026-03-02"), coordinator)

    def on_board() -> bool:
        items, _ = projections.board(lead_actor="sundsvall")
        return [i["id"] for i in items] == [view.id]

    assert wait_until(on_board, 1.0) < 1.0

    def in_report() -> bool:
        rows = projections.annual_cycle(2026)["rows"]
        grow_t1 = next(r for r in rows if (r["goal_area"], r["period"]) == ("grow", "2026-T1"))
        return bool(rows != before and grow_t1["proposals"] == 1)

    assert wait_until(in_report, 1.0) < 1.0
    app.execute(view.id, Submit(effective_date="2026-03-03"), coordinator)
    assert (
        wait_until(lambda: projections.board()[0][0]["state"] == "council_preparation", 1.0) < 1.0
    )


def test_stopping_the_runner_stops_following(
    app: RusApp,
    projections: Projections,
    coordinator: ActorRef,
    content: dict[str, object],
    wait_until: Wait,
) -> None:
    runner = EmbeddedRunner(projections, interval=0.05)
    runner.start()
    runner.start()  # idempotent
    assert runner.running
    app.propose(Propose(**content), coordinator)
    wait_until(lambda: projections.board()[1] == 1, 2.0)
    runner.stop()
    assert not runner.running
    app.propose(Propose(**content), coordinator)
    assert projections.status()[0]["lag"] > 0
    assert projections.catch_up() > 0
