"""The Initiative aggregate ("insats"): one event per fact, the lifecycle as its guard.

Command methods check invariants (input, then the lifecycle), then record an event.
Each event's `apply` only changes state, so replaying history never re-runs a guard.
Events carry user and organisation ids, never people's names or contact details.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate, event

from ruswf.domain.calendar import MeetingCalendar, find_meeting
from ruswf.domain.commands import (
    Approve,
    Close,
    Command,
    Context,
    Defer,
    Propose,
    RecordPreparation,
    ReferBack,
    Reject,
    ReportProgress,
    ReturnForRevision,
    Revise,
    Schedule,
    Submit,
    Withdraw,
)
from ruswf.domain.content import is_finite_number, validate_changes, validate_content
from ruswf.domain.errors import MeetingCancelledError, ValidationError
from ruswf.domain.lifecycle import Action, Facts, State, allowed_actions, next_state
from ruswf.domain.strategy import Meeting, meeting_id

EVENT_ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "effective_date",
    }
)
"""The fields of an event that are bookkeeping (who, when, which version), not its data."""


def event_data(event: object) -> dict[str, Any]:
    """An event's business data: its fields other than the envelope."""
    return {k: v for k, v in vars(event).items() if k not in EVENT_ENVELOPE}


def _agenda(council: str, meeting_date: str, meeting_id: str) -> dict[str, str]:
    """An initiative's place on an agenda: the council meeting it is scheduled for."""
    return {"council": council, "meeting_date": meeting_date, "meeting_id": meeting_id}


def _upcast_meeting_id(date_field: str, id_field: str) -> staticmethod[[dict[str, Any]], None]:
    """An event's upcast from version 1: before meetings could move, a meeting's id was
    its council and date, so a v1 event gets the id of its council and `date_field`."""

    def upcast(state: dict[str, Any]) -> None:
        state[id_field] = meeting_id(state["council"], date.fromisoformat(state[date_field]))

    return staticmethod(upcast)


class Initiative(Aggregate):
    """An initiative of the regional development strategy."""

    # -- events -----------------------------------------------------------------

    class Event(Aggregate.Event):
        """Every event records who acted and the business date it belongs to."""

        actor: dict[str, str]
        effective_date: str

        def apply(self, aggregate: Initiative) -> None:
            aggregate.timeline.append(self.timestamp.isoformat(timespec="microseconds"))
            aggregate.last_actor = self.actor
            self.change(aggregate)

        def change(self, aggregate: Initiative) -> None:
            """The event's effect on the aggregate's state."""

    class Proposed(Aggregate.Created):
        content: dict[str, Any]
        actor: dict[str, str]
        effective_date: str

    class Submitted(Event):
        comment: str

        def change(self, aggregate: Initiative) -> None:
            aggregate.state = State.COUNCIL_PREPARATION.value

    class Revised(Event):
        changes: dict[str, Any]
        comment: str

        def change(self, aggregate: Initiative) -> None:
            aggregate.content = {**aggregate.content, **self.changes}

    class ReturnedForRevision(Event):
        reason: str

        def change(self, aggregate: Initiative) -> None:
            aggregate.state = State.PROPOSAL.value

    class PreparationRecorded(Event):
        memo: str
        recommendation: str

        def change(self, aggregate: Initiative) -> None:
            aggregate.has_preparation = True
            aggregate.preparation = {"memo": self.memo, "recommendation": self.recommendation}

    class Scheduled(Event):
        council: str
        meeting_date: str
        meeting_id: str
        class_version = 2
        upcast_v1_v2 = _upcast_meeting_id("meeting_date", "meeting_id")

        def change(self, aggregate: Initiative) -> None:
            aggregate.state = State.DECISION.value
            aggregate.agenda = _agenda(self.council, self.meeting_date, self.meeting_id)

    class Decided(Event):
        """A council's decision that takes the initiative off the agenda, into the
        state `outcome` (not an event of its own: the base of those that are)."""

        outcome: ClassVar[State]

        def change(self, aggregate: Initiative) -> None:
            aggregate.state = self.outcome.value
            aggregate.agenda = None
            aggregate.decisions += 1

    class Approved(Decided):
        decision_text: str
        council: str
        meeting_date: str
        period: str
        outcome = State.FOLLOW_UP

        def change(self, aggregate: Initiative) -> None:
            super().change(aggregate)
            aggregate.approval_period = self.period

    class Rejected(Decided):
        reason: str
        council: str
        meeting_date: str
        outcome = State.REJECTED

    class Deferred(Event):
        reason: str
        council: str
        meeting_date: str
        next_meeting_date: str
        next_meeting_id: str
        class_version = 2
        upcast_v1_v2 = _upcast_meeting_id("next_meeting_date", "next_meeting_id")

        def change(self, aggregate: Initiative) -> None:
            aggregate.agenda = _agenda(self.council, self.next_meeting_date, self.next_meeting_id)
            aggregate.decisions += 1

    class ReferredBack(Decided):
        reason: str
        council: str
        meeting_date: str
        outcome = State.COUNCIL_PREPARATION

    class ProgressReported(Event):
        period: str
        status: str
        narrative: str
        indicator_values: dict[str, Any]
        lessons: list[str]

        def change(self, aggregate: Initiative) -> None:
            if self.period not in aggregate.reported_periods:
                aggregate.reported_periods.append(self.period)
            aggregate.lessons.extend(self.lessons)

    class Closed(Event):
        final_report: str
        lessons: list[str]

        def change(self, aggregate: Initiative) -> None:
            aggregate.state = State.CLOSED.value
            aggregate.final_report = self.final_report
            aggregate.lessons.extend(self.lessons)

    class Withdrawn(Event):
        reason: str

        def change(self, aggregate: Initiative) -> None:
            aggregate.state = State.WITHDRAWN.value
            aggregate.agenda = None

    # -- creation ---------------------------------------------------------------

    @event(Proposed)
    def __init__(self, content: dict[str, Any], actor: dict[str, str], effective_date: str) -> None:
        self.content = content
        self.state = State.PROPOSAL.value
        self.proposed_by = actor
        self.proposed_on = effective_date
        self.last_actor = actor
        # The recorded time of each version; `Event.apply` (which Proposed inherits)
        # appends this event's own time after __init__ has run.
        self.timeline: list[str] = []
        self.has_preparation = False
        self.preparation: dict[str, str] | None = None
        self.agenda: dict[str, str] | None = None
        self.approval_period: str | None = None
        self.decisions = 0
        self.reported_periods: list[str] = []
        self.lessons: list[str] = []
        self.final_report: str | None = None

    @classmethod
    def propose(cls, ctx: Context, cmd: Propose) -> Initiative:
        """Draft a new initiative (state `proposal`)."""
        return cls(
            content=validate_content(ctx.strategy, cmd.content()),
            actor=ctx.actor.as_dict(),
            effective_date=ctx.day.isoformat(),
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Initiative:
        """The repository copies a cached aggregate before each command, so that a
        command that fails leaves the cache as it was. Events change an initiative only
        by assigning new values (every dict is replaced whole, never changed in place)
        and by appending to its lists; so the copy needs lists of its own and can share
        every other value (tests/domain/test_copy.py takes every action on a copy)."""
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        clone.__dict__.update(
            (name, list(value) if isinstance(value, list) else value)
            for name, value in self.__dict__.items()
        )
        return clone

    # -- queries ----------------------------------------------------------------

    @property
    def lifecycle_state(self) -> State:
        return State(self.state)

    @property
    def facts(self) -> Facts:
        return Facts(has_preparation=self.has_preparation)

    def allowed_actions(self) -> tuple[Action, ...]:
        """Actions the lifecycle allows now, before roles and organisations."""
        return allowed_actions(self.lifecycle_state, self.facts)

    def version_at(self, moment: str) -> int:
        """The version this initiative had at `moment` (ISO 8601, UTC); 0 before it existed."""
        return bisect_right(self.timeline, moment)

    # -- commands ---------------------------------------------------------------
    # One method per action, each `(context, command)`: check the lifecycle, normalise
    # the command's input (its own constraints), check what needs the strategy or this
    # initiative, record the event.

    def _check(self, action: Action) -> None:
        next_state(self.lifecycle_state, action, self.facts)

    def submit(self, ctx: Context, cmd: Submit) -> None:
        """Send the proposal to the strategic group for council preparation."""
        self._check(Action.SUBMIT)
        cmd = cmd.normalised()
        self._record(self.Submitted, ctx, ctx.day, comment=cmd.comment or "")

    def revise(self, ctx: Context, cmd: Revise) -> None:
        """Change content fields while in proposal or council preparation."""
        self._check(Action.REVISE)
        cmd = cmd.normalised()
        valid = validate_changes(ctx.strategy, self.content, cmd.changes)
        self._record(self.Revised, ctx, ctx.day, changes=valid, comment=cmd.comment or "")

    def return_for_revision(self, ctx: Context, cmd: ReturnForRevision) -> None:
        """Send it back to the proposer for revision."""
        self._check(Action.RETURN_FOR_REVISION)
        self._record(self.ReturnedForRevision, ctx, ctx.day, reason=cmd.normalised().reason)

    def record_preparation(self, ctx: Context, cmd: RecordPreparation) -> None:
        """Record the strategic group's memo and recommendation."""
        self._check(Action.RECORD_PREPARATION)
        cmd = cmd.normalised()
        self._record(
            self.PreparationRecorded,
            ctx,
            ctx.day,
            memo=cmd.memo,
            recommendation=cmd.recommendation,
        )

    def schedule(self, ctx: Context, cmd: Schedule) -> None:
        """Put it on the agenda of a council meeting of the annual cycle."""
        self._check(Action.SCHEDULE)
        cmd = cmd.normalised()
        meeting = _meeting(ctx, cmd.council, cmd.meeting_date, "meeting_date", "schedule")
        self._record(
            self.Scheduled,
            ctx,
            ctx.day,
            council=cmd.council,
            meeting_date=meeting.date.isoformat(),
            meeting_id=meeting.id,
        )

    def approve(self, ctx: Context, cmd: Approve) -> None:
        """Record the council's approval; the initiative moves to follow-up."""
        self._check(Action.APPROVE)
        cmd = cmd.normalised()
        meeting = self._meeting_on_agenda(ctx.calendar, "approve")
        self._record(
            self.Approved,
            ctx,
            meeting,
            decision_text=cmd.decision_text,
            period=ctx.strategy.period_of(meeting).id,
            **self._agenda_fields(meeting),
        )

    def reject(self, ctx: Context, cmd: Reject) -> None:
        """Record the council's rejection (avslag)."""
        self._decide_with_reason(ctx, cmd, self.Rejected)

    def defer(self, ctx: Context, cmd: Defer) -> None:
        """Table the decision (bordläggning) to a later meeting of the same council. This
        is also how an initiative on a cancelled meeting's agenda gets a new meeting."""
        self._check(Action.DEFER)
        cmd = cmd.normalised()
        current = self._meeting_on_agenda(ctx.calendar, None)
        assert self.agenda is not None
        later = _meeting(ctx, self.agenda["council"], cmd.meeting_date, "meeting_date", "defer")
        if later.date <= current:
            raise ValidationError(
                "meeting_date", f"must be a meeting after the current one ({current.isoformat()})"
            )
        self._record(
            self.Deferred,
            ctx,
            current,
            reason=cmd.reason,
            next_meeting_date=later.date.isoformat(),
            next_meeting_id=later.id,
            **self._agenda_fields(current),
        )

    def refer_back(self, ctx: Context, cmd: ReferBack) -> None:
        """Send it back for further preparation (återremiss)."""
        self._decide_with_reason(ctx, cmd, self.ReferredBack)

    def report_progress(self, ctx: Context, cmd: ReportProgress) -> None:
        """Report progress for one reporting period."""
        self._check(Action.REPORT_PROGRESS)
        cmd = cmd.normalised()
        reported = ctx.strategy.period(cmd.period)
        assert self.approval_period is not None
        approved_in = ctx.strategy.period(self.approval_period)
        if reported < approved_in:
            raise ValidationError(
                "period", f"must not be before the approval's period ({approved_in.id})"
            )
        self._record(
            self.ProgressReported,
            ctx,
            ctx.day,
            period=reported.id,
            status=cmd.status,
            narrative=cmd.narrative,
            indicator_values=self._indicator_values(cmd.indicator_values),
            lessons=cmd.lessons or [],
        )

    def close(self, ctx: Context, cmd: Close) -> None:
        """Close with a final report and at least one lesson learned."""
        self._check(Action.CLOSE)
        cmd = cmd.normalised()
        self._record(self.Closed, ctx, ctx.day, final_report=cmd.final_report, lessons=cmd.lessons)

    def withdraw(self, ctx: Context, cmd: Withdraw) -> None:
        """Withdraw the initiative (by its proposer)."""
        self._check(Action.WITHDRAW)
        self._record(self.Withdrawn, ctx, ctx.day, reason=cmd.normalised().reason)

    def execute(self, ctx: Context, cmd: Command) -> None:
        """Take the action `cmd` stands for (dispatch on its type)."""
        method: Callable[[Context, Any], None] = getattr(self, cmd.action)
        method(ctx, cmd)

    # -- helpers ----------------------------------------------------------------

    def _record(
        self, event_class: type[Event], ctx: Context, effective_date: date, **fields: Any
    ) -> None:
        self.trigger_event(
            event_class,
            actor=ctx.actor.as_dict(),
            effective_date=effective_date.isoformat(),
            **fields,
        )

    def _decide_with_reason(
        self, ctx: Context, cmd: Reject | ReferBack, event_class: type[Decided]
    ) -> None:
        """Record a council's decision that gives a reason, at the meeting on the agenda."""
        self._check(Action(cmd.action))
        meeting = self._meeting_on_agenda(ctx.calendar, cmd.action)
        self._record(
            event_class,
            ctx,
            meeting,
            reason=cmd.normalised().reason,
            **self._agenda_fields(meeting),
        )

    def _meeting_on_agenda(self, calendar: MeetingCalendar, action: str | None) -> date:
        """The date of the meeting on the agenda, as the calendar has it now (a moved
        meeting takes its agenda along). A decision (`action`) at a cancelled meeting is
        refused; a deferral (`action` None) from one is how it gets a new meeting."""
        agenda = self.agenda
        assert agenda is not None, "a decision needs the initiative on an agenda"
        found = _agenda_meeting(agenda, calendar)
        if found is None:
            return date.fromisoformat(agenda["meeting_date"])
        if found.cancelled and action is not None:
            raise MeetingCancelledError(found.id, action)
        return found.date

    def agenda_now(self, calendar: MeetingCalendar) -> dict[str, str] | None:
        """The agenda with its meeting's date as the calendar has it now. The agenda is
        read once: a read shares the cached aggregate, which another thread's load may
        bring forward meanwhile (events replace the agenda whole, never change it)."""
        agenda = self.agenda
        if agenda is None:
            return None
        found = _agenda_meeting(agenda, calendar)
        now = dict(agenda)
        if found is not None:
            now.update(meeting_date=found.date.isoformat(), meeting_id=found.id)
            if found.cancelled:
                now["meeting_status"] = found.status
        return now

    def _agenda_fields(self, meeting: date) -> dict[str, str]:
        assert self.agenda is not None
        return {"council": self.agenda["council"], "meeting_date": meeting.isoformat()}

    def _indicator_values(self, raw: object) -> dict[str, Any]:
        """`{name: value}` or `[{name, value}]`, for indicators this initiative has."""
        if raw is None:
            return {}
        if isinstance(raw, list):
            pairs = {}
            for index, item in enumerate(raw):
                if not isinstance(item, Mapping) or set(item) != {"name", "value"}:
                    raise ValidationError(f"indicator_values[{index}]", "must be {name, value}")
                if not isinstance(item["name"], str):
                    raise ValidationError(f"indicator_values[{index}].name", "must be a string")
                pairs[item["name"]] = item["value"]
            raw = pairs
        if not isinstance(raw, Mapping):
            raise ValidationError("indicator_values", "must map indicator names to numbers")
        known = {i["name"] for i in self.content["indicators"]}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in known:
                raise ValidationError(
                    f"indicator_values.{name}", "not an indicator of this initiative"
                )
            if not is_finite_number(value):
                raise ValidationError(f"indicator_values.{name}", "must be a number")
            values[name] = value
        return values


def _agenda_meeting(agenda: Mapping[str, str], calendar: MeetingCalendar) -> Meeting | None:
    """The meeting an agenda names, wherever the calendar has it now."""
    council, on = agenda["council"], date.fromisoformat(agenda["meeting_date"])
    return find_meeting(calendar, agenda.get("meeting_id") or meeting_id(council, on))


def _meeting(ctx: Context, council: str, day: date, field: str, action: str) -> Meeting:
    """A planned meeting of a deciding council in the annual cycle (the strategy's rules
    with the adjustments made to them)."""
    deciding = [c.id for c in ctx.strategy.deciding_councils]
    if council not in deciding:
        raise ValidationError("council", f"must be one of {', '.join(deciding)}")
    meeting = ctx.calendar.meeting(council, day)
    if meeting is None:
        dates = ", ".join(
            m.date.isoformat() for m in ctx.calendar.meetings(day.year, council) if not m.cancelled
        )
        raise ValidationError(
            field,
            f"{council} has no meeting on {day.isoformat()} (its meetings in {day.year}: {dates})",
        )
    if meeting.cancelled:
        raise MeetingCancelledError(meeting.id, action)
    return meeting
