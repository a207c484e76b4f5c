"""`http_shape[...]`: HTTP commands through each deployment shape (docs/deployment.md), in
one run, on one store, against the same two baselines:

- in-process commands (one client, this process: `http_command`'s baseline), target ≥ 0.5;
- raw psycopg SELECT + INSERT per transaction with 8 threads (8 connections), the issue's
  baseline for 8 concurrent clients, target ≥ 0.25.

Each shape is measured `ROUNDS` times in turn with both baselines (medians), so a slow
moment of the machine falls on all three. The server side's CPU time (the `ruswf serve`
process tree and any `ruswf projections run` worker, from /proc; PostgreSQL excluded) per
command gives commands per second per core.
"""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
from psycopg import sql

from bench.harness import Report, at_least, rate, scratch_store

SHAPES: dict[str, tuple[tuple[str, ...], int]] = {
    "one_process": ((), 0),
    "no_projections+worker": (("--no-projections",), 1),
    "workers_2": (("--workers", "2"), 0),
    "workers_2_no_projections+worker": (("--workers", "2", "--no-projections"), 1),
}
"""Shape name → (`ruswf serve` options, `ruswf projections run` workers beside it)."""
FLOOR = "floor_fastapi_psycopg_workers_2"
"""`bench/floor_app.py`: the fixed stack's least cost for a command, no ruswf code."""
ROUNDS = 3
CLIENTS = 8
_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(roots: Sequence[int]) -> float:
    """User + system CPU seconds of the processes `roots` and all their descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    wanted = set(roots)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in wanted} - wanted
        grew = bool(more)
        wanted |= more
    return sum(times.get(pid, 0.0) for pid in wanted)


def _scratch(url: str) -> tuple[str, str]:
    """The scratch store's connection string and schema."""
    from bench.run import settings_for

    settings = settings_for(url)
    return settings.postgres_conninfo(), settings.postgres_params()["schema"] or "public"


def events_table(url: str, name: str) -> tuple[str, sql.Identifier]:
    """A table shaped like the event store's, in the scratch store's schema: the
    connection string and the table's name."""
    conninfo, schema = _scratch(url)
    table = sql.Identifier(schema, name)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (originator_id uuid, originator_version bigint, topic text,"
                " state bytea, notification_id bigserial,"
                " PRIMARY KEY (originator_id, originator_version))"
            ).format(table)
        )
    return conninfo, table


@contextmanager
def raw_postgres_threads(url: str, threads: int = CLIENTS) -> Iterator[Callable[[int], float]]:
    """Raw psycopg with `threads` threads, each on its own connection and aggregates: per
    command, in one transaction, SELECT the aggregate's new rows and INSERT one."""
    conninfo, table = events_table(url, "raw_events_threads")
    select = sql.SQL(
        "SELECT originator_version, state FROM {}"
        " WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version"
    ).format(table)
    insert = sql.SQL(
        "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
    ).format(table)
    payload = b'{"changes":{"summary":"x"},"actor":{"user":"u","organisation":"o","role":"r"}}'
    connections = [psycopg.connect(conninfo) for _ in range(threads)]
    aggregates = [[uuid4() for _ in range(4)] for _ in range(threads)]
    versions = {uuid: 0 for mine in aggregates for uuid in mine}

    def one_thread(n: int, count: int) -> None:
        conn = connections[n]
        for k in range(count):
            uuid = aggregates[n][k % 4]
            with conn.transaction():
                conn.execute(select, (uuid, versions[uuid]), prepare=True).fetchall()
                versions[uuid] += 1
                conn.execute(insert, (uuid, versions[uuid], "bench:Revised", payload), prepare=True)

    def work(count: int) -> None:
        per = max(count // threads, 1)
        running = [threading.Thread(target=one_thread, args=(n, per)) for n in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()

    try:
        work(threads * 5)
        yield lambda count: rate(max(count // threads, 1) * threads, lambda: work(count))
    finally:
        for conn in connections:
            conn.close()


@contextmanager
def shape(url: str, options: Sequence[str], workers: int) -> Iterator[tuple[str, list[int]]]:
    """A deployment shape on `url`: the server's base URL and the pids to count CPU of."""
    from bench.run import RUSWF, serving

    env = {
        **os.environ,
        "RUSWF_DATABASE_URL": url,
        "RUSWF_LOG_LEVEL": "warning",
        "RUSWF_LOG_FORMAT": "json",
    }
    with ExitStack() as stack:
        processes = [
            subprocess.Popen(
                [RUSWF, "projections", "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        for process in processes:
            stack.callback(_stop, process)
        base, server = stack.enter_context(serving(url, *options))
        yield base, [server.pid, *(p.pid for p in processes)]


@contextmanager
def floor(url: str, workers: int = 2) -> Iterator[tuple[str, list[int]]]:
    """`bench/floor_app.py` under uvicorn with `workers` processes on `url`'s schema: the
    base URL and the pid to count CPU of (uvicorn's supervisor and its workers)."""
    from tests.servers import free_port

    conninfo, schema = _scratch(url)
    events_table(url, "floor_events")
    port = free_port()
    env = {
        **os.environ,
        "BENCH_FLOOR_CONNINFO": conninfo,
        "BENCH_FLOOR_TABLE": f"{schema}.floor_events",
    }
    command = [sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    process = subprocess.Popen(
        command, env=env, cwd=Path(__file__).parent.parent, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/api/v1/initiatives/ready/actions/revise"):
            if process.poll() is not None or time.monotonic() > deadline:
                msg = f"the floor app did not start (exit code {process.returncode})"
                raise RuntimeError(msg)
            time.sleep(0.2)
        yield base, [process.pid]
    finally:
        _stop(process)


def _answers(url: str) -> bool:
    try:
        answer = httpx.post(url, json={}, headers={"Authorization": "Bearer ready"}, timeout=2)
    except httpx.TransportError:
        return False
    return answer.status_code == 200


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def bench_http_shapes(report: Report, size: object) -> None:
    """One `http_shape[<shape>]` line per deployment shape (see the module docstring)."""
    from bench.run import _http_load, in_process, open_app, proposals
    from ruswf.app.store.tokens import TokenStore

    commands = int(getattr(size, "commands", 300))
    with (
        scratch_store("postgres") as url,
        in_process(url) as ours,
        raw_postgres_threads(url) as raw8,
    ):
        app = open_app(url)
        initiatives = proposals(app, 100)
        tokens = TokenStore(app.settings, app.strategy)
        _, token = tokens.create("bench-coordinator", "coordinator", "sundsvall")
        tokens.close()
        app.close()
        deployments: list[tuple[str, Callable[[], Any], dict[str, Any]]] = [
            (
                name,
                functools.partial(shape, url, options, workers),
                {"serve": " ".join(["ruswf serve", *options]), "projection_workers": workers},
            )
            for name, (options, workers) in SHAPES.items()
        ]
        deployments.append(
            (FLOOR, functools.partial(floor, url), {"serve": "bench/floor_app.py, no ruswf"})
        )
        for name, deployment, described in deployments:
            with deployment() as (base, pids):
                asyncio.run(_http_load(base, token, initiatives, 40, 4))
                time.sleep(1.0)  # the followers catch up with the warm-up first
                http: list[float] = []
                inproc: list[float] = []
                raw: list[float] = []
                cpu: list[float] = []
                for _ in range(ROUNDS):
                    before = tree_cpu_seconds(pids)
                    started = time.perf_counter()
                    measured = asyncio.run(_http_load(base, token, initiatives, commands, CLIENTS))
                    done = commands // CLIENTS * CLIENTS
                    # The followers' share: they apply the round's events just after it.
                    time.sleep(min(0.5, time.perf_counter() - started))
                    cpu.append((tree_cpu_seconds(pids) - before) / done)
                    http.append(measured)
                    inproc.append(ours(commands))
                    raw.append(raw8(commands))
            over_http = statistics.median(http)
            cpu_ms = statistics.median(cpu) * 1000
            raw_rate = statistics.median(raw)
            report.add(
                at_least(
                    f"http_shape[{name}]",
                    over_http,
                    statistics.median(inproc),
                    0.5,
                    unit=f"commands/s over HTTP ({CLIENTS} in flight) vs in-process",
                    notes={
                        **described,
                        "raw_psycopg_8_threads": round(raw_rate, 1),
                        "ratio_vs_raw_8_threads": round(over_http / raw_rate, 3),
                        "target_vs_raw_8_threads": ">=0.25",
                        "server_cpu_ms_per_command": round(cpu_ms, 3),
                        "commands_per_core_second": round(1000 / cpu_ms, 1) if cpu_ms else None,
                    },
                )
            )
