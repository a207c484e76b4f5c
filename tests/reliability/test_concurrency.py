"""32 clients race on 8 initiatives with conflicting actions against a real server."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Approve, Propose, RecordPreparation, Schedule, Submit
from ruswf.domain.lifecycle import TRANSITIONS, Action, Facts, State, allowed_actions
from ruswf.domain.strategy import Strategy

from .conftest import CONTENT, USERS, Server, make_app, make_tokens

CLIENTS = 32
INITIATIVES = 8
SECONDS = 4.0
SOAK_SECONDS = 60.0
FIRST_MEETING = date(2026, 1, 15)
ENDINGS = {Action.CLOSE, Action.REJECT, Action.WITHDRAW}

ROLE_OF: dict[Action, str] = {
    **dict.fromkeys(
        (
            Action.SUBMIT,
            Action.REVISE,
            Action.WITHDRAW,
            Action.REPORT_PROGRESS,
            Action.CLOSE,
        ),
        "coordinator",
    ),
    **dict.fromkeys(
        (Action.RETURN_FOR_REVISION, Action.RECORD_PREPARATION, Action.SCHEDULE), "preparer"
    ),
    **dict.fromkeys((Action.APPROVE, Action.REJECT, Action.DEFER, Action.REFER_BACK), "secretary"),
}
# Event type → the action that records it (proposing is not a transition).
ACTION_OF_EVENT = {
    "Submitted": Action.SUBMIT,
    "Revised": Action.REVISE,
    "ReturnedForRevision": Action.RETURN_FOR_REVISION,
    "PreparationRecorded": Action.RECORD_PREPARATION,
    "Scheduled": Action.SCHEDULE,
    "Approved": Action.APPROVE,
    "Rejected": Action.REJECT,
    "Deferred": Action.DEFER,
    "ReferredBack": Action.REFER_BACK,
    "ProgressReported": Action.REPORT_PROGRESS,
    "Closed": Action.CLOSE,
    "Withdrawn": Action.WITHDRAW,
}


def actor(who: str) -> ActorRef:
    user, role, organisation = USERS[who]
    return ActorRef(user, organisation, role)


def seed(app: RusApp) -> list[str]:
    """8 initiatives, two in each of proposal, council_preparation, decision and follow_up."""
    coordinator, preparer, secretary = actor("coordinator"), actor("preparer"), actor("secretary")
    ids = []
    for n in range(INITIATIVES):
        iid = app.propose(Propose(**{**CONTENT, "title": f"Kapplöpning {n}"}), coordinator).id
        depth = n % 4
        if depth >= 1:
            app.execute(iid, Submit(), coordinator)
        if depth >= 2:
            app.execute(iid, RecordPreparation(memo="PM", recommendation="approve"), preparer)
            app.execute(iid, Schedule(council="rsr", meeting_date=FIRST_MEETING), preparer)
        if depth >= 3:
            app.execute(iid, Approve(decision_text="Godkänd."), secretary)
        ids.append(iid)
    return ids


def replay_is_legal(types: list[str]) -> State:
    """Walk an initiative's history through the lifecycle table; fail on an illegal step."""
    assert types[0] == "Proposed"
    state, prepared = State.PROPOSAL, False
    table = {action: (sources, target) for action, sources, target, _ in TRANSITIONS}
    for step, kind in enumerate(types[1:], start=2):
        action = ACTION_OF_EVENT[kind]
        assert action in allowed_actions(state, Facts(has_preparation=prepared)), (
            f"version {step}: {action.value} is not allowed in {state.value}"
        )
        sources, target = table[action]
        assert state in sources
        state = target or state
        prepared = prepared or action is Action.RECORD_PREPARATION
    return state


@dataclass
class Race:
    url: str
    tokens: dict[str, str]
    strategy: Strategy
    ids: list[str]
    deadline: float
    outcomes: list[tuple[str, str, int, int | None]] = field(default_factory=list)
    """(initiative, action, status, version answered)"""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def later_meeting(self, agenda: dict[str, str] | None) -> str | None:
        if not agenda:
            return None
        current = date.fromisoformat(agenda["meeting_date"])
        for year in (current.year, current.year + 1):
            for meeting in self.strategy.meetings(year, agenda["council"]):
                if meeting.date > current:
                    return meeting.date.isoformat()
        return None

    def body(self, action: Action, view: dict[str, Any]) -> dict[str, Any] | None:
        bodies: dict[Action, dict[str, Any]] = {
            Action.SUBMIT: {"comment": "Till beredning."},
            Action.REVISE: {"summary": f"Reviderad {random.random()}"},
            Action.RETURN_FOR_REVISION: {"reason": "Förtydliga."},
            Action.RECORD_PREPARATION: {"memo": "PM.", "recommendation": "approve"},
            Action.SCHEDULE: {"council": "rsr", "meeting_date": FIRST_MEETING.isoformat()},
            Action.APPROVE: {"decision_text": "Bifall."},
            Action.REJECT: {"reason": "Avslag."},
            Action.REFER_BACK: {"reason": "Återremiss."},
            Action.CLOSE: {"final_report": "Klart.", "lessons": ["Förankra tidigt."]},
            Action.WITHDRAW: {"reason": "Dras tillbaka."},
        }
        if action is Action.DEFER:
            later = self.later_meeting(view.get("agenda"))
            return {"reason": "Bordläggs.", "meeting_date": later} if later else None
        if action is Action.REPORT_PROGRESS:
            period = view.get("approval_period") or "2026-T1"
            return {"period": period, "status": "on_track", "narrative": "Enligt plan."}
        return bodies[action]

    def run(self, seed_value: int) -> None:
        rng = random.Random(seed_value)
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while time.monotonic() < self.deadline:
                iid = rng.choice(self.ids)
                answer = http.get(
                    f"/api/v1/initiatives/{iid}",
                    headers={"Authorization": f"Bearer {self.tokens['secretary']}"},
                )
                view = answer.json()
                assert "state" in view, (answer.status_code, view)
                state = State(view["state"])
                legal = allowed_actions(state, Facts(has_preparation=bool(view["preparation"])))
                pool = list(legal) if legal and rng.random() < 0.8 else list(Action)
                # Ending actions are rare, so the race goes on for the whole time.
                weights = [0.03 if a in ENDINGS else 1.0 for a in pool]
                action = rng.choices(pool, weights)[0]
                body = self.body(action, view)
                # A defer's date is only right for the version read: always guard it.
                guarded = action is Action.DEFER or rng.random() < 0.5
                if body is None:
                    continue
                headers = {"Authorization": f"Bearer {self.tokens[ROLE_OF[action]]}"}
                if guarded:
                    headers["If-Match"] = f'"{view["version"]}"'
                response = http.post(
                    f"/api/v1/initiatives/{iid}/actions/{action.value}", json=body, headers=headers
                )
                version = response.json().get("version") if response.status_code == 200 else None
                with self.lock:
                    self.outcomes.append((iid, action.value, response.status_code, version))


def race(
    database_url: str,
    start_server: Callable[..., Server],
    strategy: Strategy,
    seconds: float,
) -> None:
    app = make_app(database_url, strategy)
    try:
        ids = seed(app)
        before = {iid: app.get_initiative(iid).version for iid in ids}
        tokens = make_tokens(database_url, strategy)
        server = start_server(database_url)
        contest = Race(server.url, tokens, strategy, ids, time.monotonic() + seconds)
        threads = [threading.Thread(target=contest.run, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        assert not any(thread.is_alive() for thread in threads)

        statuses = Counter(status for _, _, status, _ in contest.outcomes)
        assert set(statuses) <= {200, 409, 412}, statuses
        assert statuses[200] > 0
        assert statuses[409] + statuses[412] > 0, "no conflict at all: not a race"
        winners = Counter(iid for iid, _, status, _ in contest.outcomes if status == 200)
        for iid in ids:
            history = app.history(iid)
            assert len(history) - before[iid] == winners[iid], iid
            # Each success answered a version of its own.
            answered = [
                v for i, _, s, v in contest.outcomes if i == iid and s == 200 and v is not None
            ]
            assert len(answered) == len(set(answered))
            assert sorted(answered) == list(range(before[iid] + 1, len(history) + 1))
            state = replay_is_legal([event.type for event in history])
            assert state.value == app.get_initiative(iid).state
    finally:
        app.close()


def test_racing_clients_leave_only_legal_histories(
    database_url: str, start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """For a bounded time, 32 clients act on 8 initiatives (mostly legal, some illegal
    actions, half with If-Match). Every answer is 200, 409 or 412; the 200s are exactly
    the stored events, each with its own version; and every history replays through the
    lifecycle table as a legal path."""
    race(database_url, start_server, strategy, SECONDS)


@pytest.mark.soak
def test_racing_clients_soak(
    database_url: str, start_server: Callable[..., Server], strategy: Strategy
) -> None:
    """The same race for a minute."""
    race(database_url, start_server, strategy, SOAK_SECONDS)
