"""For random histories, every read model equals its recomputation from the raw events."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from projections import Projections
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose
from ruswf.domain.strategy import Strategy

from . import oracle
from .conftest import dump, fresh_app

LEADS = ("harnosand", "lansstyrelsen", "sundsvall")
GOAL_AREAS = ("place", "live", "grow")
ROLES = {
    "return_for_revision": "preparer",
    "record_preparation": "preparer",
    "schedule": "preparer",
    "approve": "secretary",
    "reject": "secretary",
    "defer": "secretary",
    "refer_back": "secretary",
}
PREPARER = ActorRef("prep-1", "region_vasternorrland", "preparer")
SECRETARY = ActorRef("sec-1", "region_vasternorrland", "secretary")
TITLES = ("Filmfond", "Rådet för elförsörjning", "ÅTERSTART i Ånge", "Branschanalys")
LESSONS = ("Förankra tidigt i kommunerna.", "Öppen återkoppling ger FART.", "Låt aktörer gå före.")
YEARS = (2025, 2026, 2027)
TODAYS = (date(2025, 6, 1), date(2026, 6, 30), date(2027, 3, 1), date(2028, 12, 31))
WEIGHTS = {
    "submit": 8,
    "record_preparation": 8,
    "schedule": 8,
    "approve": 6,
    "defer": 4,
    "refer_back": 3,
    "report_progress": 4,
    "close": 2,
    "revise": 1,
    "return_for_revision": 1,
    "reject": 1,
    "withdraw": 1,
}

FIRST_DAY, LAST_DAY = date(2025, 1, 1), date(2027, 12, 31)


def coordinator(lead: str) -> ActorRef:
    return ActorRef(f"coord-{lead}", lead, "coordinator")


class History:
    """Random valid commands through the application service.

    Choices come from a `random.Random` that hypothesis seeds: its own draws favour the
    first and last choices, which would rarely walk an initiative to a decision."""

    def __init__(self, app: RusApp, rnd: random.Random) -> None:
        self.app = app
        self.strategy: Strategy = app.strategy
        self.rnd = rnd
        self.ids: list[str] = []
        self.keys = 0
        self.revisions = 0

    def day(self) -> str:
        return (
            FIRST_DAY + timedelta(days=self.rnd.randrange((LAST_DAY - FIRST_DAY).days))
        ).isoformat()

    def key(self) -> dict[str, str]:
        """Sometimes an idempotency key (its record is an event the projections skip)."""
        if self.rnd.random() < 0.5:
            return {}
        self.keys += 1
        return {"idempotency_key": f"key-{self.keys}"}

    def propose(self) -> None:
        lead = self.rnd.choice(LEADS)
        content = {
            "title": self.rnd.choice(TITLES),
            "summary": "Sammanfattning.",
            "goal_area": self.rnd.choice(GOAL_AREAS),
            "lead_actor": lead,
            "principles": self.rnd.sample(
                ("try_and_learn", "gender_equality"), self.rnd.randrange(3)
            ),
        }
        proposal = Propose(**content, effective_date=self.day())
        view = self.app.propose(proposal, coordinator(lead), **self.key())
        self.ids.append(view.id)

    def act(self) -> None:
        iid = self.rnd.choice(self.ids)
        view = self.app.get_initiative(iid)
        if not view.allowed_actions:
            return  # a final state
        # Forward moves are likelier than those that end or loop back, so that histories
        # reach decisions, follow-up, reports and lessons.
        action = self.rnd.choices(view.allowed_actions, [WEIGHTS[a] for a in view.allowed_actions])[
            0
        ]
        actor = {"preparer": PREPARER, "secretary": SECRETARY}.get(
            ROLES.get(action, ""), coordinator(view.lead_actor)
        )
        self.app.act(iid, action, actor, self.body(action, view), **self.key())

    def body(self, action: str, view: Any) -> dict[str, Any]:
        rnd, day = self.rnd, self.day()
        if action == "revise":
            self.revisions += 1
            changes: dict[str, Any] = {"title": f"{rnd.choice(TITLES)} {self.revisions}"}
            if rnd.random() < 0.5:
                changes["goal_area"] = rnd.choice(GOAL_AREAS)
            if rnd.random() < 0.5:
                changes["principles"] = ["digitalisation"]
            return {**changes, "effective_date": day}
        if action == "schedule":
            council = rnd.choice(("rsr", "ssr"))
            meetings = [m.date for y in YEARS for m in self.strategy.meetings(y, council)]
            return {
                "council": council,
                "meeting_date": rnd.choice(meetings).isoformat(),
                "effective_date": day,
            }
        if action == "defer":
            current = date.fromisoformat(view.agenda["meeting_date"])
            later = [
                m.date
                for y in (current.year, current.year + 1)
                for m in self.strategy.meetings(y, view.agenda["council"])
                if m.date > current
            ]
            return {"reason": "Bordläggs.", "meeting_date": rnd.choice(later[:4]).isoformat()}
        if action == "report_progress":
            first = self.strategy.period(view.approval_period)
            period = self.strategy.period_of(first.start + timedelta(days=122 * rnd.randrange(5)))
            return {
                "period": period.id,
                "status": rnd.choice(("on_track", "at_risk", "off_track")),
                "narrative": "Läget.",
                "lessons": rnd.sample(LESSONS, rnd.randrange(3)),
                "effective_date": day,
            }
        bodies: dict[str, dict[str, Any]] = {
            "submit": {"effective_date": day},
            "return_for_revision": {"reason": "Förtydliga.", "effective_date": day},
            "record_preparation": {
                "memo": "Beredd.",
                "effective_date": day,
                "recommendation": rnd.choice(("approve", "reject")),
            },
            "approve": {"decision_text": "Bifall."},
            "reject": {"reason": "Avslag."},
            "refer_back": {"reason": "Återremiss."},
            "close": {
                "final_report": "Klart.",
                "effective_date": day,
                "lessons": rnd.sample(LESSONS, 1 + rnd.randrange(2)),
            },
            "withdraw": {"reason": "Återtas.", "effective_date": day},
        }
        return bodies[action]


def assert_read_models_equal_recomputation(views: Projections, app: RusApp) -> None:
    log = oracle.read_log(app)
    items, total = views.board(limit=1000)
    assert (items, total) == (oracle.board(log), len(log.stories))
    for row in items:
        view = app.get_initiative(row["id"])
        assert (row["state"], row["version"], row["title"], row["has_preparation"]) == (
            view.state,
            view.version,
            view.title,
            view.preparation is not None,
        )
    page, _ = views.board(limit=2, offset=1)
    assert page == items[1:3]
    for state in ("proposal", "follow_up"):
        assert views.board(state=state, limit=1000)[0] == [r for r in items if r["state"] == state]

    audit, total = views.audit_events(limit=1000)
    assert (audit, total) == (log.audit, len(log.audit))
    if log.audit:
        first = log.audit[0]
        assert views.audit_events(initiative_id=first["initiative_id"], limit=1000)[0] == [
            e for e in log.audit if e["initiative_id"] == first["initiative_id"]
        ]
        assert views.audit_events(
            organisation="region_vasternorrland", type="Approved", limit=1000
        )[0] == [e for e in log.audit if e["type"] == "Approved"]
        assert views.audit_events(since=first["recorded_at"], limit=1000)[1] == len(log.audit)

    for year in YEARS:
        assert views.meetings(year=year) == oracle.meetings(log, year)
        assert views.meetings(council="ssr", year=year) == oracle.meetings(log, year, "ssr")
        for today in TODAYS:
            assert views.annual_cycle(year, today=today) == oracle.annual_cycle(log, year, today)
    for today in TODAYS:
        assert views.obligations(today=today) == oracle.obligations(log, today)
        assert views.obligations(actor="sundsvall", status="overdue", today=today) == [
            o
            for o in oracle.obligations(log, today)
            if o["actor"] == "sundsvall" and o["status"] == "overdue"
        ]
        assert views.har_och_nu(today=today) == oracle.har_och_nu(log, today)
    for q in (None, "förankra", "ÅTER", "öppen FART", "ånge"):
        found, total = views.lessons(q=q, limit=1000)
        assert (found, total) == (oracle.lessons(log, q), len(oracle.lessons(log, q)))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_read_model_equals_a_recomputation_from_the_raw_events(
    database_url: str, strategy: Strategy, data: st.DataObject
) -> None:
    """Random commands, caught up at random moments in random batch sizes, then every
    query compared with the oracle; a rebuild then yields identical tables."""
    with fresh_app(database_url, strategy) as app:
        views = Projections(app, batch_size=data.draw(st.integers(1, 8), label="batch size"))
        rnd = data.draw(st.randoms(use_true_random=True), label="choices")
        history = History(app, rnd)
        history.propose()
        for _ in range(rnd.randint(10, 45)):
            step = rnd.choice(("propose", *["act"] * 8, "catch_up"))
            if step == "propose":
                history.propose()
            elif step == "act":
                history.act()
            else:
                views.catch_up()
                assert views.board(limit=1000)[0] == oracle.board(oracle.read_log(app))
        views.catch_up()
        assert all(row["lag"] == 0 for row in views.status())
        assert_read_models_equal_recomputation(views, app)
        for kind in sorted({e["type"] for e in views.audit_events(limit=1000)[0]}):
            event(f"has {kind}")  # pytest --hypothesis-show-statistics shows the coverage
        before = dump(views)
        views.rebuild()
        assert dump(views) == before
