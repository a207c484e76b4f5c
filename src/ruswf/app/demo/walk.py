"""The demo: the seed's real agenda items walked through one year of the annual cycle.

Every agenda item under "Frågor på agendan" becomes an initiative under the goal area
the seed sorts it into, led by a plausible actor. A fixed mix of fates (approved and
followed up, closed with lessons, rejected, deferred, referred back, returned for
revision, withdrawn, still in the pipeline) is dealt to the items by a seeded shuffle,
and a few progress reports are left missing — the region's real problem.

Business dates (meeting dates, reporting periods) are data on the events; the recorded
time of each event is the real time of the run. Every command carries an idempotency
key derived from (seed, year, item, step), so running the demo again records nothing new.
"""

from __future__ import annotations

import random
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import Any

from ruswf.app.audit.ledger import Ledger
from ruswf.app.service import RusApp
from ruswf.app.views import InitiativeView
from ruswf.domain import commands as cmd
from ruswf.domain.strategy import Meeting

AGENDA_FILE = "agenda.toml"
"""The seed's agenda items, one `[[item]]` each, with the content of its initiative."""


def agenda_items() -> list[dict[str, Any]]:
    """The seed's agenda items (the data file beside this module)."""
    source = resources.files(__package__).joinpath(AGENDA_FILE)
    items: list[dict[str, Any]] = tomllib.loads(source.read_text(encoding="utf-8"))["item"]
    return items


FATES: tuple[str, ...] = (
    *["followed_up"] * 9,
    *["closed"] * 3,
    *["rejected"] * 2,
    *["deferred"] * 3,
    "referred_back",
    "referred_back_pending",
    "returned",
    "returned_pending",
    *["withdrawn"] * 2,
    "in_preparation",
    "on_agenda",
)
STATUS_CYCLE: tuple[cmd.ProgressStatus, ...] = (
    "on_track",
    "on_track",
    "at_risk",
    "on_track",
    "off_track",
)


@dataclass
class DemoResult:
    year: int
    seed: int
    initiatives: list[InitiativeView] = field(default_factory=list)

    def by_state_and_goal_area(self) -> Counter[tuple[str, str]]:
        return Counter((i.state, i.goal_area) for i in self.initiatives)


class _Walk:
    """Walks one initiative through its fate, with deterministic idempotency keys."""

    def __init__(self, app: RusApp, year: int, seed: int, index: int, today: date) -> None:
        self.app = app
        self.year = year
        self.today = today
        self.key_prefix = f"demo:{seed}:{year}:{index}"
        self.step = 0
        self.preparer = cmd.ActorRef("demo-preparer", "region_vasternorrland", "preparer")
        self.secretary = cmd.ActorRef("demo-secretary", "region_vasternorrland", "secretary")

    def key(self) -> str:
        self.step += 1
        return f"{self.key_prefix}:{self.step}"

    def propose(self, actor: cmd.ActorRef, command: cmd.Propose) -> InitiativeView:
        return self.app.propose(command, actor, idempotency_key=self.key())

    def do(self, initiative_id: str, actor: cmd.ActorRef, command: cmd.Command) -> InitiativeView:
        return self.app.execute(initiative_id, command, actor, idempotency_key=self.key())

    def meeting_after(self, council: str, day: date) -> Meeting:
        later = [
            m
            for y in (day.year, day.year + 1)
            for m in self.app.strategy.meetings(y, council)
            if m.date > day
        ]
        return later[0]


def run_demo(app: RusApp, ledger: Ledger, seed: int = 1, year: int | None = None) -> DemoResult:
    """Load the seed's agenda items and walk them through one year; returns their views."""
    year = year or app.today().year
    today = app.today()
    rng = random.Random(seed)
    fates = list(FATES)
    rng.shuffle(fates)
    result = DemoResult(year=year, seed=seed)
    for index, (item, fate) in enumerate(zip(agenda_items(), fates, strict=True)):
        walk = _Walk(app, year, seed, index, today)
        result.initiatives.append(_walk_initiative(walk, item, fate, rng))
    # A batch load, often with no follower running: seal it into the audit ledger now,
    # so `ruswf audit verify` compares every demo event with its hash (docs/audit.md).
    ledger.seal()
    return result


def _walk_initiative(
    walk: _Walk, item: dict[str, Any], fate: str, rng: random.Random
) -> InitiativeView:
    title, goal, lead = item["title"], item["goal_area"], item["lead_actor"]
    coordinator = cmd.ActorRef(f"demo-coordinator-{lead}", lead, "coordinator")
    preparer, secretary = walk.preparer, walk.secretary
    council = "ssr" if goal == "grow" and rng.random() < 0.3 else "rsr"
    proposed_on = date(walk.year, 1, 8) + timedelta(days=rng.randrange(0, 100))
    target = 10 + rng.randrange(20)
    view = walk.propose(
        coordinator,
        cmd.Propose(
            title=title,
            summary=item["summary"],
            goal_area=goal,
            lead_actor=lead,
            priorities=item["priorities"],
            partner_actors=[p for p in item["partner_actors"] if p != lead],
            principles=item["principles"],
            arena=item["arena"],
            indicators=[
                {"name": "Deltagande aktörer", "unit": "antal", "baseline": 0, "target": target}
            ],
            effective_date=proposed_on,
        ),
    )
    iid = view.id
    day = proposed_on + timedelta(days=7)

    if fate in ("returned", "returned_pending"):
        view = walk.do(iid, coordinator, cmd.Submit(effective_date=day))
        prep = walk.meeting_after("strategic_group", day)
        reason = "Målbilden och indikatorerna behöver förtydligas."
        view = walk.do(
            iid, preparer, cmd.ReturnForRevision(reason=reason, effective_date=prep.date)
        )
        day = prep.date + timedelta(days=10)
        revised = item["summary"] + " Reviderad med tydligare mål och indikatorer."
        view = walk.do(
            iid,
            coordinator,
            cmd.Revise(
                changes={"summary": revised},
                comment="Förtydligad efter beredningen.",
                effective_date=day,
            ),
        )
        if fate == "returned_pending":
            return view
    if fate == "withdrawn" and rng.random() < 0.5:
        reason = "Insatsen genomförs inom ordinarie verksamhet."
        return walk.do(iid, coordinator, cmd.Withdraw(reason=reason, effective_date=day))

    comment = "För beredning i Strategiska RUS-gruppen."
    view = walk.do(iid, coordinator, cmd.Submit(comment=comment, effective_date=day))
    prep = walk.meeting_after("strategic_group", day)
    view = walk.do(
        iid,
        preparer,
        cmd.RecordPreparation(
            memo=f"Beredning av '{title}' i Strategiska RUS-gruppen.",
            recommendation="reject" if fate == "rejected" else "approve",
            effective_date=prep.date,
        ),
    )
    if fate == "in_preparation":
        return view
    if fate == "withdrawn":
        withdrawn_on = prep.date + timedelta(days=3)
        reason = "Finansieringen föll bort."
        return walk.do(iid, coordinator, cmd.Withdraw(reason=reason, effective_date=withdrawn_on))
    meeting = walk.meeting_after(council, prep.date)
    if fate == "on_agenda":
        meeting = walk.meeting_after(council, max(prep.date, walk.today))
    scheduled = cmd.Schedule(council=council, meeting_date=meeting.date, effective_date=prep.date)
    view = walk.do(iid, preparer, scheduled)
    if fate == "on_agenda":
        return view
    if fate == "rejected":
        reason = "Insatsen ryms inte inom RUS prioriteringar."
        return walk.do(iid, secretary, cmd.Reject(reason=reason))
    if fate == "deferred":
        later = walk.meeting_after(council, meeting.date)
        reason = "Underlaget behöver kompletteras med finansiering."
        view = walk.do(iid, secretary, cmd.Defer(reason=reason, meeting_date=later.date))
        meeting = later
    if fate in ("referred_back", "referred_back_pending"):
        reason = "Återremiss: förankra med kommunerna."
        view = walk.do(iid, secretary, cmd.ReferBack(reason=reason))
        if fate == "referred_back_pending":
            return view
        prep = walk.meeting_after("strategic_group", meeting.date)
        memo = "Kompletterad beredning efter återremiss."
        view = walk.do(
            iid,
            preparer,
            cmd.RecordPreparation(memo=memo, recommendation="approve", effective_date=prep.date),
        )
        meeting = walk.meeting_after(council, prep.date)
        scheduled = cmd.Schedule(
            council=council, meeting_date=meeting.date, effective_date=prep.date
        )
        view = walk.do(iid, preparer, scheduled)
    decision = f"Rådet ställer sig bakom '{title}'."
    view = walk.do(iid, secretary, cmd.Approve(decision_text=decision))

    periods = [
        p
        for p in walk.app.strategy.reporting_periods(walk.year)
        if p.end >= meeting.date and p.end < walk.today
    ]
    for number, period in enumerate(periods):
        if fate == "followed_up" and rng.random() < 0.25:
            continue  # a report the coordinator never sent
        view = walk.do(
            iid,
            coordinator,
            cmd.ReportProgress(
                period=period.id,
                status=STATUS_CYCLE[(number + len(title)) % len(STATUS_CYCLE)],
                narrative=f"Lägesrapport för {period.name.lower()}.",
                indicator_values={"Deltagande aktörer": 2 + 3 * number},
                lessons=["Tidig förankring i kommunerna sparar tid."] if number == 1 else [],
                effective_date=min(walk.today, period.end + timedelta(days=14)),
            ),
        )
    if fate == "closed":
        closing = min(walk.today, date(walk.year, 12, 15))
        view = walk.do(
            iid,
            coordinator,
            cmd.Close(
                final_report=f"Slutrapport för '{title}': målen är uppnådda.",
                lessons=[
                    "Låt aktörer gå före: de som var redo drev arbetet framåt.",
                    "Gemensamma indikatorer från start gör uppföljningen enkel.",
                ],
                effective_date=max(closing, meeting.date),
            ),
        )
    return view
