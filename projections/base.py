"""What every projection shares: the `ReadModel` base class, the tables that copy an
initiative's content (`InitiativeTable`) and the reporting calendar.

A read model is an eventsourcing `Projection` over a `View` (one implementation per
store). It declares its tables once for both stores (`Table`) and applies one initiative
event at a time inside the view's transaction; other events in the log (idempotency
records) only advance its position.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from projections.store import Json, Row, Session, Table, View, ViewSpec
from ruswf.domain.calendar import CalendarYear
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import ReportingPeriod, Strategy

InitiativeEvent = Initiative.Event | Initiative.Proposed
"""Every event of an initiative (Proposed is a Created event, the others share `Event`)."""
CalendarEvent = CalendarYear.Event | CalendarYear.Seeded
"""Every event of an adjusted year of the annual cycle (docs/calendar.md)."""
CALENDAR_EVENT_TYPES: tuple[type, ...] = (CalendarYear.Event, CalendarYear.Seeded)

OBLIGATION_STATUSES = ("due", "submitted", "overdue")
Where = tuple[list[str], dict[str, Any]]
"""The conditions of a query (joined by AND) and their parameters."""
Page = tuple[list[Row], int]
"""One page of a query's rows and how many rows match it."""


class ReadModel(Projection[View], ABC):
    """A projection into tables of the application's own database."""

    version: ClassVar[int] = 1
    """The schema version: bump it when the tables change (see docs/projections.md)."""
    tables: ClassVar[tuple[Table, ...]] = ()
    """The tables derived from events (emptied by a rebuild)."""
    reference_tables: ClassVar[tuple[Table, ...]] = ()
    """The tables derived from the strategy (refreshed by `seed`, kept by a rebuild)."""
    event_types: ClassVar[tuple[type, ...]] = (Initiative.Event, Initiative.Proposed)
    """The events `apply` is given (the others only advance the position)."""
    initiatives: ClassVar[InitiativeTable | None] = None
    """The model's table with a row per initiative (one of `tables`), if it has one: its
    row is inserted when the initiative is proposed and its content kept in step with
    revisions here, before `apply` sees the event."""

    def __init__(self, view: View, strategy: Strategy) -> None:
        super().__init__(view)
        self.strategy = strategy

    @classmethod
    def spec(cls, strategy: Strategy) -> ViewSpec:
        """The view's description of this projection's tables."""

        def seed(session: Session) -> None:
            cls.seed(strategy, session)

        return ViewSpec(
            name=cls.name,
            version=cls.version,
            derived=cls.tables,
            reference=cls.reference_tables,
            seed=seed if cls.reference_tables else None,
        )

    @classmethod
    def seed(cls, strategy: Strategy, session: Session) -> None:
        """Refresh the reference tables from the strategy (when there are any)."""

    # -- processing --------------------------------------------------------------------

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event and record its position (eventsourcing's projection interface)."""
        self.view.apply_batch([(domain_event, tracking)], self._apply_one)

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]], expected: int) -> int:
        """Apply a batch read from position `expected`, in one transaction."""
        return self.view.apply_batch(batch, self._apply_one, expected)

    def _apply_one(self, session: Session, event: Any, tracking: Tracking) -> None:
        if isinstance(event, self.event_types):
            if self.initiatives is not None:
                self._keep_initiative(self.initiatives, session, event)
            # `event_types` names what this projection's `apply` takes.
            self.apply(session, event, tracking.notification_id)  # type: ignore[arg-type]

    def _keep_initiative(self, table: InitiativeTable, session: Session, event: Any) -> None:
        if isinstance(event, Initiative.Proposed):
            table.insert_proposed(session, event, **self.proposed_values(event))
        elif isinstance(event, Initiative.Revised):
            table.revise(session, str(event.originator_id), event.changes)

    def proposed_values(self, event: Initiative.Proposed) -> dict[str, Any]:
        """The values of the `initiatives` row's own columns when it is proposed (the
        columns not given are NULL)."""
        return {}

    @abstractmethod
    def apply(self, session: Session, event: InitiativeEvent, position: int) -> None:
        """Change the tables for one initiative event at `position` in the log."""

    # -- queries -----------------------------------------------------------------------

    def page(
        self,
        table: Table,
        where: Where,
        *,
        order_by: str,
        limit: int,
        offset: int,
        columns: Sequence[str] | None = None,
    ) -> Page:
        """One page of `table`'s rows that meet every condition of `where`, in `order_by`
        order, and how many rows meet them; with `columns` (default: all of them)."""
        conditions, params = where
        clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        selected = ", ".join(table.columns if columns is None else columns)
        with self.view.read() as session:
            total = int(
                session.scalar(f"SELECT COUNT(*) AS n FROM {{{table.name}}}{clause}", params)
            )
            rows = session.fetchall(
                f"SELECT {selected} FROM {{{table.name}}}{clause}"
                f" ORDER BY {order_by} LIMIT :limit OFFSET :offset",
                {**params, "limit": limit, "offset": offset},
            )
        return rows, total


def equal_to(**values: Any) -> Where:
    """A condition `column = :column` for each column given a value (not None)."""
    given = {column: value for column, value in values.items() if value is not None}
    return [f"{column} = :{column}" for column in given], given


# -- the initiatives' content ---------------------------------------------------------


CONTENT_COLUMNS = ("title", "goal_area", "lead_actor")


@dataclass(frozen=True)
class InitiativeTable(Table):
    """A table with a row per initiative that keeps a copy of the `content` its read model
    reports by (denormalised): the row is inserted when the initiative is proposed and
    kept in step with its revisions. Its first columns are `initiative_id` (the key) and
    the content; `columns` gives the others."""

    content: tuple[str, ...] = CONTENT_COLUMNS

    def __post_init__(self) -> None:
        key_and_content = dict.fromkeys(self.content, "text NOT NULL")
        columns = {"initiative_id": "text PRIMARY KEY", **key_and_content, **self.columns}
        object.__setattr__(self, "columns", columns)

    def content_values(self, content: Mapping[str, Any]) -> dict[str, Any]:
        """The values of the content columns `content` names (a jsonb one as `Json`)."""
        json_columns = self._json_content
        return {
            column: Json(content[column]) if column in json_columns else content[column]
            for column in self.content
            if column in content
        }

    @cached_property
    def _json_content(self) -> frozenset[str]:
        return self.columns_of_type("jsonb") & frozenset(self.content)

    def insert_proposed(self, session: Session, event: Initiative.Proposed, **values: Any) -> None:
        """Insert the proposed initiative's row: its id, its content and the other
        `values` given (the columns not given are NULL)."""
        content = self.content_values(event.content)
        self.insert(session, {"initiative_id": str(event.originator_id), **content, **values})

    def revise(self, session: Session, initiative_id: str, changes: Mapping[str, Any]) -> None:
        """Copy a revision's changes to the content into the initiative's row."""
        changed = self.content_values(changes)
        if changed:
            assignments = ", ".join(f"{column} = :{column}" for column in changed)
            session.execute(
                f"UPDATE {{{self.name}}} SET {assignments} WHERE initiative_id = :id",
                {**changed, "id": initiative_id},
            )


# -- the reporting calendar ------------------------------------------------------------


def day(value: str) -> date:
    """A business date carried by an event."""
    return date.fromisoformat(value)


def next_period(strategy: Strategy, period: ReportingPeriod) -> ReportingPeriod:
    """The reporting period after `period`."""
    return strategy.period_of(period.end + timedelta(days=1))


def owed_periods(
    strategy: Strategy, first_start: date, closing_start: date | None, today: date
) -> list[ReportingPeriod]:
    """The periods an approved initiative owes a progress report for, as of `today`.

    From the approval's period on, every period that has ended before `today` (a report
    is about a period, so it is owed once the period is over); a closed initiative owes
    none from the period of its closing on (its final report covers that one).
    """
    owed: list[ReportingPeriod] = []
    period = strategy.period_of(first_start)
    while period.end < today and (closing_start is None or period.start < closing_start):
        owed.append(period)
        period = next_period(strategy, period)
    return owed


def obligation_status(due: date, submitted: bool, today: date) -> str:
    """`submitted`; else `overdue` once its due date has passed; else `due`."""
    if submitted:
        return "submitted"
    return "overdue" if due < today else "due"
