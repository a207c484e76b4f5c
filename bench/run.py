"""ruswf's benchmarks, each against its baseline in the same run.

    python -m bench.run --size smoke|quick|full [--only NAME ...]

`smoke` is what CI runs (tiny sizes, so the benchmarks cannot rot), `quick` takes under
a minute, `full` builds the national ten-year volume (~1.5 M events) and takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import multiprocessing
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import httpx
import psycopg
from psycopg import sql

import tests.servers
from bench import datagen, loadgen
from bench.harness import (
    Report,
    Result,
    at_least,
    at_most,
    percentile,
    quiet_logs,
    rate,
    scratch_store,
)
from bench.shapes import bench_http_shapes
from bench.webhooks import bench_webhook_lag
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.locks import current_leaders
from ruswf.app.store.sql import SqlStore
from ruswf.app.store.tokens import TokenStore
from ruswf.app.strategy_loader import load_strategy
from ruswf.domain.commands import ActorRef, Propose, Revise


@dataclass(frozen=True)
class Size:
    commands: int  # commands per measured run
    region: int  # initiatives in the region-year data set
    national: int  # initiatives in the big data set
    seconds: float  # duration of timed load phases
    replay_events: int  # events of the long-history initiative


SIZES = {
    "smoke": Size(commands=40, region=30, national=200, seconds=1.0, replay_events=120),
    "quick": Size(commands=300, region=300, national=1_000, seconds=3.0, replay_events=1_000),
    "full": Size(
        commands=2_000, region=300, national=datagen.NATIONAL, seconds=15.0, replay_events=1_000
    ),
}
RUSWF = str(Path(sys.executable).with_name("ruswf"))


def settings_for(url: str, **overrides: Any) -> Settings:
    return Settings(database_url=url, log_format="json", log_level="warning", **overrides)


def open_app(url: str, **overrides: Any) -> RusApp:
    return RusApp(load_strategy(), settings_for(url, **overrides))


def proposals(app: RusApp, count: int) -> list[str]:
    return [app.propose(Propose(**datagen.CONTENT), datagen.COORDINATOR).id for _ in range(count)]


def revise_round_robin(
    app: RusApp, initiatives: list[str], count: int, tag: str = ""
) -> Callable[[], None]:
    """`count` revise commands over `initiatives` (each loads, checks and saves one event)."""

    def work() -> None:
        for k in range(count):
            app.execute(
                initiatives[k % len(initiatives)],
                Revise(changes={"summary": f"{tag}{k}"}),
                datagen.COORDINATOR,
            )

    return work


Measure = Callable[[int], float]
"""Runs `count` commands on a warmed-up set-up and returns the rate (per second)."""
ROUNDS = 3


def alternate(ours: Callable[[], float], baseline: Callable[[], float]) -> tuple[float, float]:
    """The medians of `ROUNDS` measurements of each, taken in turn: the machine's slow
    moments fall on both sides instead of on whichever ran during them."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):
        mine.append(ours())
        theirs.append(baseline())
    return statistics.median(mine), statistics.median(theirs)


@contextmanager
def in_process(url: str) -> Iterator[Measure]:
    """ruswf's commands in this process: load the initiative, check, save one event."""
    app = open_app(url)
    try:
        initiatives = proposals(app, 20)
        revise_round_robin(app, initiatives, 40, "warm")()
        yield lambda count: rate(count, revise_round_robin(app, initiatives, count))
    finally:
        app.close()


@contextmanager
def raw_postgres(url: str) -> Iterator[Measure]:
    """Raw psycopg: per command, in one transaction, SELECT the aggregate's new rows and
    INSERT one."""
    settings = settings_for(url)
    schema = settings.postgres_params()["schema"] or "public"
    table = sql.Identifier(schema, "raw_events")
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (originator_id uuid, originator_version bigint, topic text,"
                " state bytea, notification_id bigserial,"
                " PRIMARY KEY (originator_id, originator_version))"
            ).format(table)
        )
    payload = (
        b'{"changes":{"summary":"x"},"comment":"",'
        b'"actor":{"user":"u","organisation":"o","role":"r"}}'
    )
    uuids = [uuid5(NAMESPACE_URL, f"{datagen.COORDINATOR.user}{i}") for i in range(20)]
    versions = dict.fromkeys(uuids, 0)
    select = sql.SQL(
        "SELECT originator_version, state FROM {}"
        " WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version"
    ).format(table)
    insert = sql.SQL(
        "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
    ).format(table)
    with psycopg.connect(settings.postgres_conninfo()) as conn:

        def work(count: int) -> None:
            for k in range(count):
                uuid = uuids[k % len(uuids)]
                with conn.transaction():
                    conn.execute(select, (uuid, versions[uuid]), prepare=True).fetchall()
                    versions[uuid] += 1
                    conn.execute(
                        insert, (uuid, versions[uuid], "bench:Revised", payload), prepare=True
                    )

        work(40)
        yield lambda count: rate(count, lambda: work(count))


@contextmanager
def raw_sqlite(url: str) -> Iterator[Measure]:
    """Raw sqlite3 in WAL mode (as the store): per command, in one transaction, SELECT the
    aggregate's new rows and INSERT one."""
    import sqlite3

    path = settings_for(url).sqlite_path().with_name("raw.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE raw (originator_id TEXT, originator_version INTEGER, topic TEXT,"
        " state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    versions = [0] * 20

    def work(count: int) -> None:
        for k in range(count):
            key = k % 20
            conn.execute("BEGIN")
            conn.execute(
                "SELECT state FROM raw WHERE originator_id = ? AND originator_version > ?",
                (str(key), versions[key]),
            ).fetchall()
            versions[key] += 1
            conn.execute(
                "INSERT INTO raw VALUES (?, ?, ?, ?)", (str(key), versions[key], "t", b"x" * 120)
            )
            conn.execute("COMMIT")

    try:
        work(40)
        yield lambda count: rate(count, lambda: work(count))
    finally:
        conn.close()


def bench_command(report: Report, size: Size) -> None:
    with (
        scratch_store("postgres") as url,
        in_process(url) as ours,
        raw_postgres(url) as raw,
    ):
        measured, baseline = alternate(lambda: ours(size.commands), lambda: raw(size.commands))
    report.add(
        at_least("command", measured, baseline, 0.5, unit="commands/s, PostgreSQL, one client")
    )


def bench_command_sqlite(report: Report, size: Size) -> None:
    """The embedded default: the same commands on a SQLite file vs raw sqlite3 SELECT + INSERT."""
    with scratch_store("sqlite") as url, in_process(url) as ours, raw_sqlite(url) as raw:
        measured, baseline = alternate(lambda: ours(size.commands), lambda: raw(size.commands))
    report.add(
        at_least(
            "command_sqlite", measured, baseline, 0.5, unit="commands/s, SQLite file, one client"
        )
    )


def _client_process(url: str, count: int, ready: Any, go: Any, done: Any) -> None:
    quiet_logs()
    app = open_app(url)
    initiatives = proposals(app, 4)
    revise_round_robin(app, initiatives, 10, "warm")()
    ready.release()
    go.wait()
    revise_round_robin(app, initiatives, count)()
    done.put(time.perf_counter())
    app.close()


def concurrent_rate(url: str, clients: int, per_client: int) -> float:
    """Commands/s with `clients` processes, each on its own initiatives."""
    context = multiprocessing.get_context("spawn")
    ready, go, done = context.Semaphore(0), context.Event(), context.Queue()
    processes = [
        context.Process(target=_client_process, args=(url, per_client, ready, go, done))
        for _ in range(clients)
    ]
    for p in processes:
        p.start()
    for _ in processes:
        if not ready.acquire(timeout=120):
            for p in processes:
                p.kill()
            raise RuntimeError("a benchmark client did not start")
    started = time.perf_counter()
    go.set()
    finished: float = max(done.get() for _ in processes)
    for p in processes:
        p.join()
    return clients * per_client / (finished - started)


def bench_command_concurrent(report: Report, size: Size) -> None:
    # Long enough that the 8 processes' start and the last one's finish (the scheduler
    # is not fair over a second) do not dominate: 250 commands each gave 1.06, 500 gave
    # 1.48 on the same machine.
    per_client = max(10, size.commands // 2)
    with scratch_store("postgres") as url:
        eight, one = alternate(
            lambda: concurrent_rate(url, 8, per_client),
            lambda: concurrent_rate(url, 1, per_client * 2),
        )
    report.add(
        at_least(
            "command_concurrent", eight, one, 1.5, unit="commands/s, PostgreSQL, 8 processes vs 1"
        )
    )


@contextmanager
def serving(url: str, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ruswf serve` on the store at `url` (warnings only in its log, which is discarded)."""
    env = {"RUSWF_LOG_LEVEL": "warning"}
    with tests.servers.serving(url, None, *extra, env=env, timeout=120) as server:
        assert server.process is not None
        yield server.url, server.process


async def _http_load(
    base: str, token: str, initiatives: list[str], count: int, concurrency: int
) -> float:
    """Commands/s with `concurrency` requests in flight, each client on its own initiatives
    (so they never conflict with each other)."""
    per_client = count // concurrency

    async def worker(mine: list[str]) -> None:
        async with loadgen.Client(base, token) as client:
            for k in range(per_client):
                status = await client.post(
                    f"/api/v1/initiatives/{mine[k % len(mine)]}/actions/revise",
                    {"summary": f"http {time.perf_counter_ns()}"},
                )
                if status != 200:
                    msg = f"revise answered {status}"
                    raise RuntimeError(msg)

    started = time.perf_counter()
    await asyncio.gather(*(worker(initiatives[w::concurrency]) for w in range(concurrency)))
    return per_client * concurrency / (time.perf_counter() - started)


async def _fixed_load(
    base: str, token: str, initiatives: list[str], per_second: float, seconds: float
) -> list[float]:
    """Open-loop load: a request every 1/per_second s, whatever the answers; latencies in
    ms. Each request takes an idle connection from a pool (opening one when none is)."""
    latencies: list[float] = []
    idle: list[loadgen.Client] = []
    opened: list[loadgen.Client] = []

    async def one(k: int) -> None:
        started = time.perf_counter()
        if idle:
            client = idle.pop()
        else:
            client = await loadgen.Client(base, token).connect()
            opened.append(client)
        status = await client.post(
            f"/api/v1/initiatives/{initiatives[k % len(initiatives)]}/actions/revise",
            {"summary": f"fixed {k}"},
        )
        idle.append(client)
        if status not in (200, 409):  # two requests on one initiative can race
            msg = f"revise answered {status}"
            raise RuntimeError(msg)
        latencies.append((time.perf_counter() - started) * 1000)

    tasks = []
    begin = time.perf_counter()
    for k in range(int(per_second * seconds)):
        delay = begin + k / per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k)))
    await asyncio.gather(*tasks)
    for client in opened:
        await client.close()
    return latencies


def bench_http_command(report: Report, size: Size) -> None:
    """The same commands through a real `ruswf serve` (8 requests in flight) vs in-process,
    in turn; then the latency at a fixed offered load of 100 requests/s."""
    with scratch_store("postgres") as url, in_process(url) as ours:
        app = open_app(url)
        initiatives = proposals(app, 100)
        tokens = TokenStore(app.settings, app.strategy)
        _, token = tokens.create("bench-coordinator", "coordinator", "sundsvall")
        tokens.close()
        app.close()
        # As a PostgreSQL deployment runs: API processes without the embedded projection
        # follower (one `ruswf projections run` worker does that work elsewhere).
        with serving(url, "--no-projections") as (base, _):
            asyncio.run(_http_load(base, token, initiatives, 40, 4))
            over_http, in_process_rate = alternate(
                lambda: asyncio.run(_http_load(base, token, initiatives, size.commands, 8)),
                lambda: ours(size.commands),
            )
            latencies = asyncio.run(_fixed_load(base, token, initiatives, 100, size.seconds))
    report.add(
        at_least(
            "http_command",
            over_http,
            in_process_rate,
            0.5,
            unit="commands/s over HTTP (8 in flight) vs in-process",
            notes={
                "p50_ms_at_100rps": round(percentile(latencies, 50), 2),
                "p99_ms_at_100rps": round(percentile(latencies, 99), 2),
            },
        )
    )


def _median_ms(http: httpx.Client, path: str, count: int) -> float:
    """The median time (ms) of `count` GETs of `path`, each answered 200."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path} answered {answer.status_code}")
    return statistics.median(times)


def bench_ui_pages(report: Report, size: Size, big_url: str, big_events: int) -> None:
    """The web UI's board and an initiative page against the matching API calls (the
    list of the same initiatives, and the initiative), on the national-size store
    (`size.national` initiatives: 60,000 at full size), through one real `ruswf serve`,
    measured in turn in the same run: each page within 2x its API call."""
    app = open_app(big_url)
    try:
        with SqlStore(app).read() as tx:
            row = tx.one(
                "SELECT originator_id FROM {ruswf_events}"
                " WHERE originator_version = ? ORDER BY originator_id LIMIT 1",
                (20,),
            )
        assert row is not None, "the national data set has initiatives with 20 events"
        followed = str(row["originator_id"])
        tokens = TokenStore(app.settings, app.strategy)
        _, token = tokens.create("bench-auditor", "auditor", "lansstyrelsen")
        tokens.close()
    finally:
        app.close()
    count = max(size.commands // 4, 10)
    with (
        serving(big_url) as (base, _),
        httpx.Client(base_url=base, timeout=600) as ui,
        httpx.Client(
            base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"}
        ) as api,
    ):
        if ui.post("/login", data={"token": token}).status_code != 303:
            raise RuntimeError("the UI refused the bench token")
        pairs = {
            "ui_board": ("/initiatives", "/api/v1/initiatives?limit=500"),
            "ui_initiative": (f"/initiatives/{followed}", f"/api/v1/initiatives/{followed}"),
        }
        for name, (page, call) in pairs.items():
            _median_ms(ui, page, 3)  # warm both (the first request catches the views up)
            _median_ms(api, call, 3)
            page_ms, api_ms = alternate(
                functools.partial(_median_ms, ui, page, count),
                functools.partial(_median_ms, api, call, count),
            )
            report.add(
                at_most(
                    name,
                    page_ms,
                    api_ms,
                    2.0,
                    unit=f"median ms per page vs its API call ({size.national} initiatives)",
                    notes={"page": page, "api": call, "events": big_events},
                )
            )


def app_actor(user: str, role: str, organisation: str) -> ActorRef:
    return ActorRef(user, organisation, role)


def command_latency(app: RusApp, initiatives: list[str], count: int) -> float:
    """Median latency (ms) of revise commands on existing initiatives."""
    samples = []
    tag = time.perf_counter_ns()
    for k in range(count):
        started = time.perf_counter()
        app.execute(
            initiatives[k % len(initiatives)],
            Revise(changes={"summary": f"lat {tag} {k}"}),
            datagen.COORDINATOR,
        )
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_history_growth(report: Report, size: Size, big_url: str, big_events: int) -> None:
    with scratch_store("postgres") as small_url:
        small = open_app(small_url)
        datagen.load(small, 400, seed=2)
        small_ids = proposals(small, 20)
        command_latency(small, small_ids, 40)
        big = open_app(big_url)
        big_ids = proposals(big, 20)
        command_latency(big, big_ids, 40)
        small_ms, big_ms = [], []
        for _ in range(3):  # interleave, so drift hits both
            small_ms.append(command_latency(small, small_ids, size.commands // 3))
            big_ms.append(command_latency(big, big_ids, size.commands // 3))
        small_events = small.recorder.max_notification_id() or 0
        small.close()
        big.close()
    report.add(
        at_most(
            "history_growth",
            statistics.median(big_ms),
            statistics.median(small_ms),
            1.2,
            unit="median command latency ms, big store vs small store",
            notes={"big_store_events": big_events, "small_store_events": small_events},
        )
    )


def bench_replay(report: Report, size: Size) -> None:
    with scratch_store("postgres") as url:
        app = open_app(url)
        initiative = app.propose(Propose(**datagen.CONTENT), datagen.COORDINATOR).id
        moments = []
        for k in range(size.replay_events - 1):
            app.execute(initiative, Revise(changes={"summary": f"v{k}"}), datagen.COORDINATOR)
            if k % 7 == 0:
                moments.append(datetime.now(UTC))
        rng = random.Random(7)
        samples = [rng.choice(moments) for _ in range(200)]
        for moment in samples[:10]:
            app.get_initiative(initiative, as_of=moment)
        started = time.perf_counter()
        for moment in samples:
            app.get_initiative(initiative, as_of=moment)
        ours = (time.perf_counter() - started) / len(samples) * 1000
        schema = app.settings.postgres_params()["schema"]
        query = sql.SQL(
            "SELECT originator_version, state FROM {}"
            " WHERE originator_id = %s ORDER BY originator_version"
        ).format(sql.Identifier(schema, "ruswf_events"))
        with psycopg.connect(app.settings.postgres_conninfo()) as conn:
            for _ in range(10):
                conn.execute(query, (initiative,), prepare=True).fetchall()
            started = time.perf_counter()
            for _ in samples:
                conn.execute(query, (initiative,), prepare=True).fetchall()
            raw = (time.perf_counter() - started) / len(samples) * 1000
        app.close()
    report.add(
        at_most(
            "replay",
            ours,
            raw,
            2.0,
            unit=f"ms per as_of read of a {size.replay_events}-event initiative"
            " vs raw SELECT of its rows",
        )
    )


def copy_seconds(conninfo: str, schema: str, table: str, columns: str | None = None) -> float:
    """Seconds to COPY every row of `table` into a new table like it (with its indexes),
    streaming from one connection to another; the copy is dropped afterwards."""
    source = sql.Identifier(schema, table)
    target = sql.Identifier(schema, f"copy_of_{table}")
    column_list = sql.SQL(columns or "*")
    with psycopg.connect(conninfo) as reader, psycopg.connect(conninfo) as writer:
        writer.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING INDEXES)").format(
                target, source
            )
        )
        writer.commit()
        started = time.perf_counter()
        into = sql.SQL("") if columns is None else sql.SQL(f"({columns})")
        with (
            reader.cursor().copy(
                sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(column_list, source)
            ) as copy_out,
            writer.cursor().copy(sql.SQL("COPY {} {} FROM STDIN").format(target, into)) as copy_in,
        ):
            for chunk in copy_out:
                copy_in.write(chunk)
        writer.commit()
        elapsed = time.perf_counter() - started
        writer.execute(sql.SQL("DROP TABLE {}").format(target))
        writer.commit()
    return elapsed


def bench_rebuild(report: Report, size: Size, big_url: str, big_events: int) -> None:
    """All projections rebuilt vs raw COPY of the events. Also measured: the rows the
    projections hold afterwards and the time raw COPY takes to write just those (with
    their indexes), the floor for any rebuild that writes them."""
    from projections import Projections

    app = open_app(big_url)
    views = Projections(app)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    views.rebuild()
    ours = time.perf_counter() - started
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tables = [table for model in views.models.values() for table in model.view.spec.tables]
    views.close()
    schema = app.settings.postgres_params()["schema"]
    conninfo = app.settings.postgres_conninfo()
    app.close()
    raw = copy_seconds(
        conninfo, schema, "ruswf_events", "originator_id, originator_version, topic, state"
    )
    rows = 0
    outputs = 0.0
    with psycopg.connect(conninfo) as conn:
        for table in tables:
            counted = conn.execute(
                sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(schema, table))
            ).fetchone()
            rows += int(counted[0]) if counted else 0
    for table in tables:
        outputs += copy_seconds(conninfo, schema, table)
    report.add(
        at_least(
            "rebuild",
            big_events / ours,
            big_events / raw,
            0.3,
            unit="events/s: rebuild of all projections vs raw COPY of the same rows",
            notes={
                "events": big_events,
                "rebuild_s": round(ours, 1),
                "copy_s": round(raw, 1),
                "projection_rows": rows,
                "copy_projection_rows_s": round(outputs, 1),
                "peak_rss_growth_mb": round((peak_after - peak_before) / 1024, 1),
            },
        )
    )


def recompute_counts(app: RusApp, year: int) -> dict[tuple[str, str], tuple[int, int]]:
    """(goal area, period) -> (proposals, approvals) of `year`, straight from the raw events."""
    from ruswf.domain.initiative import Initiative

    goal_of: dict[Any, str] = {}
    proposals_: dict[tuple[str, str], int] = {}
    approvals: dict[tuple[str, str], int] = {}
    start = 1
    while True:
        page = app.recorder.select_notifications(start, 5000)
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            if isinstance(event, Initiative.Proposed):
                goal_of[event.originator_id] = event.content["goal_area"]
                key = (
                    event.content["goal_area"],
                    app.strategy.period_of(datetime.fromisoformat(event.effective_date).date()).id,
                )
                proposals_[key] = proposals_.get(key, 0) + 1
            elif isinstance(event, Initiative.Revised) and "goal_area" in event.changes:
                goal_of[event.originator_id] = event.changes["goal_area"]
            elif isinstance(event, Initiative.Approved):
                key = (goal_of[event.originator_id], event.period)
                approvals[key] = approvals.get(key, 0) + 1
        if len(page) < 5000:
            break
        start = page[-1].id + 1
    keys = {k for k in (*proposals_, *approvals) if k[1].startswith(f"{year}-")}
    return {k: (proposals_.get(k, 0), approvals.get(k, 0)) for k in keys}


def bench_report(report: Report, size: Size, big_url: str, big_events: int) -> None:
    """The annual-cycle report from projections vs recomputed from the raw events."""
    from projections import Projections

    app = open_app(big_url)
    views = Projections(app)
    views.catch_up()
    year = 2024
    views.annual_cycle(year, today=app.today())
    started = time.perf_counter()
    for _ in range(5):
        from_views = views.annual_cycle(year, today=app.today())
    ours = (time.perf_counter() - started) / 5
    started = time.perf_counter()
    recomputed = recompute_counts(app, year)
    raw = time.perf_counter() - started
    views.close()
    app.close()
    # Proposals are dated by their business date; the projection counts them by the
    # initiative's current goal area, as the recomputation does.
    same = all(
        recomputed.get((row["goal_area"], row["period"]), (0, 0))
        == (row["proposals"], row["approved"])
        for row in from_views["rows"]
    )
    report.add(
        at_least(
            "report",
            raw,
            ours,
            100,
            unit="s recompute-from-events / s from-projections",
            notes={
                "projection_ms": round(ours * 1000, 2),
                "recompute_s": round(raw, 2),
                "counts_agree": same,
            },
        )
    )


def bench_lag(report: Report, size: Size) -> None:
    """Worker mode: p99 from commit to visible in the board, under 200 commands/s."""
    from projections import Projections

    with scratch_store("postgres") as url:
        app = open_app(url)
        Projections(app).close()  # create the tables
        initiatives = proposals(app, 50)
        stop = threading.Event()
        worker = multiprocessing.get_context("spawn").Process(target=_worker_process, args=(url,))
        worker.start()
        # Measure from when the worker leads the projections (its start takes seconds on
        # a loaded machine), not after a fixed pause.
        deadline = time.monotonic() + 60
        while current_leaders(app.settings, ["projections"])["projections"] is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the projection worker did not start leading")
            time.sleep(0.05)
        schema = app.settings.postgres_params()["schema"]
        query = sql.SQL("SELECT version FROM {} WHERE initiative_id = %s").format(
            sql.Identifier(schema, "proj_board")
        )
        lags: list[float] = []
        pending: list[tuple[str, int, float]] = []
        lock = threading.Lock()

        def watch() -> None:
            with psycopg.connect(app.settings.postgres_conninfo(), autocommit=True) as conn:
                while not stop.is_set() or pending:
                    with lock:
                        waiting = list(pending)
                    for item in waiting:
                        row = conn.execute(query, (item[0],)).fetchone()
                        if row and row[0] >= item[1]:
                            with lock:
                                pending.remove(item)
                            lags.append((time.perf_counter() - item[2]) * 1000)
                    time.sleep(0.005)

        watcher = threading.Thread(target=watch)
        watcher.start()
        interval = 1 / 200
        begin = time.perf_counter()
        for k in range(int(200 * size.seconds)):
            delay = begin + k * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            view = app.execute(
                initiatives[k % len(initiatives)],
                Revise(changes={"summary": f"lag {k}"}),
                datagen.COORDINATOR,
            )
            with lock:
                pending.append((view.id, view.version, time.perf_counter()))
        achieved = int(200 * size.seconds) / (time.perf_counter() - begin)
        stop.set()
        watcher.join(timeout=30)
        worker.terminate()
        worker.join()
        app.close()
    p99 = percentile(lags, 99)
    report.add(
        Result(
            "lag",
            p99,
            250.0,
            p99 / 250.0,
            "<=1 (p99 <= 250 ms)",
            p99 <= 250.0,
            unit="p99 ms commit-to-board, worker mode, PostgreSQL",
            notes={
                "p50_ms": round(percentile(lags, 50), 1),
                "commands_per_s": round(achieved, 1),
                "samples": len(lags),
            },
        )
    )


def _worker_process(url: str) -> None:
    from projections import run_worker

    quiet_logs()
    app = open_app(url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_worker(app, stop)
    app.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_memory(report: Report, size: Size, big_url: str, big_events: int) -> None:
    app = open_app(big_url)
    tokens = TokenStore(app.settings, app.strategy)
    _, token = tokens.create("bench-reporter", "auditor", "lansstyrelsen")
    tokens.close()
    sample = [str(i) for i in _some_ids(app, 200)]
    app.close()
    with serving(big_url) as (base, process):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            for offset in range(0, 2000, 100):
                client.get(
                    "/api/v1/initiatives", params={"limit": 100, "offset": offset}
                ).raise_for_status()
            for initiative in sample:
                client.get(f"/api/v1/initiatives/{initiative}").raise_for_status()
                client.get(f"/api/v1/initiatives/{initiative}/history").raise_for_status()
            for year in (2022, 2023, 2024):
                client.get("/api/v1/reports/annual-cycle", params={"year": year}).raise_for_status()
        rss = rss_mb(process.pid)
    report.add(
        Result(
            "memory",
            rss,
            150.0,
            rss / 150.0,
            "<=1 (RSS <= 150 MB)",
            rss <= 150.0,
            unit="MB RSS of ruswf serve after serving the big data set",
            notes={"events": big_events},
        )
    )


def _some_ids(app: RusApp, count: int) -> list[Any]:
    notifications = app.recorder.select_notifications(1, count * 30)
    seen: list[Any] = []
    for n in notifications:
        if n.originator_version == 1 and n.originator_id not in seen:
            seen.append(n.originator_id)
    return seen[:count]


BENCHMARKS: dict[str, Callable[..., None]] = {
    "command": bench_command,
    "command_sqlite": bench_command_sqlite,
    "command_concurrent": bench_command_concurrent,
    "http_command": bench_http_command,
    "http_shapes": bench_http_shapes,
    "replay": bench_replay,
    "lag": bench_lag,
    "webhook_lag": bench_webhook_lag,
}
BIG_STORE_BENCHMARKS: dict[str, Callable[..., None]] = {
    "history_growth": bench_history_growth,
    "rebuild": bench_rebuild,
    "report": bench_report,
    "ui_pages": bench_ui_pages,
    "memory": bench_memory,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument("--only", nargs="*", default=None, help="names of benchmarks to run")
    args = parser.parse_args()
    size = SIZES[args.size]
    chosen = set(args.only or [*BENCHMARKS, *BIG_STORE_BENCHMARKS])
    quiet_logs()
    report = Report(args.size)
    print(
        f"# ruswf benchmarks, size {args.size}, {os.cpu_count()} cores,"
        f" {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        flush=True,
    )
    for name, bench in BENCHMARKS.items():
        if name in chosen:
            bench(report, size)
    if chosen & set(BIG_STORE_BENCHMARKS):
        with scratch_store("postgres") as big_url:
            app = open_app(big_url)
            started = time.perf_counter()
            events = datagen.load(app, size.national, seed=1)
            app.close()
            print(
                f"# generated {size.national} initiatives, {events} events"
                f" in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            for name, bench in BIG_STORE_BENCHMARKS.items():
                if name in chosen:
                    bench(report, size, big_url, events)
    report.write()
    missed = [r.name for r in report.results if not r.ok]
    print(
        f"# {len(report.results) - len(missed)} of {len(report.results)} targets met"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
