"""Benchmark plumbing: scratch stores, timing, and the BENCH result lines.

Every benchmark measures ruswf and its baseline in the same run and reports the ratio,
because these machines are noisy; absolute figures are printed for context only.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import structlog
from psycopg import sql

PG_URL = os.environ.get(
    "RUSWF_BENCH_DATABASE_URL",
    os.environ.get("RUSWF_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
RESULTS = Path(__file__).with_name("results.json")


def quiet_logs() -> None:
    """Benchmarks measure work, not logging: warnings and errors only."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


@contextmanager
def scratch_store(kind: str) -> Iterator[str]:
    """A fresh, empty store's database URL (a PostgreSQL schema or a SQLite file)."""
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="ruswf-bench-"))
        try:
            yield f"sqlite:///{directory / 'bench.db'}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    schema = f"bench_{uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def rate(count: int, work: Callable[[], None]) -> float:
    """Operations per second of `work`, which performs `count` operations."""
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Result:
    name: str
    ruswf: float
    baseline: float
    ratio: float
    target: str
    ok: bool
    unit: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"BENCH name={self.name} ruswf={self.ruswf:.4g} baseline={self.baseline:.4g} "
            f"ratio={self.ratio:.3g} target={self.target} ok={'yes' if self.ok else 'no'}"
        )


class Report:
    """Collects results, prints each BENCH line as it comes, writes results.json."""

    def __init__(self, size: str) -> None:
        self.size = size
        self.results: list[Result] = []

    def add(self, result: Result) -> Result:
        self.results.append(result)
        detail = f"  ({result.unit}; {json.dumps(result.notes, ensure_ascii=False)})"
        print(result.line() + detail, flush=True)
        return result

    def write(self) -> None:
        RESULTS.write_text(
            json.dumps(
                {
                    "size": self.size,
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": {
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                        "platform": platform.platform(),
                    },
                    "results": [asdict(r) for r in self.results],
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )


def at_least(name: str, ruswf: float, baseline: float, target: float, **extra: Any) -> Result:
    """A result whose ratio ruswf/baseline must be at least `target`."""
    ratio = ruswf / baseline if baseline else float("inf")
    return Result(name, ruswf, baseline, ratio, f">={target:g}", ratio >= target, **extra)


def at_most(name: str, ruswf: float, baseline: float, target: float, **extra: Any) -> Result:
    """A result whose ratio ruswf/baseline must be at most `target`."""
    ratio = ruswf / baseline if baseline else float("inf")
    return Result(name, ruswf, baseline, ratio, f"<={target:g}", ratio <= target, **extra)
