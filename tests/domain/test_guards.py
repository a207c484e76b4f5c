"""The guards a user meets: each rejects bad input with a `ValidationError` naming the
field, or a disallowed move with a `TransitionNotAllowedError`, and records nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from ruswf.domain.commands import ActorRef, proposal_from_body
from ruswf.domain.errors import TransitionNotAllowedError, ValidationError
from ruswf.domain.initiative import Initiative
from ruswf.domain.lifecycle import Action, State
from ruswf.domain.strategy import Strategy

from .driver import (
    COMMANDS,
    CONTENT,
    initiative_in,
    perform,
    propose,
    state_of,
    valid_input,
)

REASON_ACTIONS = {
    Action.REJECT: State.DECISION,
    Action.DEFER: State.DECISION,
    Action.REFER_BACK: State.DECISION,
    Action.RETURN_FOR_REVISION: State.COUNCIL_PREPARATION,
    Action.WITHDRAW: State.PROPOSAL,
}


@contextmanager
def rejected(initiative: Initiative, field: str) -> Iterator[None]:
    """Expect a `ValidationError` naming `field`, and no change to the initiative."""
    initiative.collect_events()
    before = state_of(initiative)
    with pytest.raises(ValidationError) as raised:
        yield
    assert raised.value.field == field, raised.value
    assert initiative.collect_events() == []
    assert state_of(initiative) == before


def _act(strategy: Strategy, initiative: Initiative, action: Action, **changes: Any) -> None:
    COMMANDS[action](initiative, strategy, {**valid_input(strategy, initiative, action), **changes})


# -- reasons ----------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", None], ids=["empty", "spaces", "ws", "none"])
@pytest.mark.parametrize("action", list(REASON_ACTIONS), ids=lambda a: a.value)
def test_action_needs_a_reason(action: Action, blank: str | None, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, REASON_ACTIONS[action])
    with rejected(initiative, "reason"):
        _act(strategy, initiative, action, reason=blank)


def test_reason_is_recorded_trimmed(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.PROPOSAL)
    initiative.collect_events()
    perform(strategy, initiative, Action.WITHDRAW, reason="  Föll bort.  ")
    (event,) = initiative.collect_events()
    assert event.reason == "Föll bort."  # type: ignore[attr-defined]


# -- scheduling -------------------------------------------------------------------


def test_schedule_requires_recorded_preparation(strategy: Strategy) -> None:
    """A missing preparation is a conflict with the lifecycle (409), not invalid input."""
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION, guards_met=False)
    initiative.collect_events()
    with pytest.raises(TransitionNotAllowedError) as raised:
        perform(strategy, initiative, Action.SCHEDULE)
    assert not isinstance(raised.value, ValidationError)
    assert raised.value.state == State.COUNCIL_PREPARATION.value
    assert Action.SCHEDULE.value not in raised.value.allowed_actions
    assert "preparation" in str(raised.value)
    assert initiative.collect_events() == []


def test_schedule_is_allowed_once_preparation_is_recorded(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION, guards_met=False)
    perform(strategy, initiative, Action.RECORD_PREPARATION)
    perform(strategy, initiative, Action.SCHEDULE)
    assert initiative.lifecycle_state is State.DECISION


@pytest.mark.parametrize(
    ("council", "day"),
    [
        ("rsr", "2026-05-20"),  # the day before the RSR meeting
        ("rsr", "2026-03-11"),  # an SSR meeting, not an RSR one
        ("ssr", "2026-05-21"),  # an RSR meeting, not an SSR one
        ("rsr", "2026-07-16"),  # the RSR does not meet in July
    ],
)
def test_schedule_needs_a_meeting_of_that_council_in_the_annual_cycle(
    council: str, day: str, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION)
    with rejected(initiative, "meeting_date"):
        _act(strategy, initiative, Action.SCHEDULE, council=council, meeting_date=day)


@pytest.mark.parametrize(
    "day",
    ["21/05/2026", "2026-13-01", "", 20260521, "1900-05-17", datetime(2026, 5, 21, 10, 0)],
    ids=["dmy", "month-13", "empty", "int", "too-early", "datetime"],
)
def test_schedule_needs_a_valid_business_date(day: object, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION)
    with rejected(initiative, "meeting_date"):
        _act(strategy, initiative, Action.SCHEDULE, meeting_date=day)


@pytest.mark.parametrize("council", ["strategic_group", "kf", "", None])
def test_schedule_needs_a_deciding_council(council: str | None, strategy: Strategy) -> None:
    """Only rsr and ssr decide; the strategic group prepares, it has no agenda to decide."""
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION)
    with rejected(initiative, "council"):
        _act(strategy, initiative, Action.SCHEDULE, council=council, meeting_date="2026-05-05")


def test_schedule_on_an_ssr_meeting_puts_it_on_that_agenda(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION)
    _act(strategy, initiative, Action.SCHEDULE, council="ssr", meeting_date="2026-06-10")
    assert initiative.agenda == {
        "council": "ssr",
        "meeting_date": "2026-06-10",
        "meeting_id": "ssr-2026-06-10",
    }


def test_schedule_accepts_meetings_in_the_past_and_far_ahead(strategy: Strategy) -> None:
    """Business dates are checked against the annual cycle, never against today."""
    for day in ("2019-05-16", "2031-05-15"):
        initiative = initiative_in(strategy, State.COUNCIL_PREPARATION)
        _act(strategy, initiative, Action.SCHEDULE, meeting_date=day)
        assert initiative.agenda == {
            "council": "rsr",
            "meeting_date": day,
            "meeting_id": f"rsr-{day}",
        }


def test_effective_date_must_be_a_date_without_time(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.PROPOSAL)
    with rejected(initiative, "effective_date"):
        _act(strategy, initiative, Action.SUBMIT, effective_date=datetime(2026, 5, 4, 10, 0))


# -- deferral ---------------------------------------------------------------------


@pytest.mark.parametrize("day", ["2026-05-21", "2026-04-16"], ids=["same", "earlier"])
def test_defer_only_to_a_later_meeting(day: str, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.DECISION)
    with rejected(initiative, "meeting_date"):
        _act(strategy, initiative, Action.DEFER, meeting_date=day)


def test_defer_needs_a_meeting_of_the_same_council(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.DECISION)  # on the RSR's agenda
    with rejected(initiative, "meeting_date"):
        _act(strategy, initiative, Action.DEFER, meeting_date="2026-06-10")  # an SSR meeting


def test_defer_moves_the_agenda_and_is_dated_at_the_meeting_it_left(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.DECISION)
    initiative.collect_events()
    _act(strategy, initiative, Action.DEFER, meeting_date="2026-08-20")
    (event,) = initiative.collect_events()
    assert initiative.agenda == {
        "council": "rsr",
        "meeting_date": "2026-08-20",
        "meeting_id": "rsr-2026-08-20",
    }
    assert event.effective_date == "2026-05-21"  # type: ignore[attr-defined]
    assert initiative.lifecycle_state is State.DECISION


# -- closing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lessons", "field"),
    [([], "lessons"), (None, "lessons"), (["  "], "lessons[0]"), ("Förankra", "lessons")],
    ids=["empty", "none", "blank", "not-a-list"],
)
def test_close_needs_at_least_one_lesson(lessons: object, field: str, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)
    with rejected(initiative, field):
        _act(strategy, initiative, Action.CLOSE, lessons=lessons)


@pytest.mark.parametrize("report", ["", "  ", None])
def test_close_needs_a_final_report(report: str | None, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)
    with rejected(initiative, "final_report"):
        _act(strategy, initiative, Action.CLOSE, final_report=report)


# -- progress reports -------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-Q2", "2026-T4", "T2", "2026T2", "", "1800-T2"])
def test_progress_period_must_be_a_reporting_period(period: str, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)
    with rejected(initiative, "period"):
        _act(strategy, initiative, Action.REPORT_PROGRESS, period=period)


@pytest.mark.parametrize("period", ["2026-T1", "2025-T3"])
def test_progress_period_must_not_be_before_the_approval(period: str, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)  # approved on 2026-05-21: 2026-T2
    assert initiative.approval_period == "2026-T2"
    with rejected(initiative, "period"):
        _act(strategy, initiative, Action.REPORT_PROGRESS, period=period)


@pytest.mark.parametrize("period", ["2026-T2", "2026-T3", "2027-T1"])
def test_progress_may_be_reported_from_the_approval_period_on(
    period: str, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)
    _act(strategy, initiative, Action.REPORT_PROGRESS, period=period)
    assert initiative.reported_periods == [period]


@pytest.mark.parametrize("status", ["great", "", "ON_TRACK", None])
def test_progress_status_must_be_on_track_at_risk_or_off_track(
    status: str | None, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)
    with rejected(initiative, "status"):
        _act(strategy, initiative, Action.REPORT_PROGRESS, status=status)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"Okänd indikator": 3}, "indicator_values.Okänd indikator"),
        ({"Nya företag": "många"}, "indicator_values.Nya företag"),
        ({"Nya företag": True}, "indicator_values.Nya företag"),
        ({"Nya företag": float("nan")}, "indicator_values.Nya företag"),
        ([{"name": "Okänd indikator", "value": 3}], "indicator_values.Okänd indikator"),
        ([{"name": "Nya företag"}], "indicator_values[0]"),
        ([{"name": ["Nya företag"], "value": 3}], "indicator_values[0].name"),
        ("3 nya företag", "indicator_values"),
    ],
    ids=["unknown", "text", "bool", "nan", "unknown-in-list", "no-value", "name-list", "text-body"],
)
def test_indicator_values_only_for_the_initiatives_indicators(
    values: object, field: str, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)
    with rejected(initiative, field):
        _act(strategy, initiative, Action.REPORT_PROGRESS, indicator_values=values)


def test_indicator_values_may_be_a_list_of_name_value_pairs(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.FOLLOW_UP)
    initiative.collect_events()
    pairs = [{"name": "Nya företag", "value": 4}]
    _act(strategy, initiative, Action.REPORT_PROGRESS, indicator_values=pairs)
    (event,) = initiative.collect_events()
    assert event.indicator_values == {"Nya företag": 4}  # type: ignore[attr-defined]


# -- preparation ------------------------------------------------------------------


@pytest.mark.parametrize("recommendation", ["maybe", "", "APPROVE", None])
def test_recommendation_must_be_approve_reject_or_other(
    recommendation: str | None, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION, guards_met=False)
    with rejected(initiative, "recommendation"):
        _act(strategy, initiative, Action.RECORD_PREPARATION, recommendation=recommendation)


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (Action.APPROVE, "decision_text"),
        (Action.REPORT_PROGRESS, "narrative"),
        (Action.SUBMIT, "comment"),
    ],
)
def test_texts_must_be_strings_without_nul(action: Action, field: str, strategy: Strategy) -> None:
    state = {Action.APPROVE: State.DECISION, Action.REPORT_PROGRESS: State.FOLLOW_UP}
    initiative = initiative_in(strategy, state.get(action, State.PROPOSAL))
    for bad in ("nul\x00byte", ["lista"]):
        with rejected(initiative, field):
            _act(strategy, initiative, action, **{field: bad})


def test_preparation_needs_a_memo(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.COUNCIL_PREPARATION, guards_met=False)
    with rejected(initiative, "memo"):
        _act(strategy, initiative, Action.RECORD_PREPARATION, memo=" ")


# -- content ----------------------------------------------------------------------

UNKNOWN_REFERENCES = [
    ("goal_area", "moon", "goal_area"),
    ("lead_actor", "acme", "lead_actor"),
    ("priorities", ["railway_financing", "teleportation"], "priorities[1]"),
    ("partner_actors", ["acme"], "partner_actors[0]"),
    ("principles", ["move_fast"], "principles[0]"),
    ("arena", 5, "arena"),
    ("arena", True, "arena"),
    ("arena", "fem", "arena"),
]


@pytest.mark.parametrize(
    ("name", "value", "field"),
    UNKNOWN_REFERENCES,
    ids=[f"{n}-{v}" for n, v, _ in UNKNOWN_REFERENCES],
)
def test_propose_rejects_unknown_strategy_reference(
    name: str, value: object, field: str, strategy: Strategy
) -> None:
    with pytest.raises(ValidationError) as raised:
        propose(strategy, **{name: value})
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("name", "value", "field"),
    UNKNOWN_REFERENCES,
    ids=[f"{n}-{v}" for n, v, _ in UNKNOWN_REFERENCES],
)
def test_revise_rejects_unknown_strategy_reference(
    name: str, value: object, field: str, strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, State.PROPOSAL)
    with rejected(initiative, field):
        _act(strategy, initiative, Action.REVISE, changes={name: value})


@pytest.mark.parametrize("name", ["title", "summary", "goal_area", "lead_actor"])
def test_propose_requires_the_required_fields(name: str, strategy: Strategy) -> None:
    content = {k: v for k, v in CONTENT.items() if k != name}
    with pytest.raises(ValidationError) as raised:
        proposal_from_body(content)
    assert raised.value.field == name


def test_propose_rejects_an_unknown_field(strategy: Strategy) -> None:
    with pytest.raises(ValidationError) as raised:
        propose(strategy, budget=100)
    assert raised.value.field == "budget"


def test_propose_rejects_repeated_references(strategy: Strategy) -> None:
    with pytest.raises(ValidationError) as raised:
        propose(strategy, principles=["try_and_learn", "try_and_learn"])
    assert raised.value.field == "principles"


def test_propose_rejects_a_too_long_title(strategy: Strategy) -> None:
    with pytest.raises(ValidationError) as raised:
        propose(strategy, title="x" * 201)
    assert raised.value.field == "title"


@pytest.mark.parametrize(
    ("indicators", "field"),
    [
        ([{"name": "A", "unit": "st", "baseline": 0, "target": "tio"}], "indicators[0].target"),
        ([{"name": "", "unit": "st"}], "indicators[0].name"),
        ([{"name": "A", "unit": "st", "weight": 1}], "indicators[0].weight"),
        ([{"name": "A", "unit": "st"}, {"name": "A", "unit": "kr"}], "indicators"),
        (["A"], "indicators[0]"),
    ],
    ids=["target-text", "no-name", "unknown-key", "duplicate", "not-an-object"],
)
def test_propose_validates_indicators(indicators: object, field: str, strategy: Strategy) -> None:
    with pytest.raises(ValidationError) as raised:
        propose(strategy, indicators=indicators)
    assert raised.value.field == field


def test_propose_rejects_the_lead_actor_among_partners(strategy: Strategy) -> None:
    with pytest.raises(ValidationError) as raised:
        propose(strategy, partner_actors=["region_vasternorrland", "sundsvall"])
    assert raised.value.field == "partner_actors"


def test_revise_rejects_a_lead_actor_who_is_a_partner(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.PROPOSAL)  # partner: region_vasternorrland
    with rejected(initiative, "partner_actors"):
        _act(strategy, initiative, Action.REVISE, changes={"lead_actor": "region_vasternorrland"})


@pytest.mark.parametrize(
    "changes",
    [{}, {"title": CONTENT["title"]}, {"title": f"  {CONTENT['title']} "}, {"arena": "3"}],
    ids=["empty", "same-title", "same-title-padded", "same-arena-as-text"],
)
def test_revise_that_changes_nothing_is_rejected(
    changes: dict[str, Any], strategy: Strategy
) -> None:
    initiative = initiative_in(strategy, State.PROPOSAL)
    with rejected(initiative, "body"):
        _act(strategy, initiative, Action.REVISE, changes=changes)


def test_revise_records_only_the_fields_it_changes(strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.PROPOSAL)
    initiative.collect_events()
    _act(strategy, initiative, Action.REVISE, changes={"title": CONTENT["title"], "arena": 4})
    (event,) = initiative.collect_events()
    assert event.changes == {"arena": 4}  # type: ignore[attr-defined]
    assert initiative.content["arena"] == 4


@pytest.mark.parametrize("name", ["title", "summary", "goal_area", "lead_actor"])
def test_revise_cannot_clear_a_required_field(name: str, strategy: Strategy) -> None:
    initiative = initiative_in(strategy, State.PROPOSAL)
    with rejected(initiative, name):
        _act(strategy, initiative, Action.REVISE, changes={name: None})


# -- personal data ----------------------------------------------------------------


def test_actor_reference_holds_only_ids_and_role() -> None:
    assert [f.name for f in dataclasses.fields(ActorRef)] == ["user", "organisation", "role"]


def test_every_event_records_only_user_organisation_and_role_of_its_actor(
    strategy: Strategy,
) -> None:
    """Events carry ids, never people's names, e-mail addresses or phone numbers."""
    initiative = propose(strategy)
    for action in (
        Action.REVISE,
        Action.SUBMIT,
        Action.RETURN_FOR_REVISION,
        Action.SUBMIT,
        Action.RECORD_PREPARATION,
        Action.SCHEDULE,
        Action.REFER_BACK,
        Action.SCHEDULE,
        Action.DEFER,
        Action.APPROVE,
        Action.REPORT_PROGRESS,
        Action.CLOSE,
    ):
        perform(strategy, initiative, action)
    events = initiative.collect_events()

    assert {type(e).__name__ for e in events} >= {
        "Proposed", "Revised", "Submitted", "ReturnedForRevision", "PreparationRecorded",
        "Scheduled", "ReferredBack", "Deferred", "Approved", "ProgressReported", "Closed",
    }  # fmt: skip
    for event in events:
        assert set(event.actor) == {"user", "organisation", "role"}  # type: ignore[attr-defined]
        assert not {"name", "email", "e_mail", "phone"} & set(vars(event))


def test_withdrawn_and_rejected_events_record_only_ids_too(strategy: Strategy) -> None:
    withdrawn = initiative_in(strategy, State.WITHDRAWN)
    rejected_ = initiative_in(strategy, State.REJECTED)
    for event in [*withdrawn.collect_events(), *rejected_.collect_events()]:
        assert set(event.actor) == {"user", "organisation", "role"}  # type: ignore[attr-defined]
