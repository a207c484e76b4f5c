"""The application service: the only way into the domain.

Each command does get → authorise → act → save and returns plain data. The CLI, the
HTTP API and the demo all call it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError

from ruswf.app.authorization import PROPOSE, ROLE_ACTIONS, Role, may_act, roles_for
from ruswf.app.errors import (
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    InitiativeNotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from ruswf.app.idempotency import IdempotencyRecord, request_fingerprint
from ruswf.app.settings import Settings
from ruswf.app.store.locks import schema_creation_lock
from ruswf.app.views import EventView, InitiativeView, state_label
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import ActorRef, Initiative
from ruswf.domain.lifecycle import Action, Facts, State, allowed_actions
from ruswf.domain.strategy import Strategy, parse_business_date

log = structlog.get_logger("ruswf.app")

Command = Callable[[Initiative, date], None]

# `close` is taken by Application.close (releasing the store).
COMMAND_METHODS: dict[Action, str] = {Action.CLOSE: "close_initiative"}

# Body fields of each action (required, optional); `revise` takes content fields.
ACTION_FIELDS: dict[Action, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Action.SUBMIT: ((), ("comment",)),
    Action.REVISE: ((), ("comment",)),
    Action.RETURN_FOR_REVISION: (("reason",), ()),
    Action.RECORD_PREPARATION: (("memo", "recommendation"), ()),
    Action.SCHEDULE: (("council", "meeting_date"), ()),
    Action.APPROVE: (("decision_text",), ()),
    Action.REJECT: (("reason",), ()),
    Action.DEFER: (("reason", "meeting_date"), ()),
    Action.REFER_BACK: (("reason",), ()),
    Action.REPORT_PROGRESS: (("period", "status", "narrative"), ("indicator_values", "lessons")),
    Action.CLOSE: (("final_report", "lessons"), ()),
    Action.WITHDRAW: (("reason",), ()),
}


class RusApp(Application[UUID]):
    """ruswf's application: initiatives, their commands and their history."""

    name = "ruswf"
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Initiative: 50
    }

    def __init__(self, strategy: Strategy, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.strategy = strategy
        # The interval is a setting, so it is per instance; eventsourcing reads it via self.
        self.snapshotting_intervals = {Initiative: self.settings.snapshot_interval}  # type: ignore[misc]
        self._zone = ZoneInfo(strategy.timezone)
        with schema_creation_lock(self.settings):
            super().__init__(env=self.settings.eventsourcing_env())

    # -- commands ---------------------------------------------------------------

    def propose(
        self,
        actor: ActorRef,
        content: Mapping[str, Any],
        *,
        effective_date: object = None,
        idempotency_key: str | None = None,
    ) -> InitiativeView:
        """Draft a new initiative; the caller's organisation must be its lead actor."""
        started = time.perf_counter()
        role = self._role(actor)
        fingerprint = request_fingerprint(
            {"action": PROPOSE, "content": content, "effective_date": effective_date}
        )
        if idempotency_key is not None:
            replay = self._replay(actor, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        if PROPOSE not in ROLE_ACTIONS[role]:
            raise PermissionDeniedError(
                f"role '{role.value}' may not propose initiatives",
                needed_roles=[r.value for r in roles_for(PROPOSE)],
            )
        lead = content.get("lead_actor")
        if isinstance(lead, str) and self.strategy.actor(lead) and lead != actor.organisation:
            raise PermissionDeniedError(
                f"a coordinator of '{actor.organisation}' may only propose initiatives it leads "
                f"(lead_actor '{lead}' needs a coordinator of '{lead}')",
                needed_organisation=lead,
            )
        initiative = Initiative.propose(
            self.strategy, actor, content, self._business_date(effective_date)
        )
        replayed = self._save(initiative, actor, idempotency_key, fingerprint)
        if replayed is not None:
            return replayed
        self._log(PROPOSE, initiative, actor, started)
        return self._view(initiative, actor)

    def submit(
        self, initiative_id: object, actor: ActorRef, *, comment: str | None = None, **options: Any
    ) -> InitiativeView:
        """proposal → council_preparation."""
        return self._execute(
            Action.SUBMIT,
            initiative_id,
            actor,
            {"comment": comment},
            lambda i, day: i.submit(actor, day, comment),
            **options,
        )

    def revise(
        self,
        initiative_id: object,
        actor: ActorRef,
        *,
        changes: Mapping[str, Any],
        comment: str | None = None,
        **options: Any,
    ) -> InitiativeView:
        """Change content fields (proposal or council_preparation)."""

        def command(initiative: Initiative, day: date) -> None:
            lead = changes.get("lead_actor")
            new_lead = lead.strip() if isinstance(lead, str) else None
            if new_lead and self.strategy.actor(new_lead) and new_lead != actor.organisation:
                # As for `propose`: a coordinator may not hand an initiative to another
                # organisation, or the lead-actor rule could be sidestepped by a revision.
                raise PermissionDeniedError(
                    f"a coordinator of '{actor.organisation}' may not make "
                    f"'{new_lead}' the lead actor",
                    needed_organisation=new_lead,
                )
            initiative.revise(self.strategy, actor, day, changes, comment)

        return self._execute(
            Action.REVISE,
            initiative_id,
            actor,
            {"changes": changes, "comment": comment},
            command,
            **options,
        )

    def return_for_revision(
        self, initiative_id: object, actor: ActorRef, *, reason: str, **options: Any
    ) -> InitiativeView:
        """council_preparation → proposal."""
        return self._execute(
            Action.RETURN_FOR_REVISION,
            initiative_id,
            actor,
            {"reason": reason},
            lambda i, day: i.return_for_revision(actor, day, reason),
            **options,
        )

    def record_preparation(
        self,
        initiative_id: object,
        actor: ActorRef,
        *,
        memo: str,
        recommendation: str,
        **options: Any,
    ) -> InitiativeView:
        """Record the strategic group's memo and recommendation."""
        return self._execute(
            Action.RECORD_PREPARATION,
            initiative_id,
            actor,
            {"memo": memo, "recommendation": recommendation},
            lambda i, day: i.record_preparation(actor, day, memo, recommendation),
            **options,
        )

    def schedule(
        self,
        initiative_id: object,
        actor: ActorRef,
        *,
        council: str,
        meeting_date: object,
        **options: Any,
    ) -> InitiativeView:
        """council_preparation → decision, on a council meeting's agenda."""
        return self._execute(
            Action.SCHEDULE,
            initiative_id,
            actor,
            {"council": council, "meeting_date": meeting_date},
            lambda i, day: i.schedule(self.strategy, actor, day, council, meeting_date),
            **options,
        )

    def approve(
        self, initiative_id: object, actor: ActorRef, *, decision_text: str, **options: Any
    ) -> InitiativeView:
        """decision → follow_up."""
        return self._execute(
            Action.APPROVE,
            initiative_id,
            actor,
            {"decision_text": decision_text},
            lambda i, _day: i.approve(self.strategy, actor, decision_text),
            **options,
        )

    def reject(
        self, initiative_id: object, actor: ActorRef, *, reason: str, **options: Any
    ) -> InitiativeView:
        """decision → rejected."""
        return self._execute(
            Action.REJECT,
            initiative_id,
            actor,
            {"reason": reason},
            lambda i, _day: i.reject(actor, reason),
            **options,
        )

    def defer(
        self,
        initiative_id: object,
        actor: ActorRef,
        *,
        reason: str,
        meeting_date: object,
        **options: Any,
    ) -> InitiativeView:
        """Table the decision to a later meeting (stays in decision)."""
        return self._execute(
            Action.DEFER,
            initiative_id,
            actor,
            {"reason": reason, "meeting_date": meeting_date},
            lambda i, _day: i.defer(self.strategy, actor, reason, meeting_date),
            **options,
        )

    def refer_back(
        self, initiative_id: object, actor: ActorRef, *, reason: str, **options: Any
    ) -> InitiativeView:
        """decision → council_preparation (återremiss)."""
        return self._execute(
            Action.REFER_BACK,
            initiative_id,
            actor,
            {"reason": reason},
            lambda i, _day: i.refer_back(actor, reason),
            **options,
        )

    def report_progress(
        self,
        initiative_id: object,
        actor: ActorRef,
        *,
        period: str,
        status: str,
        narrative: str,
        indicator_values: object = None,
        lessons: object = None,
        **options: Any,
    ) -> InitiativeView:
        """Report progress for a reporting period (stays in follow_up)."""
        return self._execute(
            Action.REPORT_PROGRESS,
            initiative_id,
            actor,
            {
                "period": period,
                "status": status,
                "narrative": narrative,
                "indicator_values": indicator_values,
                "lessons": lessons,
            },
            lambda i, day: i.report_progress(
                self.strategy, actor, day, period, status, narrative, indicator_values, lessons
            ),
            **options,
        )

    def close_initiative(
        self,
        initiative_id: object,
        actor: ActorRef,
        *,
        final_report: str,
        lessons: object,
        **options: Any,
    ) -> InitiativeView:
        """follow_up → closed, with a final report and lessons learned."""
        return self._execute(
            Action.CLOSE,
            initiative_id,
            actor,
            {"final_report": final_report, "lessons": lessons},
            lambda i, day: i.close(actor, day, final_report, lessons),
            **options,
        )

    def withdraw(
        self, initiative_id: object, actor: ActorRef, *, reason: str, **options: Any
    ) -> InitiativeView:
        """proposal | council_preparation | decision → withdrawn."""
        return self._execute(
            Action.WITHDRAW,
            initiative_id,
            actor,
            {"reason": reason},
            lambda i, day: i.withdraw(actor, day, reason),
            **options,
        )

    def act(
        self,
        initiative_id: object,
        action: str,
        actor: ActorRef,
        body: Mapping[str, Any],
        **options: Any,
    ) -> InitiativeView:
        """Any action by name with its body's fields (what the API and CLI use).

        `effective_date` in the body is the action's business date (default: today)."""
        try:
            chosen = Action(action)
        except ValueError:
            known = ", ".join(a.value for a in Action)
            raise ValidationError("action", f"unknown action {action!r} (known: {known})") from None
        fields = dict(body)
        if "effective_date" in fields:
            options["effective_date"] = fields.pop("effective_date")
        if chosen is Action.REVISE:
            comment = fields.pop("comment", None)
            fields = {"changes": fields, "comment": comment}
        else:
            required, optional = ACTION_FIELDS[chosen]
            for name in fields:
                if name not in required and name not in optional:
                    raise ValidationError(name, f"unknown field for '{chosen.value}'")
            for name in required:
                if fields.get(name) is None:
                    raise ValidationError(name, "is required")
        command: Callable[..., InitiativeView] = getattr(
            self, COMMAND_METHODS.get(chosen, chosen.value)
        )
        return command(initiative_id, actor, **fields, **options)

    # -- queries ----------------------------------------------------------------

    def get_initiative(
        self,
        initiative_id: object,
        caller: ActorRef | None = None,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> InitiativeView:
        """The initiative now, at `version`, or as it stood at `as_of`."""
        current = self._load(initiative_id, for_update=False)
        if as_of is not None:
            moment = (as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)).astimezone(UTC)
            version = current.version_at(moment.isoformat(timespec="microseconds"))
            if version == 0:
                raise InitiativeNotFoundError(
                    initiative_id,
                    f"initiative {initiative_id} did not exist at {moment.isoformat()}",
                )
        if version is None or version == current.version:
            return self._view(current, caller)
        if version < 1:
            raise ValidationError("version", "must be at least 1")
        if version > current.version:
            raise InitiativeNotFoundError(
                initiative_id,
                f"initiative {initiative_id} has no version {version} (latest: {current.version})",
            )
        past: Initiative = self.repository.get(current.id, version=version)
        return self._view(past, caller)

    def history(self, initiative_id: object) -> list[EventView]:
        """Every event of the initiative, in order."""
        initiative = self._load(initiative_id, for_update=False)
        return [EventView.of(e) for e in self.events.get(initiative.id)]

    def allowed_for(self, initiative: Initiative, caller: ActorRef | None) -> list[str]:
        """What this caller may do now: lifecycle (with guards) ∩ role ∩ organisation."""
        return self.allowed_actions_for(
            caller, initiative.state, initiative.has_preparation, initiative.content["lead_actor"]
        )

    def allowed_actions_for(
        self, caller: ActorRef | None, state: str, has_preparation: bool, lead_actor: str
    ) -> list[str]:
        """`allowed_for` from an initiative's facts (e.g. a row of the board projection)."""
        lifecycle = allowed_actions(State(state), Facts(has_preparation=has_preparation))
        if caller is None:
            return [a.value for a in lifecycle]
        try:
            role = Role(caller.role)
        except ValueError:
            return []
        return [
            a.value for a in lifecycle if may_act(role, caller.organisation, a.value, lead_actor)
        ]

    def today(self) -> date:
        """Today in the strategy's time zone (the default business date)."""
        return datetime.now(self._zone).date()

    # -- internals --------------------------------------------------------------

    def _execute(
        self,
        action: Action,
        initiative_id: object,
        actor: ActorRef,
        request: dict[str, Any],
        command: Command,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
        effective_date: object = None,
    ) -> InitiativeView:
        started = time.perf_counter()
        role = self._role(actor)
        fingerprint = request_fingerprint(
            {
                "action": action.value,
                "initiative_id": str(initiative_id),
                "effective_date": effective_date,
                **request,
            }
        )
        if idempotency_key is not None:
            replay = self._replay(actor, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        initiative = self._load(initiative_id)
        lead = initiative.content["lead_actor"]
        if not may_act(role, actor.organisation, action.value, lead):
            raise _permission_denied(role, actor.organisation, action.value, lead)
        if expected_version is not None and expected_version != initiative.version:
            raise StaleVersionError(expected_version, initiative.version)
        command(initiative, self._business_date(effective_date))
        replayed = self._save(initiative, actor, idempotency_key, fingerprint)
        if replayed is not None:
            return replayed
        self._log(action.value, initiative, actor, started)
        return self._view(initiative, actor)

    def _save(
        self, initiative: Initiative, actor: ActorRef, key: str | None, fingerprint: str
    ) -> InitiativeView | None:
        """Save the command's event (with its idempotency record, atomically). Returns
        None, or the first result when the same keyed command won the race — a retry
        racing its original, or the store's own retry of an insert whose acknowledgement
        was lost (it committed, then the connection broke)."""
        pending: list[Aggregate] = [initiative]
        if key is not None:
            pending.append(
                IdempotencyRecord(
                    scope=_scope(actor),
                    key=key,
                    fingerprint=fingerprint,
                    initiative_id=str(initiative.id),
                    result_version=initiative.version,
                )
            )
        try:
            self.save(*pending)
        except IntegrityError:
            replayed = self._replay(actor, key, fingerprint) if key is not None else None
            if replayed is None:
                raise ConcurrencyConflictError(initiative.id) from None
            return replayed
        # The saved initiative is the newest the cache can hold: the next load then
        # fast-forwards from it (finding only other processes' events) instead of
        # decoding and applying this event again. The library leaves the cache alone
        # when it fast-forwards; a cached aggregate that lags is always safe.
        if self.repository.cache is not None:
            self.repository.cache.put(initiative.id, initiative)
        return None

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot an aggregate that reached a snapshot version from the aggregate just
        saved, instead of the library's way: reading it back from the store and replaying
        its events, a few milliseconds each time. Both give the same state (the domain
        tests check replayed against live state)."""
        if self.snapshots is None:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None or event.originator_version % interval:
                continue
            snapshot_class = getattr(type(aggregate), "Snapshot", None)
            if snapshot_class is not None and aggregate.version == event.originator_version:
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:  # a later event of the same save: its state is not in memory
                self.take_snapshot(event.originator_id, version=event.originator_version)

    def _replay(self, actor: ActorRef, key: str, fingerprint: str) -> InitiativeView | None:
        """The first result of a keyed command, if this key was used before by this caller."""
        if not isinstance(key, str) or not key.strip() or len(key) > 200:
            raise ValidationError(
                "Idempotency-Key", "must be a non-empty string of at most 200 characters"
            )
        record_id = IdempotencyRecord.create_id(scope=_scope(actor), key=key)
        try:
            record: Aggregate = self.repository.get(record_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(record, IdempotencyRecord)
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(key)
        log.info("idempotent_replay", key=key, initiative_id=record.initiative_id)
        past: Initiative = self.repository.get(
            UUID(record.initiative_id), version=record.result_version
        )
        return self._view(past, actor)

    def _load(self, initiative_id: object, *, for_update: bool = True) -> Initiative:
        """The current initiative. Reads (`for_update=False`) share the cached aggregate
        instead of copying it: they never change it."""
        try:
            uuid = initiative_id if isinstance(initiative_id, UUID) else UUID(str(initiative_id))
            found: Aggregate = self.repository.get(uuid, deepcopy_from_cache=for_update)
        except (ValueError, AggregateNotFoundError):
            raise InitiativeNotFoundError(initiative_id) from None
        if not isinstance(found, Initiative):
            raise InitiativeNotFoundError(initiative_id)
        return found

    def _role(self, actor: ActorRef) -> Role:
        try:
            role = Role(actor.role)
        except ValueError:
            raise PermissionDeniedError(f"unknown role {actor.role!r}") from None
        if self.strategy.actor(actor.organisation) is None:
            raise PermissionDeniedError(f"unknown organisation {actor.organisation!r}")
        return role

    def _business_date(self, value: object) -> date:
        if value is None:
            return self.today()
        return parse_business_date(value, "effective_date")

    def _view(self, initiative: Initiative, caller: ActorRef | None) -> InitiativeView:
        c = initiative.content
        return InitiativeView(
            id=str(initiative.id),
            version=initiative.version,
            state=initiative.state,
            state_label=state_label(initiative.state),
            title=c["title"],
            summary=c["summary"],
            goal_area=c["goal_area"],
            lead_actor=c["lead_actor"],
            priorities=list(c["priorities"]),
            partner_actors=list(c["partner_actors"]),
            principles=list(c["principles"]),
            arena=c["arena"],
            indicators=[dict(i) for i in c["indicators"]],
            allowed_actions=self.allowed_for(initiative, caller),
            proposed_by=dict(initiative.proposed_by),
            proposed_on=initiative.proposed_on,
            created_at=initiative.created_on.isoformat(timespec="microseconds"),
            updated_at=initiative.modified_on.isoformat(timespec="microseconds"),
            agenda=dict(initiative.agenda) if initiative.agenda else None,
            preparation=dict(initiative.preparation) if initiative.preparation else None,
            approval_period=initiative.approval_period,
            reported_periods=list(initiative.reported_periods),
            lessons=list(initiative.lessons),
            final_report=initiative.final_report,
            contact_person=c.get("contact_person"),
        )

    def _log(self, action: str, initiative: Initiative, actor: ActorRef, started: float) -> None:
        log.info(
            "command",
            action=action,
            initiative_id=str(initiative.id),
            user=actor.user,
            organisation=actor.organisation,
            role=actor.role,
            version=initiative.version,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )


def _scope(actor: ActorRef) -> str:
    return f"{actor.organisation}/{actor.user}"


def _permission_denied(
    role: Role, organisation: str, action: str, lead: str
) -> PermissionDeniedError:
    if action in ROLE_ACTIONS[role]:
        return PermissionDeniedError(
            f"'{action}' on this initiative needs a {role.value} of its lead actor '{lead}', "
            f"not of '{organisation}'",
            needed_roles=[role.value],
            needed_organisation=lead,
        )
    needed = [r.value for r in roles_for(action)]
    return PermissionDeniedError(
        f"role '{role.value}' may not '{action}'; needed: {' or '.join(needed) or 'no role'}",
        needed_roles=needed,
    )
