"""`ruswf serve` killed (SIGKILL) while it delivers webhooks, and started again: no
event is missing, and an event delivered twice carries the same `webhook-id` (the
restarted process delivers again from the last cursor it finds stored)."""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from ruswf.app.notify.webhooks import WebhookStore
from ruswf.app.service import RusApp
from tests.integrations.conftest import Receiver, wait_for
from tests.integrations.test_webhooks import logged, walk
from tests.servers import RUSWF, Server

FAST_RETRIES = {
    "RUSWF_WEBHOOK_ALLOW_PRIVATE": "true",
    "RUSWF_WEBHOOK_RETRY_BASE": "0.05",
    "RUSWF_WEBHOOK_RETRY_MAX": "0.5",
    "RUSWF_WEBHOOK_LEASE_SECONDS": "2",
    "RUSWF_LOG_LEVEL": "warning",
}


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    found = Server(database_url, tmp_path / "serve.log", FAST_RETRIES)
    try:
        yield found
    finally:
        found.stop()


def test_serve_killed_mid_delivery_and_restarted_misses_nothing_and_repeats_only_ids(
    app: RusApp, content: dict[str, Any], receiver: Receiver, server: Server
) -> None:
    _, hook = WebhookStore(app).create(
        receiver.url, ["*"], created_by="adm", scope="test"
    )  # fmt: skip
    receiver.delay = 0.1  # each answer takes a while: the kill lands mid-delivery
    walk(app, content, proposals=8)
    expected = logged(app)
    server.start()
    wait_for(lambda: len(receiver.deliveries()) >= 6, what="some deliveries")
    server.kill()
    before = len(receiver.deliveries())
    assert before < len(expected), "every event was delivered before the kill"
    receiver.delay = 0.0
    server.start()
    wait_for(
        lambda: {d.json["position"] for d in receiver.deliveries()} >= {p for p, _ in expected},
        timeout=60,
        what="every event after the restart",
    )
    deliveries = receiver.deliveries()
    positions = [Webhook(hook["secret"]).verify(d.body, d.headers)["position"] for d in deliveries]
    # In log order within each process's life; the restarted one starts again where the
    # cursor was last stored, at or before the last event the killed one delivered.
    restart = next((i for i in range(1, len(positions)) if positions[i] <= positions[i - 1]), None)
    runs = [positions] if restart is None else [positions[:restart], positions[restart:]]
    for run in runs:
        assert run == sorted(set(run)), "deliveries left log order"
    assert runs[-1] == [p for p, _ in expected if p >= runs[-1][0]], "the restart skipped one"
    ids: defaultdict[int, set[str]] = defaultdict(set)
    for delivery, position in zip(deliveries, positions, strict=True):
        ids[position].add(delivery.headers["webhook-id"])
    assert all(len(found) == 1 for found in ids.values()), "a duplicate with a new webhook-id"
    assert sorted(ids) == [p for p, _ in expected]


def test_the_projection_worker_delivers_webhooks(
    app: RusApp, content: dict[str, Any], receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    """For `ruswf serve --no-projections`: the worker process sends them."""
    _, hook = WebhookStore(app).create(receiver.url, ["*"], created_by="adm", scope="test")
    walk(app, content, proposals=2)
    expected = logged(app)
    env = {**os.environ, "RUSWF_DATABASE_URL": database_url, **FAST_RETRIES}
    with (tmp_path / "worker.log").open("wb") as output:
        worker = subprocess.Popen(
            [RUSWF, "projections", "run"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: len(receiver.deliveries()) >= len(expected), what="every event")
    finally:
        worker.terminate()
        worker.wait(30)
    positions = [
        Webhook(hook["secret"]).verify(d.body, d.headers)["position"] for d in receiver.deliveries()
    ]
    assert positions == [p for p, _ in expected]
