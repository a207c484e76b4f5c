"""Deterministic data sets: a region-year (~300 initiatives) and a national ten-year
volume (~60,000 initiatives, ~1.5 million events — every Swedish region, one store).

Initiatives are built with the real domain (so every event passes the real guards),
encoded with the application's own mapper, and bulk-loaded: COPY on PostgreSQL,
executemany on SQLite. Content and business dates depend only on the seed; recorded
times are the real time of generation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import sql

from ruswf.app.service import RusApp
from ruswf.domain.commands import (
    ActorRef,
    Approve,
    Close,
    Context,
    Defer,
    ProgressStatus,
    Propose,
    RecordPreparation,
    Reject,
    ReportProgress,
    Revise,
    Schedule,
    Submit,
    Withdraw,
)
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import Strategy

COORDINATOR = ActorRef("bench-coordinator", "sundsvall", "coordinator")
PREPARER = ActorRef("bench-preparer", "region_vasternorrland", "preparer")
SECRETARY = ActorRef("bench-secretary", "region_vasternorrland", "secretary")
CONTENT: dict[str, Any] = {
    "title": "Regional filmfond",
    "summary": "En regional filmfond för att locka produktioner till länet.",
    "goal_area": "grow",
    "lead_actor": "sundsvall",
    "priorities": ["smart_specialisation"],
    "partner_actors": ["kramfors"],
    "principles": ["try_and_learn"],
    "arena": 3,
    "indicators": [{"name": "Produktioner", "unit": "antal", "baseline": 0, "target": 12}],
}
REGION_YEAR = 300
NATIONAL = 60_000
YEARS = tuple(range(2017, 2027))
STATUSES: tuple[ProgressStatus, ...] = ("on_track", "on_track", "on_track", "at_risk", "off_track")
WORDS = (
    "samverkan",
    "kompetens",
    "landsbygd",
    "innovation",
    "besöksnäring",
    "logistik",
    "utbildning",
    "digitalisering",
    "omställning",
    "finansiering",
    "jämställdhet",
    "energi",
)


def _meeting_after(strategy: Strategy, council: str, day: date) -> date:
    for year in (day.year, day.year + 1):
        for meeting in strategy.meetings(year, council):
            if meeting.date > day:
                return meeting.date
    raise AssertionError("the annual cycle has meetings every year")


def build_initiative(strategy: Strategy, rng: random.Random, index: int) -> Initiative:
    """One initiative with its whole history (pending events), shaped by `rng`."""
    actors = [a.id for a in strategy.actors]
    lead = actors[index % len(actors)]
    goal = strategy.goal_areas[index % len(strategy.goal_areas)].id
    coordinator = ActorRef(f"coord-{lead}", lead, "coordinator")
    year = YEARS[index % len(YEARS)]
    words = rng.sample(WORDS, 3)
    content = {
        **CONTENT,
        "title": f"Insats {index}: {' och '.join(words[:2])}",
        "summary": f"Gemensam insats för {words[0]}, {words[1]} och {words[2]} i länet.",
        "goal_area": goal,
        "lead_actor": lead,
        "partner_actors": [a for a in ("region_vasternorrland", "lansstyrelsen") if a != lead],
        "priorities": [p.id for p in strategy.priorities if p.goal_area == goal][:2],
    }
    day = date(year, 1, 10) + timedelta(days=rng.randrange(200))

    def on(actor: ActorRef, when: date) -> Context:
        return Context(actor=actor, day=when, strategy=strategy, calendar=strategy)

    initiative = Initiative.propose(on(coordinator, day), Propose(**content))
    for revision in range(rng.randrange(3)):
        changes = {"summary": f"{content['summary']} ({revision})"}
        initiative.revise(on(coordinator, day), Revise(changes=changes))
    initiative.submit(on(coordinator, day), Submit())
    prepared = day + timedelta(days=rng.randrange(5, 40))
    memo = "Beredd i Strategiska RUS-gruppen."
    initiative.record_preparation(
        on(PREPARER, prepared), RecordPreparation(memo=memo, recommendation="approve")
    )
    meeting = _meeting_after(strategy, "rsr", prepared)
    initiative.schedule(on(PREPARER, prepared), Schedule(council="rsr", meeting_date=meeting))
    fate = rng.random()
    if fate < 0.05:
        initiative.reject(on(SECRETARY, meeting), Reject(reason="Ryms inte i prioriteringarna."))
        return initiative
    if fate < 0.10:
        initiative.withdraw(on(coordinator, meeting), Withdraw(reason="Finansieringen föll bort."))
        return initiative
    if fate < 0.20:
        later = _meeting_after(strategy, "rsr", meeting)
        deferral = Defer(reason="Underlaget kompletteras.", meeting_date=later)
        initiative.defer(on(SECRETARY, meeting), deferral)
        meeting = later
    decision = Approve(decision_text="Rådet ställer sig bakom insatsen.")
    initiative.approve(on(SECRETARY, meeting), decision)
    period = strategy.period_of(meeting)
    for number in range(rng.randint(9, 33)):
        report = ReportProgress(
            period=period.id,
            status=rng.choice(STATUSES),
            narrative=f"Lägesrapport {number + 1}.",
            indicator_values={"Produktioner": number},
            lessons=[],
        )
        initiative.report_progress(on(coordinator, period.due), report)
        period = strategy.period_of(period.end + timedelta(days=1))
    if rng.random() < 0.3:
        closing = Close(
            final_report="Slutrapport: målen är nådda.", lessons=["Förankra tidigt i kommunerna."]
        )
        initiative.close(on(coordinator, period.start), closing)
    return initiative


def stored_events(
    strategy: Strategy, mapper: Mapper[Any], count: int, seed: int, first: int = 0
) -> Iterator[StoredEvent]:
    """The stored events of initiatives `first`..`first + count - 1` of the data set `seed`."""
    for index in range(first, first + count):
        rng = random.Random(f"{seed}:{index}")
        for domain_event in build_initiative(strategy, rng, index).collect_events():
            yield mapper.to_stored_event(domain_event)


def plain_mapper() -> Mapper[Any]:
    """The mapper an application without cipher or compression uses (no store needed)."""
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


def load(
    app: RusApp,
    count: int,
    seed: int = 1,
    batch: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Bulk-load `count` generated initiatives into app's store; returns the number of events."""
    mapper = app.mapper
    total = 0
    for first in range(0, count, batch):
        rows = list(stored_events(app.strategy, mapper, min(batch, count - first), seed, first))
        _insert(app, rows)
        total += len(rows)
        if progress:
            progress(first + min(batch, count - first), total)
    return total


def _insert(app: RusApp, rows: list[StoredEvent]) -> None:
    settings = app.settings
    if settings.backend == "sqlite":
        import sqlite3

        with sqlite3.connect(settings.sqlite_path()) as lite:
            lite.executemany(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state)"
                " VALUES (?, ?, ?, ?)",
                [
                    (str(r.originator_id).replace("-", ""), r.originator_version, r.topic, r.state)
                    for r in rows
                ],
            )
        return
    schema = settings.postgres_params()["schema"] or "public"
    table = sql.Identifier(schema, "ruswf_events")
    with (
        psycopg.connect(settings.postgres_conninfo()) as conn,
        conn.cursor() as cursor,
        cursor.copy(
            sql.SQL("COPY {} (originator_id, originator_version, topic, state) FROM STDIN").format(
                table
            )
        ) as copy,
    ):
        for r in rows:
            copy.write_row((r.originator_id, r.originator_version, r.topic, r.state))


def main() -> None:
    """`python -m bench.datagen [COUNT]`: time the generator alone."""
    import sys

    from ruswf.app.strategy_loader import load_strategy

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    strategy = load_strategy()
    started = time.perf_counter()
    events = sum(1 for _ in stored_events(strategy, plain_mapper(), count, seed=1))
    elapsed = time.perf_counter() - started
    print(
        f"{count} initiatives, {events} events in {elapsed:.1f} s ({events / elapsed:.0f} events/s)"
    )


if __name__ == "__main__":
    main()
