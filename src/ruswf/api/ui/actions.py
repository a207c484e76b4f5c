"""Every call the web UI makes into the application service and the calendar, in one
place (so a change of the service's signatures is a change here only)."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, Unpack

from projections import Projections
from projections.board import BoardFilters
from ruswf.app.service import RusApp
from ruswf.app.views import EventView, InitiativeView
from ruswf.domain.commands import (
    COMMANDS,
    ActorRef,
    Command,
    FieldInfo,
    Propose,
    fields_of,
    proposal_from_body,
)
from ruswf.domain.lifecycle import Action
from ruswf.domain.strategy import Meeting, ReportingPeriod


def command_class(action: str) -> type[Command]:
    """The command of an action name (`propose` included); KeyError when unknown."""
    if action == Propose.action:
        return Propose
    try:
        return COMMANDS[Action(action)]
    except ValueError:
        raise KeyError(action) from None


@functools.cache
def _form_fields(action: str) -> tuple[FieldInfo, ...]:
    return tuple(fields_of(command_class(action)))


def form_fields(action: str) -> list[FieldInfo]:
    """The input fields a form for `action` shows (the business date defaults to today).
    The definitions never change in a process, so they are read once per action."""
    return list(_form_fields(action))


def propose(app: RusApp, actor: ActorRef, body: dict[str, Any], key: str) -> InitiativeView:
    return app.propose(proposal_from_body(body), actor, idempotency_key=key)


def act(
    app: RusApp,
    initiative_id: str,
    action: str,
    actor: ActorRef,
    body: dict[str, Any],
    *,
    expected_version: int | None,
    key: str,
) -> InitiativeView:
    return app.act(
        initiative_id,
        action,
        actor,
        body,
        expected_version=expected_version,
        idempotency_key=key,
    )


def initiative(
    app: RusApp,
    initiative_id: str,
    actor: ActorRef,
    *,
    version: int | None = None,
    as_of: Any = None,
) -> InitiativeView:
    return app.get_initiative(initiative_id, actor, version=version, as_of=as_of)


def current_with_history(
    app: RusApp, initiative_id: str, actor: ActorRef
) -> tuple[InitiativeView, list[EventView]]:
    return app.current_with_history(initiative_id, actor)


def allowed_on_row(app: RusApp, actor: ActorRef, row: dict[str, Any]) -> list[str]:
    """What `actor` may do with an initiative of the board projection."""
    return app.allowed_actions_for(
        actor, row["state"], bool(row["has_preparation"]), row["lead_actor"]
    )


def calendar_meetings(app: RusApp, year: int) -> list[Meeting]:
    """The council meetings of the year's annual cycle (the one source the UI reads
    meeting dates from)."""
    return app.strategy.meetings(year)


def cycle_events(app: RusApp, year: int) -> list[tuple[str, str, date]]:
    """(id, name, date) of the year's other cycle events (RUS day, "Här och nu")."""
    return [(e.id, e.name, when) for e, when in app.strategy.cycle_event_dates(year)]


def reporting_periods(app: RusApp, year: int) -> list[ReportingPeriod]:
    return app.strategy.reporting_periods(year)


BOARD_PAGE = 1000
"""The largest page the board projection answers."""


def board(
    views: Projections, *, limit: int | None = None, **filters: Unpack[BoardFilters]
) -> tuple[list[dict[str, Any]], int]:
    """Initiatives of the board projection matching the filters, most recently changed
    first: the first `limit` (all when None) and how many match."""
    rows: list[dict[str, Any]] = []
    total = 0
    while limit is None or len(rows) < limit:
        want = BOARD_PAGE if limit is None else min(BOARD_PAGE, limit - len(rows))
        found, total = views.board(limit=want, offset=len(rows), **filters)
        rows += found
        if len(found) < want:
            break
    return rows, total
