"""The `ruswf` command line. Thin: it parses arguments and calls the application."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer

from ruswf.app.demo import run_demo
from ruswf.app.errors import AppError
from ruswf.app.logging import configure_logging
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings, SettingsError
from ruswf.app.strategy_loader import load_strategy
from ruswf.domain.errors import DomainError
from ruswf.domain.lifecycle import SWEDISH_LABELS, State

cli = typer.Typer(
    name="ruswf",
    help="ruswf — event-sourced workflow for the initiatives of a regional development strategy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
strategy_cli = typer.Typer(help="The strategy in force.", no_args_is_help=True)
cli.add_typer(strategy_cli, name="strategy")


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and a non-zero exit."""
    typer.echo(f"ruswf: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def application() -> Iterator[RusApp]:
    """The application on the configured store; configuration errors end the command."""
    try:
        settings = Settings()
        configure_logging(settings.log_format, settings.log_level)
        strategy = load_strategy(settings.strategy)
        app = RusApp(strategy, settings)
    except (DomainError, SettingsError, ValueError) as error:
        fail(str(error).splitlines()[0] if str(error) else type(error).__name__)
    except Exception as error:  # noqa: BLE001 - the store's drivers raise many kinds
        fail(f"cannot open the store: {type(error).__name__}: {error}".splitlines()[0])
    try:
        yield app
    except (DomainError, AppError) as error:
        fail(str(error))
    finally:
        app.close()


@cli.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the deterministic walk.")] = 1,
    year: Annotated[int | None, typer.Option(help="Year of the annual cycle (default: this year).")] = None,
) -> None:
    """Load the seed's agenda items as initiatives and walk them through a year."""
    with application() as app:
        result = run_demo(app, seed=seed, year=year)
        counts = result.by_state_and_goal_area()
        goals = [g.id for g in app.strategy.goal_areas]
        typer.echo(
            f"\nDemo (seed {seed}, year {result.year}): {len(result.initiatives)} initiatives "
            f"on {app.settings.database_url}\n"
        )
        header = f"{'state':<34}" + "".join(f"{g:>8}" for g in goals) + f"{'total':>8}"
        typer.echo(header)
        typer.echo("-" * len(header))
        for state in State:
            row = [counts[(state.value, g)] for g in goals]
            label = f"{state.value} ({SWEDISH_LABELS[state]})"
            typer.echo(f"{label:<34}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
        totals = [sum(counts[(s.value, g)] for s in State) for g in goals]
        typer.echo("-" * len(header))
        typer.echo(f"{'total':<34}" + "".join(f"{n:>8}" for n in totals) + f"{sum(totals):>8}")


@strategy_cli.command("check")
def strategy_check() -> None:
    """Validate the strategy file in force (RUSWF_STRATEGY or the shipped RUS 2030)."""
    try:
        strategy = load_strategy(Settings().strategy)
    except DomainError as error:
        fail(str(error))
    typer.echo(
        f"{strategy.name}: {len(strategy.goal_areas)} goal areas, {len(strategy.priorities)} "
        f"priorities, {len(strategy.principles)} principles, {len(strategy.actors)} actors, "
        f"{len(strategy.councils)} councils, {len(strategy.arenas)} arenas"
    )


def main() -> None:
    """Entry point of the `ruswf` command."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
