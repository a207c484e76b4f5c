"""The initiative board: one row per initiative with what a list view needs, including the
facts (`state`, `has_preparation`, `lead_actor`) from which the API computes each
caller's `allowed_actions`."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from projections.base import (
    CONTENT_COLUMNS,
    InitiativeEvent,
    Page,
    ReadModel,
    day,
    equal_to,
    next_period,
)
from projections.store import Json, Session, Table
from ruswf.domain.calendar import CalendarYear
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import Initiative
from ruswf.domain.lifecycle import State

BOARD = Table(
    "proj_board",
    {
        "initiative_id": "text PRIMARY KEY",
        "title": "text NOT NULL",
        "state": "text NOT NULL",
        "goal_area": "text NOT NULL",
        "lead_actor": "text NOT NULL",
        "version": "integer NOT NULL",
        "has_preparation": "boolean NOT NULL",
        "proposed_on": "date NOT NULL",
        "created_at": "timestamptz NOT NULL",
        "last_change": "timestamptz NOT NULL",
        "last_event": "text NOT NULL",
        "next_meeting": "date",
        "next_meeting_council": "text",
        "approval_period": "text",
        "reported_periods": "jsonb NOT NULL",
        "last_report_period": "text",
        "last_report_status": "text",
        "next_report_period": "text",
        "next_report_due": "date",
    },
    indexes={
        "proj_board_state": "state, last_change",
        "proj_board_goal_area": "goal_area, last_change",
        "proj_board_lead_actor": "lead_actor, last_change",
        "proj_board_last_change": "last_change",
    },
)
COLUMNS = ", ".join(BOARD.columns)


class BoardFilters(TypedDict, total=False):
    """What the board is filtered by (a filter left out or None: any)."""

    state: str | None
    goal_area: str | None
    lead_actor: str | None


class Board(ReadModel):
    """Current state, goal area, lead actor, last change, next meeting, next report due."""

    name = "board"
    event_types = (*ReadModel.event_types, CalendarYear.MeetingMoved)
    version = 1
    tables = (BOARD,)

    def apply(
        self, session: Session, event: InitiativeEvent | CalendarYear.MeetingMoved, position: int
    ) -> None:
        if isinstance(event, CalendarYear.MeetingMoved):
            # The initiatives waiting for a moved meeting wait for its new date.
            session.execute(
                "UPDATE {proj_board} SET next_meeting = :new"
                " WHERE next_meeting_council = :council AND next_meeting = :old",
                {"new": day(event.date), "old": day(event.from_date), "council": event.council},
            )
            return
        iid = str(event.originator_id)
        if isinstance(event, Initiative.Proposed):
            BOARD.insert(
                session,
                {
                    "initiative_id": iid,
                    **{column: event.content[column] for column in CONTENT_COLUMNS},
                    "state": State.PROPOSAL.value,
                    "version": event.originator_version,
                    "has_preparation": False,
                    "proposed_on": day(event.effective_date),
                    "created_at": event.timestamp,
                    "last_change": event.timestamp,
                    "last_event": type(event).__name__,
                    "reported_periods": Json([]),
                },
            )
            return
        changes: dict[str, Any] = {}
        match event:
            case Initiative.Submitted() | Initiative.ReferredBack():
                changes = {
                    "state": State.COUNCIL_PREPARATION.value,
                    "next_meeting": None,
                    "next_meeting_council": None,
                }
            case Initiative.Revised():
                changes = {k: v for k, v in event.changes.items() if k in CONTENT_COLUMNS}
            case Initiative.ReturnedForRevision():
                changes = {"state": State.PROPOSAL.value}
            case Initiative.PreparationRecorded():
                changes = {"has_preparation": True}
            case Initiative.Scheduled():
                changes = {
                    "state": State.DECISION.value,
                    "next_meeting": day(event.meeting_date),
                    "next_meeting_council": event.council,
                }
            case Initiative.Deferred():
                changes = {"next_meeting": day(event.next_meeting_date)}
            case Initiative.Approved():
                first = self.strategy.period(event.period)
                changes = {
                    "state": State.FOLLOW_UP.value,
                    "next_meeting": None,
                    "next_meeting_council": None,
                    "approval_period": event.period,
                    "next_report_period": first.id,
                    "next_report_due": first.due,
                }
            case Initiative.Rejected() | Initiative.Withdrawn():
                state = (
                    State.REJECTED if isinstance(event, Initiative.Rejected) else State.WITHDRAWN
                )
                changes = {"state": state.value, "next_meeting": None, "next_meeting_council": None}
            case Initiative.ProgressReported():
                changes = self._reported(session, iid, event)
            case Initiative.Closed():
                changes = {
                    "state": State.CLOSED.value,
                    "next_report_period": None,
                    "next_report_due": None,
                }
        changes |= {
            "version": event.originator_version,
            "last_change": event.timestamp,
            "last_event": type(event).__name__,
        }
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        session.execute(
            f"UPDATE {{proj_board}} SET {assignments} WHERE initiative_id = :initiative_id",
            {**changes, "initiative_id": iid},
        )

    def _reported(
        self, session: Session, iid: str, event: Initiative.ProgressReported
    ) -> dict[str, Any]:
        row = session.fetchone(
            "SELECT approval_period, reported_periods, last_report_period FROM {proj_board}"
            " WHERE initiative_id = :id",
            {"id": iid},
        )
        assert row is not None, f"progress reported for unknown initiative {iid}"
        reported = sorted(
            {*row["reported_periods"], event.period}, key=lambda p: self.strategy.period(p).start
        )
        changes: dict[str, Any] = {"reported_periods": Json(reported)}
        latest = row["last_report_period"]
        if latest is None or (
            self.strategy.period(event.period).start >= self.strategy.period(latest).start
        ):
            changes |= {"last_report_period": event.period, "last_report_status": event.status}
        owed = self.strategy.period(row["approval_period"])
        while owed.id in reported:
            owed = next_period(self.strategy, owed)
        return changes | {"next_report_period": owed.id, "next_report_due": owed.due}

    # -- queries ------------------------------------------------------------------------

    def rows(self, *, limit: int = 50, offset: int = 0, **filters: Unpack[BoardFilters]) -> Page:
        """Initiatives matching every given filter, most recently changed first."""
        state = filters.get("state")
        if state is not None and state not in {s.value for s in State}:
            known = ", ".join(s.value for s in State)
            raise ValidationError("state", f"unknown state {state!r} (known: {known})")
        rows, total = self.page(
            BOARD,
            equal_to(**filters),
            order_by="last_change DESC, initiative_id",
            limit=limit,
            offset=offset,
        )
        return [_item(row) for row in rows], total

    def all_rows(self) -> list[dict[str, Any]]:
        """Every initiative (for reports that look across the board)."""
        with self.view.read() as session:
            rows = session.fetchall(
                "SELECT " + COLUMNS + " FROM {proj_board} ORDER BY initiative_id"
            )
        return [_item(row) for row in rows]


def _item(row: dict[str, Any]) -> dict[str, Any]:
    item = dict(row)
    item["id"] = item.pop("initiative_id")
    return {"id": item.pop("id"), **item}
