"""`ruswf projections run | rebuild [NAME] | status` and `ruswf report annual`.

Two typer apps for `ruswf.cli` to register (`projections_cli` as "projections",
`report_cli` as "report"), on the services of `ruswf.cli.common.services()`.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from projections import ProjectionError, Projections, render_annual, run_worker
from projections.queries import FORMATS
from projections.runtime import FOLLOWER_JOBS, POLL_INTERVAL
from ruswf.app.errors import AppError
from ruswf.app.notify.schedule import BackgroundJobs
from ruswf.app.store.locks import current_leaders
from ruswf.cli.common import command_group, fail, services
from ruswf.domain.errors import DomainError

projections_cli = command_group("The read models (projections) in the store's own database.")
report_cli = command_group("Reports computed from the projections.")


@contextmanager
def opened_projections() -> Iterator[Projections]:
    """The projections on the configured store; their errors end the command."""
    with services() as built:
        try:
            projections = built.projections
        except (ProjectionError, PersistenceError) as error:
            fail(f"cannot open the projections: {error}")
        try:
            yield projections
        except (DomainError, AppError, ProjectionError) as error:
            fail(str(error))
        except PersistenceError as error:
            fail(f"store error: {type(error).__name__}: {error}")


@projections_cli.command("run")
def run(
    interval: Annotated[
        float, typer.Option(min=0.01, max=60.0, help="Seconds between polls of the event log.")
    ] = POLL_INTERVAL,
) -> None:
    """Follow the event log and keep every projection up to date (the worker process of a
    PostgreSQL deployment). Stops on SIGTERM or Ctrl-C after the batch in progress."""
    stop = threading.Event()

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with services() as built:
        # Scheduled reminders and webhook deliveries run beside the projections.
        jobs = BackgroundJobs(
            built.app,
            lambda: built.people,
            lambda today: built.projections.obligations(today=today),
            webhooks=lambda: built.webhooks,
        ).start()
        try:
            run_worker(built.app, stop, interval=interval)
        finally:
            jobs.stop()


@projections_cli.command("rebuild")
def rebuild(
    name: Annotated[
        str | None, typer.Argument(help="The projection to rebuild (default: every one).")
    ] = None,
) -> None:
    """Empty a projection (or all) and apply the whole event log again, with a progress bar."""
    with opened_projections() as projections:
        names = [name] if name else list(projections.names)
        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]rebuild[/bold] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task(", ".join(names), total=max(projections.head(), 1))

            def advance(done: int, head: int) -> None:
                bar.update(task, completed=done, total=max(head, 1))

            projections.rebuild(name, progress=advance)
            bar.update(task, completed=max(projections.head(), 1))
        for row in projections.status():
            if row["name"] in names:
                typer.echo(f"rebuilt {row['name']}: position {row['position']}, lag {row['lag']}")


@projections_cli.command("status")
def status() -> None:
    """Per projection: schema version, position in the event log, the log's head and the
    lag; then which process leads each follower job (host, pid, since when)."""
    with opened_projections() as projections:
        rows = projections.status()
        leaders = current_leaders(projections.app.settings, list(FOLLOWER_JOBS))
    width = max(len(row["name"]) for row in rows)
    typer.echo(
        f"{'projection':<{width}}  {'version':>7}  {'position':>10}  {'head':>10}  {'lag':>8}"
    )
    for row in rows:
        typer.echo(
            f"{row['name']:<{width}}  {row['version']:>7}  {row['position']:>10}"
            f"  {row['head']:>10}  {row['lag']:>8}"
        )
    typer.echo("")
    typer.echo(f"{'job':<{width}}  leader")
    for job, holder in leaders.items():
        led = (
            f"{holder.host} pid {holder.pid} since {holder.since.isoformat(timespec='seconds')}"
            if holder is not None
            else "none (no `ruswf serve` or `ruswf projections run` is running this job)"
        )
        typer.echo(f"{job:<{width}}  {led}")


@report_cli.command("annual")
def annual(
    year: Annotated[int, typer.Option(min=1990, max=2100, help="The year of the annual cycle.")],
    fmt: Annotated[str, typer.Option("--format", help="Output format: json, csv or md.")] = "json",
) -> None:
    """The annual-cycle report: per goal area and reporting period, proposals, decisions by
    outcome, reports due / submitted / overdue and completeness."""
    if fmt not in FORMATS:
        fail(f"--format: must be one of {', '.join(FORMATS)}, not {fmt!r}")
    with opened_projections() as projections:
        projections.catch_up()
        report = projections.annual_cycle(year)
    sys.stdout.write(render_annual(report, fmt))
