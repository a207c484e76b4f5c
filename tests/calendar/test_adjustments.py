"""Adjusting the annual cycle on both stores: move, cancel, add — each an event with who
and why; initiatives on a moved meeting's agenda move with it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from projections import Projections
from ruswf.app.errors import PermissionDeniedError
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.domain.calendar import CalendarYear
from ruswf.domain.commands import ActorRef, Approve, Defer
from ruswf.domain.errors import MeetingCancelledError, MeetingNotFoundError, ValidationError
from ruswf.domain.strategy import Strategy
from tests.calendar.conftest import MEETING, actor

NEW_DATE = "2026-02-26"


def test_a_moved_meeting_keeps_its_id_and_records_who_and_why(app: RusApp, admin: ActorRef) -> None:
    moved = app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Krockar med sportlov")
    assert (moved.id, moved.date, moved.moved_from) == (
        MEETING,
        date(2026, 2, 26),
        date(2026, 2, 19),
    )
    (event,) = app.calendar.history(MEETING)
    assert event.type == "MeetingMoved"
    assert event.actor == admin.as_dict()
    assert event.data["reason"] == "Krockar med sportlov"
    assert app.calendar.meeting("rsr", date(2026, 2, 19)) is None


def test_initiatives_on_a_moved_meeting_move_with_it(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    initiative = on_agenda("2026-02-19")
    app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Krockar med sportlov")
    assert app.get_initiative(initiative).agenda == {
        "council": "rsr",
        "meeting_date": NEW_DATE,
        "meeting_id": MEETING,
    }
    approved = app.execute(initiative, Approve(decision_text="Godkänd."), actor("secretary"))
    assert approved.approval_period == "2026-T1"
    decision = app.history(initiative)[-1]
    assert (decision.effective_date, decision.data["meeting_date"]) == (NEW_DATE, NEW_DATE)


def test_scheduling_after_a_move_uses_the_new_date(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Krockar med sportlov")
    with pytest.raises(ValidationError) as raised:
        on_agenda("2026-02-19")
    assert raised.value.field == "meeting_date"
    initiative = on_agenda(NEW_DATE)
    assert app.history(initiative)[-1].data["meeting_id"] == MEETING


def test_a_cancelled_meeting_refuses_scheduling(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    app.calendar.cancel(admin, MEETING, reason="Inga ärenden")
    with pytest.raises(MeetingCancelledError) as raised:
        on_agenda("2026-02-19")
    assert raised.value.meeting_id == MEETING


def test_a_cancelled_meeting_refuses_deferral_to_it(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    initiative = on_agenda("2026-01-15")
    app.calendar.cancel(admin, MEETING, reason="Inga ärenden")
    with pytest.raises(MeetingCancelledError, match=MEETING):
        app.execute(
            initiative, Defer(reason="Mer underlag", meeting_date="2026-02-19"), actor("secretary")
        )


def test_a_cancelled_meetings_agenda_gets_a_new_meeting_by_deferral(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    initiative = on_agenda("2026-02-19")
    app.calendar.cancel(admin, MEETING, reason="Inga ärenden")
    with pytest.raises(MeetingCancelledError):
        app.execute(initiative, Approve(decision_text="Godkänd."), actor("secretary"))
    view = app.execute(
        initiative, Defer(reason="Mötet ställdes in", meeting_date="2026-03-19"), actor("secretary")
    )
    assert view.agenda == {
        "council": "rsr",
        "meeting_date": "2026-03-19",
        "meeting_id": "rsr-2026-03-19",
    }


def test_an_added_meeting_can_take_initiatives(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    added = app.calendar.add(admin, council="rsr", date="2026-09-24", reason="Extra möte")
    assert (added.id, added.status) == ("rsr-2026-09-24", "planned")
    initiative = on_agenda("2026-09-24")
    assert app.get_initiative(initiative).agenda == {
        "council": "rsr",
        "meeting_date": "2026-09-24",
        "meeting_id": "rsr-2026-09-24",
    }


@pytest.mark.parametrize("role", ["coordinator", "preparer", "secretary", "auditor", "reporter"])
def test_only_admins_adjust_the_calendar(app: RusApp, role: str) -> None:
    with pytest.raises(PermissionDeniedError):
        app.calendar.cancel(actor(role), MEETING, reason="Inga ärenden")
    assert app.calendar.year(2026) is None


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_adjustment_needs_a_reason(app: RusApp, admin: ActorRef, reason: str | None) -> None:
    with pytest.raises(ValidationError) as raised:
        app.calendar.move(admin, MEETING, date=NEW_DATE, reason=reason)
    assert raised.value.field == "reason"


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("2026-02-21", "lördag"),
        ("2026-06-19", "Midsommarafton"),
        ("2026-07-09", "sommaruppehåll"),
        ("2027-02-18", "must be in 2026"),
        ("2026-03-19", "already has a meeting"),
    ],
)
def test_a_move_goes_to_a_free_working_day_of_the_same_year(
    app: RusApp, admin: ActorRef, target: str, why: str
) -> None:
    with pytest.raises(ValidationError, match=why) as raised:
        app.calendar.move(admin, MEETING, date=target, reason="Flytt")
    assert raised.value.field == "date"


def test_an_unknown_meeting_is_not_found(app: RusApp, admin: ActorRef) -> None:
    with pytest.raises(MeetingNotFoundError):
        app.calendar.cancel(admin, "rsr-2026-02-20", reason="Fel dag")


def test_a_cancelled_meeting_cannot_be_moved(app: RusApp, admin: ActorRef) -> None:
    app.calendar.cancel(admin, MEETING, reason="Inga ärenden")
    with pytest.raises(MeetingCancelledError):
        app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Ändå")


def test_replay_equals_live(app: RusApp, strategy: Strategy, settings: Settings) -> None:
    admin = actor("admin")
    app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Sportlov")
    app.calendar.move(admin, MEETING, date="2026-02-24", reason="Igen")
    app.calendar.cancel(admin, "rsr-2026-03-19", reason="Inga ärenden")
    app.calendar.add(admin, council="ssr", date="2026-09-16", reason="Extra")
    live = app.calendar.meetings(2026)
    year_id = CalendarYear.create_id(strategy.id, 2026)
    other = RusApp(strategy, settings.model_copy(update={"aggregate_cache_size": 0}))
    try:
        replayed = other.repository.get(year_id)
        assert isinstance(replayed, CalendarYear)
        assert replayed.meetings() == live
        assert other.calendar.meetings(2026) == live
        assert [m.sequence for m in live if m.id == MEETING] == [2]
    finally:
        other.close()


def test_the_meetings_view_shows_status_and_moved_from(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    initiative = on_agenda("2026-02-19")
    waiting = on_agenda("2026-03-19")
    app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Sportlov")
    app.calendar.cancel(admin, "rsr-2026-03-19", reason="Inga ärenden")
    views = Projections(app)
    try:
        views.catch_up()
        by_id = {m["id"]: m for m in views.meetings(council="rsr", year=2026)}
        assert views.needing_new_meeting()[0]["initiative_id"] == waiting
    finally:
        views.close()
    moved = by_id[MEETING]
    assert (moved["date"], moved["moved_from"], moved["status"]) == (
        NEW_DATE,
        "2026-02-19",
        "planned",
    )
    assert [a["initiative_id"] for a in moved["agenda"]] == [initiative]
    cancelled = by_id["rsr-2026-03-19"]
    assert cancelled["status"] == "cancelled"
    assert "moved_from" not in cancelled
    assert [a["initiative_id"] for a in cancelled["needs_new_meeting"]] == [waiting]
    assert by_id["rsr-2026-01-15"]["status"] == "planned"


def test_the_audit_trail_shows_each_adjustment(app: RusApp, admin: ActorRef) -> None:
    app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Sportlov")
    app.calendar.cancel(admin, "rsr-2026-03-19", reason="Inga ärenden")
    app.calendar.add(admin, council="rsr", date="2026-09-24", reason="Extra möte")
    views = Projections(app)
    try:
        views.catch_up()
        events, _ = views.audit_events(user=admin.user)
    finally:
        views.close()
    assert [(e["type"], e["reason"], e["payload"].get("meeting_id")) for e in events] == [
        ("Seeded", None, None),
        ("MeetingMoved", "Sportlov", MEETING),
        ("MeetingCancelled", "Inga ärenden", "rsr-2026-03-19"),
        ("MeetingAdded", "Extra möte", "rsr-2026-09-24"),
    ]
    assert {e["actor"]["role"] for e in events} == {"admin"}


def test_a_changed_rule_does_not_rewrite_an_adjusted_year(
    app: RusApp, admin: ActorRef, settings: Settings
) -> None:
    from tests.calendar.test_working_days import with_rule

    app.calendar.cancel(admin, "rsr-2026-03-19", reason="Inga ärenden")
    changed = with_rule(nth=4)  # RSR's digital meetings on the fourth Thursday instead
    other = RusApp(changed, settings)
    try:
        assert "rsr-2026-03-19" in [m.id for m in other.calendar.meetings(2026, "rsr")]
        differences = other.calendar.differences(range(2025, 2029))
    finally:
        other.close()
    assert list(differences) == [2026]
    assert "the rules no longer give rsr-2026-01-15" in differences[2026]
    assert "the rules now give rsr-2026-01-22" in differences[2026]


def test_the_board_shows_the_moved_meetings_new_date(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    initiative = on_agenda("2026-02-19")
    other = on_agenda("2026-03-19")
    app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Sportlov")
    views = Projections(app)
    try:
        views.catch_up()
        rows = {r["id"]: r for r in views.board(limit=10)[0]}
    finally:
        views.close()
    assert rows[initiative]["next_meeting"] == NEW_DATE
    assert rows[other]["next_meeting"] == "2026-03-19"


def test_rebuilt_read_models_equal_the_live_ones(
    app: RusApp, admin: ActorRef, on_agenda: Callable[[str], str]
) -> None:
    on_agenda("2026-02-19")
    on_agenda("2026-03-19")
    app.calendar.move(admin, MEETING, date=NEW_DATE, reason="Sportlov")
    app.calendar.cancel(admin, "rsr-2026-03-19", reason="Inga ärenden")
    app.calendar.add(admin, council="ssr", date="2026-09-16", reason="Extra")
    views = Projections(app)
    try:
        views.catch_up()
        live = (
            views.meetings(year=2026),
            views.needing_new_meeting(),
            views.board(limit=10),
            views.audit_events(limit=100),
        )
        views.rebuild()
        rebuilt = (
            views.meetings(year=2026),
            views.needing_new_meeting(),
            views.board(limit=10),
            views.audit_events(limit=100),
        )
    finally:
        views.close()
    assert rebuilt == live
    assert any(m.get("moved_from") for m in live[0])
