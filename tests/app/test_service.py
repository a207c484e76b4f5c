"""The application service on both stores: commands, concurrency, idempotency, history,
time travel, snapshots and permissions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from ruswf.app.authorization import ROLE_ACTIONS, Role
from ruswf.app.errors import (
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    InitiativeNotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from ruswf.app.idempotency import IdempotencyRecord
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.views import InitiativeView
from ruswf.domain.commands import ActorRef, Propose, ReportProgress, Submit, Withdraw
from ruswf.domain.errors import TransitionNotAllowedError, ValidationError
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import Strategy

from .conftest import BODIES, Drive


def _recorded(app: RusApp) -> int:
    """How many events the store holds (of any aggregate)."""
    return app.recorder.max_notification_id() or 0


# -- the lifecycle through the service ----------------------------------------------


def test_initiative_goes_from_proposal_to_closed(proposed: str, drive: Drive) -> None:
    states = [
        drive(proposed, action).state
        for action in (
            "submit",
            "record_preparation",
            "schedule",
            "approve",
            "report_progress",
            "close",
        )
    ]
    assert states == [
        "council_preparation",
        "council_preparation",
        "decision",
        "follow_up",
        "follow_up",
        "closed",
    ]
    final = drive(proposed)
    assert (final.version, final.allowed_actions, final.state_label) == (7, [], "Avslutad")
    assert final.lessons == [*BODIES["report_progress"]["lessons"], *BODIES["close"]["lessons"]]


def test_propose_returns_plain_data_with_the_callers_allowed_actions(
    app: RusApp, coordinator: ActorRef, content: dict[str, object]
) -> None:
    view = app.propose(Propose(**content), coordinator)
    assert isinstance(view, InitiativeView)
    assert (view.state, view.version, view.lead_actor) == ("proposal", 1, "sundsvall")
    assert view.allowed_actions == ["submit", "revise", "withdraw"]
    assert view.proposed_by == {
        "user": "coord-1",
        "organisation": "sundsvall",
        "role": "coordinator",
    }


def test_approval_is_dated_at_the_meeting_and_sets_the_approval_period(
    app: RusApp, proposed: str, drive: Drive
) -> None:
    view = drive(proposed, "submit", "record_preparation", "schedule", "approve")
    assert view.approval_period == "2026-T2"
    assert app.history(proposed)[-1].effective_date == "2026-05-21"


def test_revise_through_act_changes_content_fields(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    view = app.act(proposed, "revise", coordinator, {"arena": 4, "comment": "Fält 4."})
    assert (view.arena, view.version) == (4, 2)
    assert app.history(proposed)[-1].data == {"changes": {"arena": 4}, "comment": "Fält 4."}


def test_disallowed_action_raises_transition_not_allowed(
    app: RusApp, proposed: str, secretary: ActorRef
) -> None:
    with pytest.raises(TransitionNotAllowedError) as raised:
        app.act(proposed, "approve", secretary, BODIES["approve"])
    assert raised.value.state == "proposal"
    assert raised.value.allowed_actions == ["submit", "revise", "withdraw"]


def test_effective_date_defaults_to_today_and_may_be_given(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    app.act(proposed, "submit", coordinator, {"effective_date": "2025-12-30"})
    first, second = app.history(proposed)
    assert first.effective_date == app.today().isoformat()
    assert second.effective_date == "2025-12-30"


# -- concurrency --------------------------------------------------------------------


def test_second_writer_at_the_same_version_gets_a_concurrency_conflict(
    strategy: Strategy,
    settings: Settings,
    proposed: str,
    coordinator: ActorRef,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two applications load version 1; the other one saves first; this one loses."""
    first, second = RusApp(strategy, settings), RusApp(strategy, settings)
    try:
        load = first._load

        def load_then_let_the_other_writer_win(initiative_id: object) -> object:
            loaded = load(initiative_id)
            second.execute(initiative_id, Withdraw(reason="Den andra skrivaren."), coordinator)
            return loaded

        monkeypatch.setattr(first, "_load", load_then_let_the_other_writer_win)
        with pytest.raises(ConcurrencyConflictError):
            first.execute(proposed, Submit(), coordinator)

        winner = second.get_initiative(proposed)
        assert (winner.state, winner.version) == ("withdrawn", 2)
        assert [e.type for e in second.history(proposed)] == ["Proposed", "Withdrawn"]
    finally:
        first.close()
        second.close()


def test_two_writers_in_parallel_exactly_one_wins(
    app: RusApp,
    strategy: Strategy,
    settings: Settings,
    proposed: str,
    coordinator: ActorRef,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both load version 1 before either saves, then both save at once."""
    writers = [RusApp(strategy, settings), RusApp(strategy, settings)]
    both_loaded = threading.Barrier(len(writers), timeout=30)
    outcomes: list[object] = []
    try:
        for writer in writers:
            load = writer._load

            def load_and_wait(initiative_id: object, load: Callable[[object], Any] = load) -> Any:
                loaded = load(initiative_id)
                both_loaded.wait()
                return loaded

            monkeypatch.setattr(writer, "_load", load_and_wait)

        def write(writer: RusApp, reason: str) -> None:
            try:
                outcomes.append(writer.execute(proposed, Withdraw(reason=reason), coordinator))
            except ConcurrencyConflictError as conflict:
                outcomes.append(conflict)

        threads = [
            threading.Thread(target=write, args=(writer, f"Skrivare {n}."))
            for n, writer in enumerate(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(type(o).__name__ for o in outcomes) == [
            "ConcurrencyConflictError",
            "InitiativeView",
        ]
        assert [e.type for e in app.history(proposed)] == ["Proposed", "Withdrawn"]
    finally:
        for writer in writers:
            writer.close()


def test_stale_expected_version_raises_stale_version_error(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    app.execute(proposed, Submit(), coordinator, expected_version=1)
    with pytest.raises(StaleVersionError) as raised:
        app.execute(proposed, Withdraw(reason="För sent."), coordinator, expected_version=1)
    assert (raised.value.expected, raised.value.current) == (1, 2)
    assert app.get_initiative(proposed).version == 2


def test_matching_expected_version_is_accepted(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    view = app.act(proposed, "submit", coordinator, {}, expected_version=1)
    assert view.version == 2


# -- idempotency ----------------------------------------------------------------------


def test_idempotent_retry_returns_the_first_result_and_records_nothing(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    first = app.act(proposed, "submit", coordinator, {"comment": "x"}, idempotency_key="k-1")
    recorded = _recorded(app)
    retry = app.act(proposed, "submit", coordinator, {"comment": "x"}, idempotency_key="k-1")
    assert retry == first
    assert _recorded(app) == recorded
    assert app.get_initiative(proposed).version == 2


def test_idempotent_retry_of_a_proposal_returns_the_same_initiative(
    app: RusApp, coordinator: ActorRef, content: dict[str, object]
) -> None:
    first = app.propose(Propose(**content), coordinator, idempotency_key="new-1")
    recorded = _recorded(app)
    retry = app.propose(Propose(**dict(content)), coordinator, idempotency_key="new-1")
    assert retry == first
    assert _recorded(app) == recorded


def test_idempotent_retry_returns_the_first_result_after_later_changes(
    app: RusApp, proposed: str, coordinator: ActorRef, drive: Drive
) -> None:
    first = app.execute(proposed, Submit(), coordinator, idempotency_key="k-1")
    drive(proposed, "record_preparation")
    retry = app.execute(proposed, Submit(), coordinator, idempotency_key="k-1")
    assert (retry.version, retry.state) == (first.version, "council_preparation")


def test_idempotent_retry_with_the_same_expected_version_returns_the_first_result(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    """A retried request carries the If-Match of the first; it must not turn into a 412."""
    first = app.execute(proposed, Submit(), coordinator, expected_version=1, idempotency_key="k-1")
    retry = app.execute(proposed, Submit(), coordinator, expected_version=1, idempotency_key="k-1")
    assert retry == first


def test_idempotency_key_reused_with_a_different_payload_is_rejected(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    app.act(proposed, "submit", coordinator, {"comment": "x"}, idempotency_key="k-1")
    recorded = _recorded(app)
    with pytest.raises(IdempotencyKeyReusedError):
        app.act(proposed, "submit", coordinator, {"comment": "y"}, idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReusedError):
        app.act(proposed, "withdraw", coordinator, {"reason": "z"}, idempotency_key="k-1")
    assert _recorded(app) == recorded


def test_idempotency_keys_belong_to_their_caller(
    app: RusApp, proposed: str, coordinator: ActorRef, preparer: ActorRef
) -> None:
    app.execute(proposed, Submit(), coordinator, idempotency_key="k-1")
    view = app.act(proposed, "record_preparation", preparer, BODIES["record_preparation"],
                   idempotency_key="k-1")  # fmt: skip
    assert view.version == 3


@pytest.mark.parametrize("key", ["", "   ", "k" * 201])
def test_idempotency_key_must_be_a_short_non_blank_string(
    app: RusApp, proposed: str, coordinator: ActorRef, key: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.execute(proposed, Submit(), coordinator, idempotency_key=key)
    assert raised.value.field == "Idempotency-Key"


def test_failed_command_does_not_consume_its_idempotency_key(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    with pytest.raises(ValidationError):
        app.act(proposed, "withdraw", coordinator, {"reason": " "}, idempotency_key="k-1")
    view = app.act(proposed, "withdraw", coordinator, {"reason": "Nu."}, idempotency_key="k-2")
    assert view.state == "withdrawn"


# -- time travel and history -------------------------------------------------------


def test_get_initiative_at_a_version_returns_it_as_it_was(
    proposed: str, drive: Drive, app: RusApp
) -> None:
    drive(proposed, "submit", "record_preparation", "schedule")
    past = app.get_initiative(proposed, version=2)
    assert (past.version, past.state, past.preparation) == (2, "council_preparation", None)
    assert app.get_initiative(proposed, version=4).state == "decision"


@pytest.mark.parametrize("version", [5, 99])
def test_get_initiative_at_a_future_version_raises_not_found(
    app: RusApp, proposed: str, drive: Drive, version: int
) -> None:
    drive(proposed, "submit", "withdraw")
    with pytest.raises(InitiativeNotFoundError):
        app.get_initiative(proposed, version=version)


@pytest.mark.parametrize("version", [0, -1])
def test_get_initiative_at_version_below_one_is_invalid(
    app: RusApp, proposed: str, drive: Drive, version: int
) -> None:
    drive(proposed, "submit")
    with pytest.raises(ValidationError) as raised:
        app.get_initiative(proposed, version=version)
    assert raised.value.field == "version"


def test_get_initiative_as_of_before_it_existed_raises_not_found(
    app: RusApp, coordinator: ActorRef, content: dict[str, object]
) -> None:
    before = datetime.now(UTC)
    time.sleep(0.002)
    initiative_id = app.propose(Propose(**content), coordinator).id
    with pytest.raises(InitiativeNotFoundError):
        app.get_initiative(initiative_id, as_of=before)
    with pytest.raises(InitiativeNotFoundError):
        app.get_initiative(initiative_id, as_of=before - timedelta(days=365))


def test_get_initiative_as_of_between_two_commands_returns_the_earlier_state(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    time.sleep(0.002)
    between = datetime.now(UTC)
    time.sleep(0.002)
    app.execute(proposed, Submit(), coordinator)
    then = app.get_initiative(proposed, as_of=between)
    assert (then.version, then.state) == (1, "proposal")
    assert app.get_initiative(proposed, as_of=datetime.now(UTC)).state == "council_preparation"


def test_get_initiative_as_of_a_naive_time_reads_it_as_utc(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    time.sleep(0.002)
    between = datetime.now(UTC)
    time.sleep(0.002)
    app.execute(proposed, Submit(), coordinator)
    assert app.get_initiative(proposed, as_of=between.replace(tzinfo=None)).version == 1


def test_get_initiative_as_of_a_time_in_another_zone(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    time.sleep(0.002)
    between = datetime.now(UTC).astimezone(ZoneInfo(app.strategy.timezone))
    time.sleep(0.002)
    app.execute(proposed, Submit(), coordinator)
    assert app.get_initiative(proposed, as_of=between).version == 1


def test_history_lists_every_event_in_order_with_actor_and_dates(
    app: RusApp, proposed: str, drive: Drive, content: dict[str, object]
) -> None:
    drive(proposed, "submit", "record_preparation", "schedule", "defer", "approve")
    history = app.history(proposed)

    assert [e.version for e in history] == [1, 2, 3, 4, 5, 6]
    assert [e.type for e in history] == [
        "Proposed", "Submitted", "PreparationRecorded", "Scheduled", "Deferred", "Approved",
    ]  # fmt: skip
    assert [e.actor["role"] for e in history] == [
        "coordinator", "coordinator", "preparer", "preparer", "secretary", "secretary",
    ]  # fmt: skip
    assert all(set(e.actor) == {"user", "organisation", "role"} for e in history)
    recorded = [datetime.fromisoformat(e.recorded_at) for e in history]
    assert recorded == sorted(recorded)
    assert all(t.tzinfo is not None for t in recorded)
    assert [e.effective_date for e in history][-2:] == ["2026-05-21", "2026-06-18"]
    assert history[4].data["next_meeting_date"] == "2026-06-18"
    assert "originator_id" not in history[0].data
    assert history[0].data["content"]["title"] == content["title"]


def test_history_read_before_shows_the_events_another_process_added_since(
    app: RusApp,
    strategy: Strategy,
    settings: Settings,
    proposed: str,
    coordinator: ActorRef,
) -> None:
    assert [e.type for e in app.history(proposed)] == ["Proposed"]  # now kept by `app`
    other = RusApp(strategy, settings)  # another process on the same store
    try:
        other.execute(proposed, Submit(comment="Från en annan process."), coordinator)
    finally:
        other.close()

    view, history = app.current_with_history(proposed, coordinator)

    assert [e.type for e in history] == ["Proposed", "Submitted"]
    assert history[1].data["comment"] == "Från en annan process."
    assert view.version == len(history) == 2
    assert [e.type for e in app.history(proposed)] == ["Proposed", "Submitted"]


def test_initiative_with_more_than_100_events_is_loaded_from_a_snapshot(
    app: RusApp, proposed: str, drive: Drive, coordinator: ActorRef
) -> None:
    drive(proposed, "submit", "record_preparation", "schedule", "approve")
    for number in range(97):
        app.execute(
            proposed,
            ReportProgress(period="2026-T3", status="on_track", narrative=f"Rapport {number}."),
            coordinator,
        )
    view = app.get_initiative(proposed)
    assert view.version == 102

    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(UUID(view.id)))
    assert [s.originator_version for s in snapshots] == [50, 100]
    assert app.get_initiative(proposed, version=75).version == 75
    assert view.reported_periods == ["2026-T3"]
    # Each snapshot (taken from the aggregate as saved) holds the state that replaying
    # the events up to its version gives.
    for snapshot in snapshots:
        replayed: Initiative | None = None
        for event in app.events.get(UUID(view.id), lte=snapshot.originator_version):
            replayed = event.mutate(replayed)
        assert replayed is not None
        assert snapshot.mutate(None).__dict__ == replayed.__dict__


# -- permissions -------------------------------------------------------------------


def test_coordinator_of_another_organisation_cannot_act(app: RusApp, proposed: str) -> None:
    other = ActorRef("coord-9", "kramfors", "coordinator")
    with pytest.raises(PermissionDeniedError) as raised:
        app.act(proposed, "submit", other, {})
    assert raised.value.needed_organisation == "sundsvall"
    assert app.get_initiative(proposed).version == 1


def test_coordinator_cannot_hand_the_initiative_to_another_organisation(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    """Otherwise a revision would sidestep the rule that proposers lead what they propose."""
    with pytest.raises(PermissionDeniedError) as raised:
        app.act(proposed, "revise", coordinator, {"lead_actor": "kramfors"})
    assert raised.value.needed_organisation == "kramfors"
    assert app.get_initiative(proposed).lead_actor == "sundsvall"


def test_coordinator_cannot_propose_for_another_lead_actor(
    app: RusApp, content: dict[str, object]
) -> None:
    other = ActorRef("coord-9", "kramfors", "coordinator")
    with pytest.raises(PermissionDeniedError):
        app.propose(Propose(**content), other)
    assert _recorded(app) == 0


@pytest.mark.parametrize("action", ["approve", "reject", "defer", "refer_back"])
def test_preparer_cannot_take_a_decision(
    app: RusApp, proposed: str, drive: Drive, preparer: ActorRef, action: str
) -> None:
    drive(proposed, "submit", "record_preparation", "schedule")
    with pytest.raises(PermissionDeniedError) as raised:
        app.act(proposed, action, preparer, BODIES[action])
    assert raised.value.needed_roles == ["secretary"]


def test_secretary_cannot_schedule(
    app: RusApp, proposed: str, drive: Drive, secretary: ActorRef
) -> None:
    drive(proposed, "submit", "record_preparation")
    with pytest.raises(PermissionDeniedError):
        app.act(proposed, "schedule", secretary, BODIES["schedule"])


@pytest.mark.parametrize("role", ["auditor", "reporter", "admin"])
def test_reading_roles_take_no_workflow_actions(
    app: RusApp, proposed: str, role: str, content: dict[str, object]
) -> None:
    reader = ActorRef("reader-1", "sundsvall", role)
    with pytest.raises(PermissionDeniedError):
        app.act(proposed, "submit", reader, {})
    with pytest.raises(PermissionDeniedError):
        app.propose(Propose(**content), reader)
    assert app.get_initiative(proposed, reader).allowed_actions == []


@pytest.mark.parametrize(
    "caller",
    [ActorRef("x", "sundsvall", "mayor"), ActorRef("x", "atlantis", "coordinator")],
    ids=["unknown-role", "unknown-organisation"],
)
def test_unknown_role_or_organisation_is_denied(
    app: RusApp, proposed: str, caller: ActorRef
) -> None:
    with pytest.raises(PermissionDeniedError):
        app.act(proposed, "submit", caller, {})


def test_allowed_actions_are_what_this_caller_may_do_now(
    app: RusApp, proposed: str, drive: Drive, actors: dict[Role, ActorRef]
) -> None:
    drive(proposed, "submit")
    allowed = {
        role.value: app.get_initiative(proposed, caller).allowed_actions
        for role, caller in actors.items()
    }
    assert allowed["coordinator"] == ["revise", "withdraw"]
    assert allowed["preparer"] == ["return_for_revision", "record_preparation"]
    assert allowed["secretary"] == []
    other = ActorRef("coord-9", "kramfors", "coordinator")
    assert app.get_initiative(proposed, other).allowed_actions == []


def test_permission_is_checked_before_the_lifecycle(
    app: RusApp, proposed: str, preparer: ActorRef
) -> None:
    with pytest.raises(PermissionDeniedError):
        app.act(proposed, "approve", preparer, BODIES["approve"])


# -- input of act() ----------------------------------------------------------------


def test_act_with_an_unknown_field_names_the_field(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.act(proposed, "withdraw", coordinator, {"reason": "x", "urgency": "high"})
    assert raised.value.field == "urgency"


@pytest.mark.parametrize(
    ("action", "missing"),
    [("withdraw", "reason"), ("schedule", "meeting_date"), ("report_progress", "status")],
)
def test_act_with_a_missing_required_field_names_the_field(
    app: RusApp, proposed: str, actors: dict[Role, ActorRef], action: str, missing: str
) -> None:
    body = {k: v for k, v in BODIES[action].items() if k != missing}
    caller = actors[next(r for r in Role if action in ROLE_ACTIONS[r])]
    with pytest.raises(ValidationError) as raised:
        app.act(proposed, action, caller, body)
    assert raised.value.field == missing


def test_act_revise_with_an_unknown_field_names_the_field(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.act(proposed, "revise", coordinator, {"budget": 100})
    assert raised.value.field == "budget"


def test_act_with_an_unknown_action_is_invalid(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.act(proposed, "propose", coordinator, {})
    assert raised.value.field == "action"


@pytest.mark.parametrize("day", ["yesterday", "2026-02-30", "1066-10-14"])
def test_act_with_an_invalid_effective_date_names_the_field(
    app: RusApp, proposed: str, coordinator: ActorRef, day: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        app.act(proposed, "submit", coordinator, {"effective_date": day})
    assert raised.value.field == "effective_date"


# -- unknown initiatives ------------------------------------------------------------


@pytest.mark.parametrize("initiative_id", [str(uuid4()), "not-a-uuid", "", 42])
def test_unknown_initiative_raises_not_found(
    app: RusApp, coordinator: ActorRef, initiative_id: object
) -> None:
    with pytest.raises(InitiativeNotFoundError):
        app.get_initiative(initiative_id)
    with pytest.raises(InitiativeNotFoundError):
        app.history(initiative_id)
    with pytest.raises(InitiativeNotFoundError):
        app.execute(initiative_id, Submit(), coordinator)


def test_an_idempotency_record_is_not_an_initiative(
    app: RusApp, proposed: str, coordinator: ActorRef
) -> None:
    app.execute(proposed, Submit(), coordinator, idempotency_key="k-1")
    record_id = IdempotencyRecord.create_id(scope="sundsvall/coord-1", key="k-1")
    with pytest.raises(InitiativeNotFoundError):
        app.get_initiative(record_id)


def test_keyed_command_racing_its_first_run_returns_the_first_result(
    app: RusApp,
    settings: Settings,
    strategy: Strategy,
    proposed: str,
    drive: Drive,
    coordinator: ActorRef,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When a keyed command's look-up misses its own first run (two racing retries, or the
    store retrying an insert whose acknowledgement was lost), the save collides on the
    idempotency record and the caller gets the first result, not a conflict."""
    drive(proposed, "submit", "record_preparation", "schedule", "approve")
    approved = drive(proposed)
    assert approved.approval_period is not None
    report = {"period": approved.approval_period, "status": "on_track", "narrative": "Enligt plan."}
    first = app.execute(proposed, ReportProgress(**report), coordinator, idempotency_key="lost-ack")
    other = RusApp(strategy, settings)
    try:
        real_replay = other._replay
        calls: list[str] = []

        def replay_missing_the_first_run(*args: Any) -> InitiativeView | None:
            calls.append("replay")
            return None if len(calls) == 1 else real_replay(*args)

        monkeypatch.setattr(other, "_replay", replay_missing_the_first_run)
        again = other.execute(
            proposed, ReportProgress(**report), coordinator, idempotency_key="lost-ack"
        )
    finally:
        other.close()
    assert calls == ["replay", "replay"]  # the look-up missed, then the save collided
    assert again.version == first.version
    assert app.get_initiative(proposed).version == first.version
