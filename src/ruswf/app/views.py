"""Plain data the application returns: never the aggregate itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ruswf.domain.initiative import event_data


@dataclass(frozen=True)
class InitiativeView:
    id: str
    version: int
    state: str
    state_label: str
    title: str
    summary: str
    goal_area: str
    lead_actor: str
    priorities: list[str]
    partner_actors: list[str]
    principles: list[str]
    arena: int | None
    indicators: list[dict[str, Any]]
    allowed_actions: list[str]
    proposed_by: dict[str, str]
    proposed_on: str
    created_at: str
    updated_at: str
    agenda: dict[str, str] | None
    preparation: dict[str, str] | None
    approval_period: str | None
    reported_periods: list[str]
    lessons: list[str]
    final_report: str | None
    contact_person: str | None = None
    """The id of the contact person in the people registry (never a name)."""

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict. The view owns its lists and dicts (the application
        copies them out of the aggregate), so this copy is shallow: `asdict`'s deep copy
        was a seventh of the server's time per command request."""
        return dict(vars(self))


@dataclass(frozen=True)
class EventView:
    version: int
    type: str
    recorded_at: str
    effective_date: str
    actor: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, event: Any) -> EventView:
        """The view of one stored initiative event."""
        return cls(
            version=event.originator_version,
            type=type(event).__name__,
            recorded_at=event.timestamp.isoformat(timespec="microseconds"),
            effective_date=event.effective_date,
            actor=dict(event.actor),
            data=event_data(event),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
