"""Log output of the application service, captured with structlog's testing helper."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose, RecordPreparation, Submit, Withdraw
from ruswf.domain.errors import ValidationError

COMMAND_KEYS = {
    "event",
    "log_level",
    "initiative_id",
    "action",
    "user",
    "organisation",
    "role",
    "version",
    "duration_ms",
}


def test_each_command_logs_one_command_entry_with_its_context(
    app: RusApp, coordinator: ActorRef, preparer: ActorRef, content: dict[str, object]
) -> None:
    with capture_logs() as logs:
        initiative_id = app.propose(Propose(**content), coordinator).id
        app.execute(initiative_id, Submit(), coordinator)
        app.execute(
            initiative_id, RecordPreparation(memo="Beredd.", recommendation="other"), preparer
        )

    commands = [entry for entry in logs if entry["event"] == "command"]
    assert [(c["action"], c["version"]) for c in commands] == [
        ("propose", 1),
        ("submit", 2),
        ("record_preparation", 3),
    ]
    for entry in commands:
        assert set(entry) == COMMAND_KEYS
        assert entry["initiative_id"] == initiative_id
        assert entry["log_level"] == "info"
        assert isinstance(entry["duration_ms"], float)
        assert entry["duration_ms"] >= 0
    assert [(c["user"], c["organisation"], c["role"]) for c in commands[1:]] == [
        ("coord-1", "sundsvall", "coordinator"),
        ("prep-1", "region_vasternorrland", "preparer"),
    ]


def test_a_failed_command_logs_no_command_entry(
    app: RusApp, coordinator: ActorRef, content: dict[str, object]
) -> None:
    initiative_id = app.propose(Propose(**content), coordinator).id
    with capture_logs() as logs, pytest.raises(ValidationError):
        app.execute(initiative_id, Withdraw(reason=""), coordinator)
    assert [e for e in logs if e["event"] == "command"] == []


def test_an_idempotent_replay_logs_a_replay_not_a_command(
    app: RusApp, coordinator: ActorRef, content: dict[str, object]
) -> None:
    initiative_id = app.propose(Propose(**content), coordinator).id
    app.execute(initiative_id, Submit(), coordinator, idempotency_key="k-1")
    with capture_logs() as logs:
        app.execute(initiative_id, Submit(), coordinator, idempotency_key="k-1")
    assert [e["event"] for e in logs] == ["idempotent_replay"]
