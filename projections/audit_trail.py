"""The audit trail: one row per initiative event (and per adjustment of the annual
cycle), indexed for an auditor's questions (by initiative, user, organisation, event
type and time range). E-mail reminders sent (or refused) appear too, under the
initiative they were about (docs/integrations.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict, Unpack
from uuid import UUID

from eventsourcing.persistence import Tracking

from projections.base import (
    CALENDAR_EVENT_TYPES,
    CalendarEvent,
    InitiativeEvent,
    Page,
    ReadModel,
    equal_to,
)
from projections.store import Json, Session, Table
from ruswf.app.notify.reminders import REMINDER_EVENTS
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import event_data

AUDIT_TRAIL = Table(
    "proj_audit_trail",
    {
        "position": "bigint PRIMARY KEY",
        "initiative_id": "text NOT NULL",
        "version": "integer NOT NULL",
        "event_type": "text NOT NULL",
        "recorded_at": "timestamptz NOT NULL",
        "effective_date": "date NOT NULL",
        "actor_user": "text NOT NULL",
        "actor_organisation": "text NOT NULL",
        "actor_role": "text NOT NULL",
        "reason": "text",
        "payload": "jsonb NOT NULL",
    },
    indexes={
        "proj_audit_trail_initiative": "initiative_id, version",
        "proj_audit_trail_user": "actor_user, position",
        "proj_audit_trail_organisation": "actor_organisation, position",
        "proj_audit_trail_type": "event_type, position",
        "proj_audit_trail_recorded": "recorded_at",
    },
)
COLUMNS = ", ".join(AUDIT_TRAIL.columns)


class AuditFilters(TypedDict, total=False):
    """What the audit trail is filtered by (a filter left out or None: any)."""

    initiative_id: str | None
    user: str | None
    organisation: str | None
    type: str | None
    """The event's type (`Approved`)."""
    since: datetime | date | str | None
    """Recorded at or after (a date: from the start of the day)."""
    until: datetime | date | str | None
    """Recorded before (a date: before the end of the day)."""


class AuditTrail(ReadModel):
    """Every event, its actor, its business date, its reason and its payload: the
    initiatives' events and the annual cycle's adjustments (whose `initiative_id` is
    the adjusted year's calendar id, and whose payload names the meeting)."""

    name = "audit_trail"
    version = 1
    event_types = (*ReadModel.event_types, *CALENDAR_EVENT_TYPES)
    tables = (AUDIT_TRAIL,)

    def _apply_one(self, session: Session, event: Any, tracking: Tracking) -> None:
        if isinstance(event, REMINDER_EVENTS):
            self._insert(session, event, tracking.notification_id, event.initiative_id)
        else:
            super()._apply_one(session, event, tracking)

    def apply(
        self, session: Session, event: InitiativeEvent | CalendarEvent, position: int
    ) -> None:
        self._insert(session, event, position, str(event.originator_id))

    @staticmethod
    def _insert(session: Session, event: Any, position: int, initiative_id: str) -> None:
        payload = event_data(event)
        session.execute(
            "INSERT INTO {proj_audit_trail} (" + COLUMNS + ") VALUES (:position, :initiative_id,"
            " :version, :event_type, :recorded_at, :effective_date, :user, :organisation, :role,"
            " :reason, :payload)",
            {
                "position": position,
                "initiative_id": initiative_id,
                "version": event.originator_version,
                "event_type": type(event).__name__,
                "recorded_at": event.timestamp,
                "effective_date": date.fromisoformat(event.effective_date),
                "user": event.actor["user"],
                "organisation": event.actor["organisation"],
                "role": event.actor["role"],
                "reason": payload.get("reason"),
                "payload": Json(payload),
            },
        )

    # -- queries ------------------------------------------------------------------------

    def events(self, *, limit: int = 50, offset: int = 0, **filters: Unpack[AuditFilters]) -> Page:
        """Events matching every given filter, in log order."""
        initiative_id = filters.get("initiative_id")
        conditions, params = equal_to(
            initiative_id=None if initiative_id is None else _uuid(initiative_id),
            actor_user=filters.get("user"),
            actor_organisation=filters.get("organisation"),
            event_type=filters.get("type"),
        )
        since, until = filters.get("since"), filters.get("until")
        if since is not None:
            conditions.append("recorded_at >= :since")
            params["since"] = _moment(since, "since", end_of_day=False)
        if until is not None:
            conditions.append("recorded_at < :until")
            params["until"] = _moment(until, "until", end_of_day=True)
        rows, total = self.page(
            AUDIT_TRAIL, (conditions, params), order_by="position", limit=limit, offset=offset
        )
        return [_event(row) for row in rows], total


def _event(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "position": row["position"],
        "initiative_id": row["initiative_id"],
        "version": row["version"],
        "type": row["event_type"],
        "recorded_at": row["recorded_at"],
        "effective_date": row["effective_date"],
        "actor": {
            "user": row["actor_user"],
            "organisation": row["actor_organisation"],
            "role": row["actor_role"],
        },
        "reason": row["reason"],
        "payload": row["payload"],
    }


def _uuid(value: str) -> str:
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise ValidationError("initiative_id", f"not an initiative id: {value!r}") from None


def _moment(value: datetime | date | str, field: str, *, end_of_day: bool) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, f"not an ISO 8601 date or time: {value!r}") from None
    if not isinstance(value, datetime):
        start = datetime.combine(value, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    return value if value.tzinfo else value.replace(tzinfo=UTC)
