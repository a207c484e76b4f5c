"""Drives an Initiative through its lifecycle in memory, without any store.

Everything here is derived from the lifecycle table (`TRANSITIONS`): the way to reach
each state is a shortest path from `proposal`, and each guard names the action that
establishes it. Only the per-action input below is written by hand, so a new action
fails loudly (KeyError) until it is given one.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from ruswf.domain.initiative import ActorRef, Initiative
from ruswf.domain.lifecycle import TRANSITIONS, Action, State, actions_from
from ruswf.domain.strategy import Strategy
from tests.conftest import CONTENT

COORDINATOR = ActorRef("coord-1", "sundsvall", "coordinator")
PREPARER = ActorRef("prep-1", "region_vasternorrland", "preparer")
SECRETARY = ActorRef("sec-1", "region_vasternorrland", "secretary")
DAY = date(2026, 5, 4)
# The third Thursday of May 2026: an RSR meeting in reporting period 2026-T2.
MEETING = date(2026, 5, 21)


# The action whose event makes each guard's fact true.
GUARD_ESTABLISHED_BY: dict[str, Action] = {"has_preparation": Action.RECORD_PREPARATION}

Command = Callable[[Initiative, Strategy, Mapping[str, Any]], None]

COMMANDS: dict[Action, Command] = {
    Action.SUBMIT: lambda i, s, a: i.submit(COORDINATOR, DAY, **a),
    Action.REVISE: lambda i, s, a: i.revise(s, COORDINATOR, DAY, **a),
    Action.RETURN_FOR_REVISION: lambda i, s, a: i.return_for_revision(PREPARER, DAY, **a),
    Action.RECORD_PREPARATION: lambda i, s, a: i.record_preparation(PREPARER, DAY, **a),
    Action.SCHEDULE: lambda i, s, a: i.schedule(s, PREPARER, DAY, **a),
    Action.APPROVE: lambda i, s, a: i.approve(s, SECRETARY, **a),
    Action.REJECT: lambda i, s, a: i.reject(SECRETARY, **a),
    Action.DEFER: lambda i, s, a: i.defer(s, SECRETARY, **a),
    Action.REFER_BACK: lambda i, s, a: i.refer_back(SECRETARY, **a),
    Action.REPORT_PROGRESS: lambda i, s, a: i.report_progress(s, COORDINATOR, DAY, **a),
    Action.CLOSE: lambda i, s, a: i.close(COORDINATOR, DAY, **a),
    Action.WITHDRAW: lambda i, s, a: i.withdraw(COORDINATOR, DAY, **a),
}


def propose(strategy: Strategy, **changes: Any) -> Initiative:
    """A new initiative in `proposal`, with `changes` applied to the standard content."""
    return Initiative.propose(strategy, COORDINATOR, {**CONTENT, **changes}, DAY)


def next_meeting(strategy: Strategy, council: str, after: date) -> date:
    """The first meeting of `council` after `after`."""
    return next(
        m.date
        for year in (after.year, after.year + 1)
        for m in strategy.meetings(year, council)
        if m.date > after
    )


def valid_input(strategy: Strategy, initiative: Initiative, action: Action) -> dict[str, Any]:
    """Input the domain accepts for `action` (when the lifecycle allows it)."""
    agenda = initiative.agenda or {"council": "rsr", "meeting_date": MEETING.isoformat()}
    inputs: dict[Action, dict[str, Any]] = {
        Action.SUBMIT: {"comment": "Till beredning."},
        Action.REVISE: {"changes": {"summary": initiative.content["summary"] + " Reviderad."}},
        Action.RETURN_FOR_REVISION: {"reason": "Målen behöver förtydligas."},
        Action.RECORD_PREPARATION: {"memo": "Beredd i RUS-gruppen.", "recommendation": "approve"},
        Action.SCHEDULE: {"council": "rsr", "meeting_date": MEETING.isoformat()},
        Action.APPROVE: {"decision_text": "Rådet ställer sig bakom insatsen."},
        Action.REJECT: {"reason": "Ryms inte inom prioriteringarna."},
        Action.DEFER: {
            "reason": "Underlaget behöver kompletteras.",
            "meeting_date": next_meeting(
                strategy, agenda["council"], date.fromisoformat(agenda["meeting_date"])
            ).isoformat(),
        },
        Action.REFER_BACK: {"reason": "Förankra med kommunerna."},
        Action.REPORT_PROGRESS: {
            "period": initiative.approval_period or "2026-T2",
            "status": "on_track",
            "narrative": "Enligt plan.",
            "indicator_values": {"Nya företag": 3},
            "lessons": [],
        },
        Action.CLOSE: {"final_report": "Målen är nådda.", "lessons": ["Förankra tidigt."]},
        Action.WITHDRAW: {"reason": "Finansieringen föll bort."},
    }
    return inputs[action]


def invalid_input(strategy: Strategy, initiative: Initiative, action: Action) -> dict[str, Any]:
    """Input the domain rejects with a `ValidationError` for `action`."""
    valid = valid_input(strategy, initiative, action)
    broken: dict[Action, dict[str, Any]] = {
        Action.SUBMIT: {"comment": 42},
        Action.REVISE: {"changes": {}},
        Action.RETURN_FOR_REVISION: {"reason": "  "},
        Action.RECORD_PREPARATION: {"recommendation": "maybe"},
        # The day before the meeting: no council meets then.
        Action.SCHEDULE: {"meeting_date": "2026-05-20"},
        Action.APPROVE: {"decision_text": ""},
        Action.REJECT: {"reason": ""},
        Action.DEFER: {"reason": "\t"},
        Action.REFER_BACK: {"reason": " "},
        Action.REPORT_PROGRESS: {"status": "great"},
        Action.CLOSE: {"lessons": []},
        Action.WITHDRAW: {"reason": ""},
    }
    return {**valid, **broken[action]}


def perform(strategy: Strategy, initiative: Initiative, action: Action, **overrides: Any) -> None:
    """Take `action` with valid input (fields in `overrides` replace the valid ones)."""
    COMMANDS[action](
        initiative, strategy, {**valid_input(strategy, initiative, action), **overrides}
    )


def path_to(target: State) -> list[Action]:
    """The shortest sequence of state-changing actions from `proposal` to `target`."""
    paths: dict[State, list[Action]] = {State.PROPOSAL: []}
    queue = deque([State.PROPOSAL])
    while queue:
        state = queue.popleft()
        for action, sources, dest, _guard in TRANSITIONS:
            if state in sources and dest is not None and dest not in paths:
                paths[dest] = [*paths[state], action]
                queue.append(dest)
    if target not in paths:
        raise AssertionError(f"state {target.value} cannot be reached from proposal")
    return paths[target]


def guards_of(action: Action) -> list[str]:
    return [guard for a, _, _, guard in TRANSITIONS if a is action and guard]


def establish_guards(strategy: Strategy, initiative: Initiative, action: Action) -> None:
    """Make the facts that `action`'s guards test true."""
    for guard in guards_of(action):
        if not getattr(initiative.facts, guard):
            perform(strategy, initiative, GUARD_ESTABLISHED_BY[guard])


def initiative_in(strategy: Strategy, state: State, *, guards_met: bool = True) -> Initiative:
    """An initiative in `state`, built by commands; its events are still pending.

    With `guards_met`, the facts every action from `state` needs are established too,
    so the initiative allows every action the lifecycle defines from `state`.
    """
    initiative = propose(strategy)
    for action in path_to(state):
        establish_guards(strategy, initiative, action)
        perform(strategy, initiative, action)
    if guards_met:
        for action in actions_from(state):
            establish_guards(strategy, initiative, action)
    return initiative


def replay(events: list[Any]) -> Initiative:
    """The aggregate rebuilt from `events` by the eventsourcing projector."""
    rebuilt: Initiative | None = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    return rebuilt


def state_of(initiative: Initiative) -> dict[str, Any]:
    """A deep copy of the aggregate's attributes, without the queue of pending events."""
    return copy.deepcopy({k: v for k, v in vars(initiative).items() if k != "_pending_events"})
