"""Drives an Initiative through its lifecycle in memory, without any store.

Everything here is derived: the way to reach each state is a shortest path from
`proposal` in the lifecycle table (`TRANSITIONS`), each guard names the action that
establishes it, each action's command and input come from its definition in
`ruswf.domain.commands` (the fields' examples). Only what depends on the initiative
(meetings, periods, indicators) and the broken input below are written by hand.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import deque
from collections.abc import Callable, Mapping
from datetime import date
from functools import partial
from typing import Any

from ruswf.app.authorization import ROLE_ACTIONS, Role
from ruswf.domain.commands import COMMANDS as DOMAIN_COMMANDS
from ruswf.domain.commands import ActorRef, Context, fields_of, proposal_from_body
from ruswf.domain.commands import Command as DomainCommand
from ruswf.domain.initiative import Initiative
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

# Who takes each action: the first role the role table lets take it.
ACTORS: dict[Role, ActorRef] = {
    Role.COORDINATOR: COORDINATOR,
    Role.PREPARER: PREPARER,
    Role.SECRETARY: SECRETARY,
}


def actor_for(action: Action) -> ActorRef:
    return next(ACTORS[role] for role in ACTORS if action.value in ROLE_ACTIONS[role])


def take(
    initiative: Initiative, strategy: Strategy, action: Action, arguments: Mapping[str, Any]
) -> None:
    """Take `action` with `arguments` (its command's fields), as its role would."""
    context = Context(actor=actor_for(action), day=DAY, strategy=strategy, calendar=strategy)
    initiative.execute(context, DOMAIN_COMMANDS[action](**arguments))


Command = Callable[[Initiative, Strategy, Mapping[str, Any]], None]

COMMANDS: dict[Action, Command] = {
    action: partial(lambda action, i, s, a: take(i, s, action, a), action)
    for action in DOMAIN_COMMANDS
}


def example_input(command: type[DomainCommand]) -> dict[str, Any]:
    """Each field's example from the command's definition (optional fields too)."""
    own = {f.name for f in dataclasses.fields(command)}
    return {
        f.name: f.spec.example
        for f in fields_of(command)
        if f.spec.example is not None and f.name in own
    }


def propose(strategy: Strategy, **changes: Any) -> Initiative:
    """A new initiative in `proposal`, with `changes` applied to the standard content."""
    context = Context(actor=COORDINATOR, day=DAY, strategy=strategy, calendar=strategy)
    return Initiative.propose(context, proposal_from_body({**CONTENT, **changes}))


def next_meeting(strategy: Strategy, council: str, after: date) -> date:
    """The first meeting of `council` after `after`."""
    return next(
        m.date
        for year in (after.year, after.year + 1)
        for m in strategy.meetings(year, council)
        if m.date > after
    )


def example_body(action: Action, **on_this_initiative: Any) -> dict[str, Any]:
    """A request body for `action`: its definition's examples, with what depends on the
    initiative (meetings, periods, indicators, content changes) given by the caller."""
    body = {**example_input(DOMAIN_COMMANDS[action]), **on_this_initiative}
    return {name: value for name, value in body.items() if value is not None}


def valid_input(strategy: Strategy, initiative: Initiative, action: Action) -> dict[str, Any]:
    """Input the domain accepts for `action` (when the lifecycle allows it): the
    examples of the command's definition, and what depends on this initiative."""
    agenda = initiative.agenda or {"council": "rsr", "meeting_date": MEETING.isoformat()}
    on_this_initiative: dict[Action, dict[str, Any]] = {
        Action.REVISE: {"changes": {"summary": initiative.content["summary"] + " Reviderad."}},
        Action.SCHEDULE: {"council": "rsr", "meeting_date": MEETING.isoformat()},
        Action.DEFER: {
            "meeting_date": next_meeting(
                strategy, agenda["council"], date.fromisoformat(agenda["meeting_date"])
            ).isoformat(),
        },
        Action.REPORT_PROGRESS: {
            "period": initiative.approval_period or "2026-T2",
            "indicator_values": {"Nya företag": 3},
            "lessons": [],
        },
    }
    return {
        **example_input(DOMAIN_COMMANDS[action]),
        **on_this_initiative.get(action, {}),
    }


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
