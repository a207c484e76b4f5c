"""`ruswf reminders send`: e-mail each organisation's reminder recipients about reports
due and overdue, and the strategic group's convener a digest (docs/integrations.md).
A typer app for `ruswf.cli` to register as "reminders"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from ruswf.app.notify.mailer import MailerUnavailableError
from ruswf.app.notify.reminders import Reminders
from ruswf.app.settings import SettingsError
from ruswf.cli.common import command_group, fail, services

reminders_cli = command_group("E-mail reminders of progress reports due and overdue.")


@reminders_cli.command("send")
def send(
    today: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The day to remind for (default: today)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be sent; send and record nothing.")
    ] = False,
) -> None:
    """Send today's reminders that were not sent yet; each one sent is recorded in the
    audit trail (person id, never the address), so a second run sends nothing twice."""
    with services() as built:
        projections = built.projections
        projections.catch_up()
        app = built.app
        day: date = today.date() if today is not None else app.today()
        reminders = Reminders(app, built.people, lambda when: projections.obligations(today=when))
        if dry_run:
            for planned in reminders.plan(day):
                items = reminders.unsent(planned, day)
                if not items:
                    continue
                rendered = reminders.render(planned, items, day)
                typer.echo(
                    f"would send {planned.kind} to {planned.recipient.person_id}"
                    f" ({planned.recipient.organisation}), {len(items)} report(s):"
                    f" {rendered.subject}"
                )
            return
        try:
            report = reminders.send(day)
        except (MailerUnavailableError, SettingsError) as error:
            fail(f"reminders not sent: {error}")
        for outcome in report.outcomes:
            if outcome.status == "sent":
                typer.echo(
                    f"sent {outcome.kind} to {outcome.person_id} ({outcome.organisation}):"
                    f" {outcome.items} report(s), {outcome.message_id}"
                )
            elif outcome.status == "refused":
                typer.echo(
                    f"refused {outcome.kind} to {outcome.person_id} ({outcome.organisation}):"
                    f" {outcome.reason} (retried on the next run)",
                    err=True,
                )
        typer.echo(
            f"{report.count('sent')} sent, {report.count('refused')} refused for {day.isoformat()}"
        )
        if report.error is not None:
            fail(f"reminders stopped: {report.error} (the rest is sent on the next run)")
