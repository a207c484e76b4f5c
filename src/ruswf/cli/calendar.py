"""`ruswf calendar show | move | cancel | add | ics`: the annual cycle as a living
calendar (docs/calendar.md). A typer app for `ruswf.cli` to register as "calendar".

Adjustments from the command line are the operator's, as the `gdpr` commands' are: the
actor is `--user` (default `cli:<login>`) of `--org` (default: the convener of the
strategy's first council) acting as admin.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ruswf.app.calendar import StoredCalendar
from ruswf.app.ical import deadlines, feed_for
from ruswf.app.service import RusApp
from ruswf.cli.common import command_group, fail, services
from ruswf.domain.commands import ActorRef
from ruswf.domain.strategy import Meeting

calendar_cli = command_group("The annual cycle (årshjul): meetings, adjustments and iCalendar.")

User = Annotated[
    str | None, typer.Option("--user", help="Who makes the change (default: cli:<login>).")
]
Org = Annotated[
    str | None,
    typer.Option("--org", help="Their organisation (default: the first council's convener)."),
]
Reason = Annotated[str, typer.Option("--reason", help="Why (required; in the audit trail).")]
MeetingId = Annotated[str, typer.Argument(help="The meeting id, e.g. rsr-2026-02-19.")]
Day = Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="YYYY-MM-DD.")]


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _actor(app: RusApp, user: str | None, org: str | None) -> ActorRef:
    strategy = app.strategy
    default_org = next((c.convener for c in strategy.councils if c.convener), None)
    chosen = org or default_org or strategy.actors[0].id
    actor = strategy.resolve_actor(chosen)
    if actor is None:
        fail(f"--org: unknown organisation {chosen!r} (use an actor id or its exact name)")
    return ActorRef(user or _operator(), actor.id, "admin")


def _line(meeting: Meeting) -> str:
    times = f"{meeting.start.strftime('%H:%M')}–{meeting.end.strftime('%H:%M')}"
    moved = f"  (moved from {meeting.moved_from.isoformat()})" if meeting.moved_from else ""
    return (
        f"{meeting.date.isoformat()}  {times}  {meeting.id:<28} {meeting.format or '-':<12} "
        f"{meeting.status}{moved}"
    )


@calendar_cli.command("show")
def show(
    year: Annotated[int | None, typer.Option(help="The year (default: this year).")] = None,
    council: Annotated[str | None, typer.Option(help="One council's meetings only.")] = None,
) -> None:
    """A year of the annual cycle: meetings (with adjustments), events and deadlines."""
    with services() as built:
        app = built.app
        chosen = year or app.today().year
        if council is not None and app.strategy.council(council) is None:
            fail(f"--council: unknown council {council!r}")
        adjusted = app.calendar.year(chosen) is not None
        typer.echo(
            f"{app.strategy.name.split(' — ')[0]} {chosen}"
            + (" (adjusted)" if adjusted else " (as the rules give it)")
        )
        for meeting in app.calendar.meetings(chosen, council):
            typer.echo(_line(meeting))
        for event, day in app.strategy.cycle_event_dates(chosen):
            typer.echo(f"{day.isoformat()}  {'heldag':<11}  {event.name}")
        for deadline in deadlines(app.strategy, [chosen - 1, chosen]):
            period = deadline.period
            if period.due.year == chosen:  # the deadlines that fall in the year
                typer.echo(
                    f"{period.due.isoformat()}  {'heldag':<11}  lägesrapport {period.id} senast"
                )


def _adjust(
    user: str | None, org: str | None, change: Callable[[StoredCalendar, ActorRef], Meeting]
) -> None:
    """Make one adjustment of the calendar as the operator; print the meeting it gives."""
    with services() as built:
        app = built.app
        typer.echo(_line(change(app.calendar, _actor(app, user, org))))


@calendar_cli.command("move")
def move(
    meeting_id: MeetingId, day: Day, reason: Reason, user: User = None, org: Org = None
) -> None:
    """Move a meeting to another working day of its year (it keeps its id)."""
    _adjust(
        user, org, lambda cal, actor: cal.move(actor, meeting_id, date=day.date(), reason=reason)
    )


@calendar_cli.command("cancel")
def cancel(meeting_id: MeetingId, reason: Reason, user: User = None, org: Org = None) -> None:
    """Cancel a meeting (it stays in the calendar, cancelled)."""
    _adjust(user, org, lambda cal, actor: cal.cancel(actor, meeting_id, reason=reason))


@calendar_cli.command("add")
def add(
    council: Annotated[str, typer.Option(help="The council (id).")],
    day: Day,
    reason: Reason,
    user: User = None,
    org: Org = None,
) -> None:
    """Add a meeting the rules do not give; prints it (its id is the third column)."""
    _adjust(
        user,
        org,
        lambda cal, actor: cal.add(actor, council=council, date=day.date(), reason=reason),
    )


@calendar_cli.command("ics")
def ics(
    out: Annotated[Path, typer.Option("--out", help="The .ics file to write.")],
    council: Annotated[str | None, typer.Option(help="One council's meetings only.")] = None,
    organisation: Annotated[
        str | None, typer.Option(help="That organisation's own reporting deadlines.")
    ] = None,
) -> None:
    """The annual cycle as an iCalendar file (every year the cycle covers)."""
    with services() as built:
        app = built.app
        if organisation is None:
            body = feed_for(app, "admin", council, None, lambda _org: [])
        else:
            views = built.projections
            views.catch_up()
            body = feed_for(app, "admin", council, organisation, views.followed_up)
        try:
            out.write_bytes(body)
        except OSError as error:
            fail(f"cannot write {out}: {error.strerror or error}")
        typer.echo(f"wrote {out} ({body.count(b'BEGIN:VEVENT')} events)")


def report_differences() -> None:
    """For `ruswf strategy check`: the adjusted years whose recorded meetings the
    strategy's rules no longer give (a year with adjustments is never rewritten by a
    change of the rules). Says nothing about a store that does not exist yet."""
    from ruswf.app.settings import Settings
    from ruswf.app.strategy_loader import load_strategy

    try:
        settings = Settings()
        if settings.backend == "sqlite" and not Path(settings.sqlite_path()).exists():
            return
        app = RusApp(load_strategy(settings.strategy), settings)
    except Exception as error:  # the store's drivers raise many kinds
        typer.echo(f"calendar: adjusted years not checked (store: {type(error).__name__})")
        return
    try:
        differences = app.calendar.differences()
    finally:
        app.close()
    if not differences:
        typer.echo("calendar: every adjusted year agrees with the rules")
        return
    for year, found in sorted(differences.items()):
        typer.echo(
            f"calendar {year}: adjusted, and the rules now differ: {'; '.join(found)}"
            f" (the adjusted year stands; adjust it with `ruswf calendar`)"
        )
