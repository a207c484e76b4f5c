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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ruswf.app.audit.ledger import Ledger
from ruswf.app.service import RusApp
from ruswf.app.views import InitiativeView
from ruswf.domain.initiative import ActorRef
from ruswf.domain.strategy import Meeting

# (title, goal area, lead actor, priorities, principles, arena, partners, summary)
AGENDA_ITEMS: tuple[tuple[str, str, str, list[str], list[str], int, list[str], str], ...] = (
    (
        "Ett år med BizMaker",
        "place",
        "bizmaker",
        ["growing_sustainable_companies"],
        ["try_and_learn"],
        3,
        ["almi_mitt"],
        "Uppföljning av ett års inkubatorverksamhet i länet.",
    ),
    (
        "Rekryteringsevent i Skellefteå",
        "place",
        "ornskoldsvik",
        ["skills_and_investment"],
        ["let_actors_go_first"],
        3,
        ["arbetsformedlingen"],
        "Gemensam rekryteringsinsats mot etableringarna i norr.",
    ),
    (
        "Trafikverkets inriktningsunderlag",
        "place",
        "trafikverket",
        ["railway_financing", "connected_logistics"],
        ["multi_level_governance"],
        3,
        ["region_vasternorrland"],
        "Länets gemensamma yttrande över inriktningsunderlaget för transportinfrastruktur.",
    ),
    (
        "Energimyndighetens förslag om energi- och klimatrådgivning",
        "place",
        "lansstyrelsen",
        [],
        ["multi_level_governance"],
        3,
        ["kommunforbundet"],
        "Samordnat svar på förslaget om kommunal energi- och klimatrådgivning.",
    ),
    (
        "Tillgänglighetsstrategi",
        "place",
        "region_vasternorrland",
        ["proximity_to_world", "sustainable_travel"],
        ["town_and_country"],
        3,
        ["trafikverket"],
        "Strategi för fysisk och digital tillgänglighet i hela länet.",
    ),
    (
        "Avtal energikontoret",
        "place",
        "region_vasternorrland",
        [],
        ["multi_level_governance"],
        1,
        ["kommunforbundet"],
        "Förnyat avtal om det regionala energikontoret.",
    ),
    (
        "SAM",
        "place",
        "kommunforbundet",
        ["brave_leadership"],
        ["multi_level_governance"],
        3,
        [],
        "Samverkansmodell mellan kommunerna och regionen.",
    ),
    (
        "Näringslivsparlamentet",
        "place",
        "foretagarna",
        ["growing_sustainable_companies"],
        ["let_actors_go_first"],
        3,
        ["handelskammaren"],
        "Ett årligt forum där näringslivet möter politiken.",
    ),
    (
        "Kompetensförsörjningsråd",
        "place",
        "arbetsformedlingen",
        ["better_matching", "matched_education"],
        ["multi_level_governance"],
        3,
        ["mittuniversitetet"],
        "Ett regionalt råd för kompetensförsörjning.",
    ),
    (
        "Påverkansagenda",
        "live",
        "region_vasternorrland",
        ["coordinated_advocacy"],
        ["multi_level_governance"],
        3,
        ["kommunforbundet"],
        "Gemensam agenda för länets påverkansarbete nationellt och i EU.",
    ),
    (
        "Almedalen",
        "live",
        "region_vasternorrland",
        ["coordinated_advocacy"],
        ["let_actors_go_first"],
        4,
        ["sundsvall"],
        "Länets gemensamma närvaro under Almedalsveckan.",
    ),
    (
        "Hur hanterar vi förändringar i grön omställning?",
        "live",
        "lansstyrelsen",
        ["attractive_towns_and_countryside"],
        ["try_and_learn"],
        3,
        ["skogsstyrelsen"],
        "Lärande dialog om den gröna omställningens effekter i länet.",
    ),
    (
        "Centralisering av myndighetsfunktioner",
        "live",
        "harnosand",
        ["coordinated_advocacy"],
        ["town_and_country"],
        3,
        ["lansstyrelsen"],
        "Gemensamt agerande mot centralisering av statliga funktioner.",
    ),
    (
        "HSO",
        "live",
        "kommunforbundet",
        [],
        ["multi_level_governance"],
        2,
        ["region_vasternorrland"],
        "Samverkan inom hälso- och sjukvård mellan kommuner och region.",
    ),
    (
        "Rådet för hållbar elförsörjning",
        "live",
        "lansstyrelsen",
        ["connected_logistics"],
        ["multi_level_governance"],
        3,
        ["region_vasternorrland"],
        "Ett regionalt råd för elförsörjning och nätkapacitet.",
    ),
    (
        "Strategisk finansiering",
        "live",
        "region_vasternorrland",
        ["coherent_support_system"],
        ["try_and_learn"],
        3,
        ["tillvaxtverket"],
        "Samordnad strategi för extern finansiering av regionala insatser.",
    ),
    (
        "Utredning – en ny organisation för förvaltning av EU-medel",
        "live",
        "tillvaxtverket",
        ["coherent_support_system"],
        ["multi_level_governance"],
        3,
        ["esf_radet"],
        "Länets inspel till utredningen om förvaltning av EU-medel.",
    ),
    (
        "Regional ledorganisation",
        "grow",
        "region_vasternorrland",
        ["growing_sustainable_companies"],
        ["let_actors_go_first"],
        3,
        ["sundsvall"],
        "En regional ledorganisation för besöksnäringen.",
    ),
    (
        "Branschanalys – besöksnäringen",
        "grow",
        "sundsvall",
        ["growing_sustainable_companies"],
        ["try_and_learn"],
        2,
        ["region_vasternorrland"],
        "Analys av besöksnäringens utveckling och potential.",
    ),
    (
        "Filmfond",
        "grow",
        "region_vasternorrland",
        ["smart_specialisation"],
        ["try_and_learn"],
        3,
        ["kramfors"],
        "En regional filmfond för att locka produktioner till länet.",
    ),
    (
        "Folkbildningsutredningen",
        "grow",
        "rf_sisu",
        ["flexible_learning"],
        ["town_and_country"],
        3,
        ["kommunforbundet"],
        "Länets inspel till folkbildningsutredningen.",
    ),
    (
        "Framtidens sjukhusstruktur",
        "grow",
        "region_vasternorrland",
        [],
        ["town_and_country"],
        1,
        ["solleftea"],
        "Dialog om framtidens sjukhusstruktur i länet.",
    ),
    (
        "Regionalt serviceprogram",
        "grow",
        "region_vasternorrland",
        ["attractive_towns_and_countryside"],
        ["town_and_country"],
        3,
        ["ange"],
        "Program för kommersiell service på landsbygden.",
    ),
    (
        "Jämställdhetsstrategi",
        "grow",
        "lansstyrelsen",
        [],
        ["gender_equality"],
        3,
        ["region_vasternorrland"],
        "Regional strategi för jämställd regional tillväxt.",
    ),
    (
        "Läget i länet – konjunktur och arbetsmarknad",
        "grow",
        "arbetsformedlingen",
        ["better_matching"],
        ["try_and_learn"],
        3,
        ["timra"],
        "Gemensam lägesbild av konjunktur och arbetsmarknad.",
    ),
)

# The mix of fates dealt to the items (one per item).
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
STATUS_CYCLE = ("on_track", "on_track", "at_risk", "on_track", "off_track")


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
        self.preparer = ActorRef("demo-preparer", "region_vasternorrland", "preparer")
        self.secretary = ActorRef("demo-secretary", "region_vasternorrland", "secretary")

    def key(self) -> str:
        self.step += 1
        return f"{self.key_prefix}:{self.step}"

    def do(
        self, command: Callable[..., InitiativeView], *args: Any, **kwargs: Any
    ) -> InitiativeView:
        return command(*args, idempotency_key=self.key(), **kwargs)

    def meeting_after(self, council: str, day: date) -> Meeting:
        later = [
            m
            for y in (day.year, day.year + 1)
            for m in self.app.strategy.meetings(y, council)
            if m.date > day
        ]
        return later[0]


def run_demo(app: RusApp, seed: int = 1, year: int | None = None) -> DemoResult:
    """Load the seed's agenda items and walk them through one year; returns their views."""
    year = year or app.today().year
    today = app.today()
    rng = random.Random(seed)
    fates = list(FATES)
    rng.shuffle(fates)
    result = DemoResult(year=year, seed=seed)
    for index, (item, fate) in enumerate(zip(AGENDA_ITEMS, fates, strict=True)):
        walk = _Walk(app, year, seed, index, today)
        result.initiatives.append(_walk_initiative(walk, item, fate, rng))
    # A batch load, often with no follower running: seal it into the audit ledger now,
    # so `ruswf audit verify` compares every demo event with its hash (docs/audit.md).
    Ledger(app).seal()
    return result


def _walk_initiative(
    walk: _Walk, item: tuple[Any, ...], fate: str, rng: random.Random
) -> InitiativeView:
    title, goal, lead, priorities, principles, arena, partners, summary = item
    app = walk.app
    coordinator = ActorRef(f"demo-coordinator-{lead}", lead, "coordinator")
    council = "ssr" if goal == "grow" and rng.random() < 0.3 else "rsr"
    proposed_on = date(walk.year, 1, 8) + timedelta(days=rng.randrange(0, 100))
    content = {
        "title": title,
        "summary": summary,
        "goal_area": goal,
        "lead_actor": lead,
        "priorities": priorities,
        "partner_actors": [p for p in partners if p != lead],
        "principles": principles,
        "arena": arena,
        "indicators": [
            {
                "name": "Deltagande aktörer",
                "unit": "antal",
                "baseline": 0,
                "target": 10 + rng.randrange(20),
            }
        ],
    }
    view = walk.do(app.propose, coordinator, content, effective_date=proposed_on)
    iid = view.id
    day = proposed_on + timedelta(days=7)

    if fate in ("returned", "returned_pending"):
        view = walk.do(app.submit, iid, coordinator, effective_date=day)
        prep = walk.meeting_after("strategic_group", day)
        view = walk.do(
            app.return_for_revision,
            iid,
            walk.preparer,
            reason="Målbilden och indikatorerna behöver förtydligas.",
            effective_date=prep.date,
        )
        day = prep.date + timedelta(days=10)
        view = walk.do(
            app.revise,
            iid,
            coordinator,
            changes={"summary": summary + " Reviderad med tydligare mål och indikatorer."},
            comment="Förtydligad efter beredningen.",
            effective_date=day,
        )
        if fate == "returned_pending":
            return view
    if fate == "withdrawn" and rng.random() < 0.5:
        return walk.do(
            app.withdraw,
            iid,
            coordinator,
            reason="Insatsen genomförs inom ordinarie verksamhet.",
            effective_date=day,
        )

    view = walk.do(
        app.submit,
        iid,
        coordinator,
        comment="För beredning i Strategiska RUS-gruppen.",
        effective_date=day,
    )
    prep = walk.meeting_after("strategic_group", day)
    view = walk.do(
        app.record_preparation,
        iid,
        walk.preparer,
        memo=f"Beredning av '{title}' i Strategiska RUS-gruppen.",
        recommendation="reject" if fate == "rejected" else "approve",
        effective_date=prep.date,
    )
    if fate == "in_preparation":
        return view
    if fate == "withdrawn":
        return walk.do(
            app.withdraw,
            iid,
            coordinator,
            reason="Finansieringen föll bort.",
            effective_date=prep.date + timedelta(days=3),
        )
    meeting = walk.meeting_after(council, prep.date)
    if fate == "on_agenda":
        meeting = walk.meeting_after(council, max(prep.date, walk.today))
    view = walk.do(
        app.schedule,
        iid,
        walk.preparer,
        council=council,
        meeting_date=meeting.date,
        effective_date=prep.date,
    )
    if fate == "on_agenda":
        return view
    if fate == "rejected":
        return walk.do(
            app.reject, iid, walk.secretary, reason="Insatsen ryms inte inom RUS prioriteringar."
        )
    if fate == "deferred":
        later = walk.meeting_after(council, meeting.date)
        view = walk.do(
            app.defer,
            iid,
            walk.secretary,
            reason="Underlaget behöver kompletteras med finansiering.",
            meeting_date=later.date,
        )
        meeting = later
    if fate in ("referred_back", "referred_back_pending"):
        view = walk.do(
            app.refer_back, iid, walk.secretary, reason="Återremiss: förankra med kommunerna."
        )
        if fate == "referred_back_pending":
            return view
        prep = walk.meeting_after("strategic_group", meeting.date)
        view = walk.do(
            app.record_preparation,
            iid,
            walk.preparer,
            memo="Kompletterad beredning efter återremiss.",
            recommendation="approve",
            effective_date=prep.date,
        )
        meeting = walk.meeting_after(council, prep.date)
        view = walk.do(
            app.schedule,
            iid,
            walk.preparer,
            council=council,
            meeting_date=meeting.date,
            effective_date=prep.date,
        )
    view = walk.do(
        app.approve, iid, walk.secretary, decision_text=f"Rådet ställer sig bakom '{title}'."
    )

    periods = [
        p
        for p in app.strategy.reporting_periods(walk.year)
        if p.end >= meeting.date and p.end < walk.today
    ]
    for number, period in enumerate(periods):
        if fate == "followed_up" and rng.random() < 0.25:
            continue  # a report the coordinator never sent
        view = walk.do(
            app.report_progress,
            iid,
            coordinator,
            period=period.id,
            status=STATUS_CYCLE[(number + len(title)) % len(STATUS_CYCLE)],
            narrative=f"Lägesrapport för {period.name.lower()}.",
            indicator_values={"Deltagande aktörer": 2 + 3 * number},
            lessons=["Tidig förankring i kommunerna sparar tid."] if number == 1 else [],
            effective_date=min(walk.today, period.end + timedelta(days=14)),
        )
    if fate == "closed":
        closing = min(walk.today, date(walk.year, 12, 15))
        view = walk.do(
            app.close_initiative,
            iid,
            coordinator,
            final_report=f"Slutrapport för '{title}': målen är uppnådda.",
            lessons=[
                "Låt aktörer gå före: de som var redo drev arbetet framåt.",
                "Gemensamma indikatorer från start gör uppföljningen enkel.",
            ],
            effective_date=max(closing, meeting.date),
        )
    return view
