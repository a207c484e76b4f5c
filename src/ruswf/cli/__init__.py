"""The `ruswf` command line. Thin: it parses arguments and calls the application."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ruswf.app.demo.walk import run_demo
from ruswf.app.labels import state_label
from ruswf.app.logging import configure_logging
from ruswf.app.settings import Settings, SettingsError
from ruswf.app.strategy_loader import load_strategy
from ruswf.bootstrap import Services
from ruswf.cli.audit import audit_cli, gdpr_cli
from ruswf.cli.calendar import calendar_cli, report_differences
from ruswf.cli.common import command_group, fail, services
from ruswf.cli.ops import backup, restore
from ruswf.cli.projections import projections_cli, report_cli
from ruswf.cli.reminders import reminders_cli
from ruswf.domain.errors import DomainError
from ruswf.domain.lifecycle import State

cli = command_group(
    "ruswf — event-sourced workflow for the initiatives of a regional development strategy.",
    name="ruswf",
)
strategy_cli = command_group("The strategy in force.")
cli.add_typer(strategy_cli, name="strategy")
cli.add_typer(projections_cli, name="projections")
cli.add_typer(report_cli, name="report")
token_cli = command_group("Bearer tokens for the HTTP API.")
cli.add_typer(token_cli, name="token")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(gdpr_cli, name="gdpr")
cli.add_typer(calendar_cli, name="calendar")
cli.add_typer(reminders_cli, name="reminders")
cli.command()(backup)
cli.command()(restore)


@cli.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the deterministic walk.")] = 1,
    year: Annotated[
        int | None, typer.Option(help="Year of the annual cycle (default: this year).")
    ] = None,
) -> None:
    """Load the seed's agenda items as initiatives and walk them through a year."""
    with services() as built:
        app = built.app
        result = run_demo(app, built.ledger, seed=seed, year=year)
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
            label = f"{state.value} ({state_label(state.value)})"
            typer.echo(f"{label:<34}" + "".join(f"{n:>8}" for n in row) + f"{sum(row):>8}")
        totals = [sum(counts[(s.value, g)] for s in State) for g in goals]
        typer.echo("-" * len(header))
        typer.echo(f"{'total':<34}" + "".join(f"{n:>8}" for n in totals) + f"{sum(totals):>8}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo_data: Annotated[
        bool,
        typer.Option(
            "--demo", help="On an empty store, load the demo first; print demo tokens per role."
        ),
    ] = False,
    projections: Annotated[
        bool,
        typer.Option(
            help="Follow new events with the embedded projection runner (off: run a worker)."
        ),
    ] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes sharing the port.")
    ] = 1,
) -> None:
    """Serve the HTTP API (and the projections, embedded) on the configured store."""
    from ruswf.cli.serving import run_server

    with services() as built:
        app = built.app
        if demo_data:
            _prepare_demo(built, f"http://{host}:{port}")
        settings = app.settings
    try:
        settings.trusted_proxy_networks()
    except SettingsError as error:
        fail(str(error))
    run_server(host, port, workers=workers, embedded_projections=projections)


DEMO_USERS = (
    ("demo-coordinator", "coordinator", "region_vasternorrland"),
    ("demo-preparer", "preparer", "region_vasternorrland"),
    ("demo-secretary", "secretary", "region_vasternorrland"),
    ("demo-auditor", "auditor", "lansstyrelsen"),
    ("demo-reporter", "reporter", "region_vasternorrland"),
    ("demo-admin", "admin", "region_vasternorrland"),
)


def _prepare_demo(built: Services, url: str) -> None:
    """Load the demo into an empty store (one progress line, not a log line per command),
    then print what a newcomer needs last: the address and a token per role."""
    settings = built.settings
    if not built.app.recorder.max_notification_id():
        typer.echo("Empty store: loading the demo (the seed's agenda items, one year)...")
        configure_logging(settings.log_format, "warning")
        try:
            result = run_demo(built.app, built.ledger)
        finally:
            configure_logging(settings.log_format, settings.log_level)
        typer.echo(
            f"Demo loaded: {len(result.initiatives)} initiatives, "
            f"{built.app.recorder.max_notification_id()} events."
        )
    renewed = built.tokens.renew(DEMO_USERS)
    typer.echo(
        f"\nruswf serves {url}/ — open it in a browser and sign in with a token below\n"
        f"(the HTTP API: {url}/api/v1, its docs: {url}/docs; Authorization: Bearer <token>).\n"
        "Demo tokens:"
    )
    for info, token in renewed:
        typer.echo(f"  {info.role:<12} {info.organisation:<22} {token}")
    typer.echo(
        "Each `ruswf serve --demo` revokes the earlier demo tokens and prints new ones\n"
        "(only hashes are stored: start it again to get them again). `ruswf token list`\n"
        "shows them, `ruswf token revoke ID` ends one. The server's log follows.\n"
    )


@token_cli.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="User id (an id, not a name).")],
    role: Annotated[
        str, typer.Option(help="coordinator, preparer, secretary, auditor, reporter or admin.")
    ],
    org: Annotated[
        str, typer.Option(help="The user's organisation: an actor id or its exact name.")
    ],
) -> None:
    """Create a bearer token; the token is the last line of output."""
    with services() as built:
        info, token = built.tokens.create(user, role, org)
        typer.echo(f"token {info.id} for {info.user} ({info.role}, {info.organisation}):")
        typer.echo(token)


@token_cli.command("list")
def token_list() -> None:
    """List tokens (never the tokens themselves: only a hash is stored)."""
    with services() as built:
        rows = built.tokens.list()
        typer.echo(f"{'id':<14}{'user':<30}{'role':<13}{'organisation':<24}{'created':<27}revoked")
        for t in rows:
            typer.echo(
                f"{t.id:<14}{t.user:<30}{t.role:<13}{t.organisation:<24}"
                f"{t.created_at:<27}{t.revoked_at or '-'}"
            )


@token_cli.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `ruswf token list`).")],
) -> None:
    """Revoke a token by its id."""
    with services() as built:
        if not built.tokens.revoke(token_id):
            fail(f"no active token with id {token_id!r}")
        typer.echo(f"revoked {token_id}")


@cli.command()
def roles() -> None:
    """Print the role table: which role may take which action."""
    from ruswf.app.authorization import LEAD_ACTOR_BOUND, ROLE_ACTIONS

    for role, actions in ROLE_ACTIONS.items():
        bound = " (own organisation's initiatives only)" if role in LEAD_ACTOR_BOUND else ""
        typer.echo(f"{role.value:<12} {', '.join(sorted(actions)) or 'no workflow actions'}{bound}")


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
    report_differences()


def main() -> None:
    """Entry point of the `ruswf` command."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
