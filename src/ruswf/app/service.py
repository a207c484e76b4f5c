"""The application service: the only way into the domain.

Each command does get → authorise → act → save and returns plain data. The CLI, the
HTTP API and the demo all call it.
"""

from __future__ import annotations

import dataclasses
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
from ruswf.app.calendar import StoredCalendar
from ruswf.app.errors import (
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    InitiativeNotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from ruswf.app.histories import Histories
from ruswf.app.idempotency import IdempotencyRecord, request_fingerprint
from ruswf.app.labels import state_label
from ruswf.app.settings import Settings
from ruswf.app.store.locks import schema_creation_lock
from ruswf.app.views import EventView, InitiativeView
from ruswf.domain.commands import (
    ActorRef,
    Command,
    Context,
    Propose,
    command_from_body,
)
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import Initiative
from ruswf.domain.lifecycle import Action, Facts, State, allowed_actions
from ruswf.domain.strategy import Strategy, parse_business_date

log = structlog.get_logger("ruswf.app")

LEAD_ACTOR_ACTIONS = frozenset({PROPOSE, Action.REVISE.value})
"""The actions after which a coordinator's organisation must lead the initiative: on the
normalised content, so that neither a proposal nor a revision can hand it to another."""


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
        # The meetings commands may refer to: the annual cycle with its adjustments
        # (docs/calendar.md), on this store.
        self.calendar = StoredCalendar(self)
        self._histories = Histories(lambda uuid, after: self.events.get(uuid, gt=after))

    # -- commands ---------------------------------------------------------------

    def propose(
        self, command: Propose, actor: ActorRef, *, idempotency_key: str | None = None
    ) -> InitiativeView:
        """Draft a new initiative; the caller's organisation must be its lead actor.

        Authorised before anything else (a retry included), on the normalised content:
        `" harnosand"` is `harnosand` when the organisation is compared."""
        started = time.perf_counter()
        role = self._role(actor)
        if PROPOSE not in ROLE_ACTIONS[role]:
            raise PermissionDeniedError(
                f"role '{role.value}' may not propose initiatives",
                needed_roles=[r.value for r in roles_for(PROPOSE)],
            )
        fingerprint = request_fingerprint(
            {
                "action": PROPOSE,
                "content": command.content(),
                "effective_date": command.effective_date,
            }
        )
        return self._once(
            PROPOSE,
            lambda: Initiative.propose(self._context(actor, command), command),
            actor,
            idempotency_key,
            fingerprint,
            started,
        )

    def execute(
        self,
        initiative_id: object,
        command: Command,
        actor: ActorRef,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> InitiativeView:
        """Take one lifecycle action: get → authorise → (replay) → act → save.

        A keyed retry is authorised like a first request, so it never answers what the
        caller may not do now."""
        started = time.perf_counter()
        role = self._role(actor)
        action = command.action
        initiative = self._load(initiative_id)
        lead = initiative.content["lead_actor"]
        if not may_act(role, actor.organisation, action, lead):
            raise _permission_denied(role, actor.organisation, action, lead)
        fingerprint = request_fingerprint(
            {"action": action, "initiative_id": str(initiative_id), **_fields(command)}
        )

        def acted() -> Initiative:
            if expected_version is not None and expected_version != initiative.version:
                raise StaleVersionError(expected_version, initiative.version)
            initiative.execute(self._context(actor, command), command)
            return initiative

        return self._once(action, acted, actor, idempotency_key, fingerprint, started)

    def act(
        self,
        initiative_id: object,
        action: str,
        actor: ActorRef,
        body: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> InitiativeView:
        """Any action by name with a request body's fields (the API and the CLI)."""
        return self.execute(
            initiative_id,
            command_from_body(action, body),
            actor,
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )

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
        return self._histories.upto(initiative.id, initiative.version)

    def current_with_history(
        self, initiative_id: object, caller: ActorRef | None = None
    ) -> tuple[InitiativeView, list[EventView]]:
        """The initiative now and every event of it, from one load (the initiative page)."""
        initiative = self._load(initiative_id, for_update=False)
        return self._view(initiative, caller), self._histories.upto(
            initiative.id, initiative.version
        )

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

    def _context(self, actor: ActorRef, command: Command) -> Context:
        day = command.effective_date
        return Context(
            actor=actor,
            day=self.today() if day is None else parse_business_date(day, "effective_date"),
            strategy=self.strategy,
            calendar=self.calendar,
        )

    def _check_lead_actor(self, initiative: Initiative, actor: ActorRef) -> None:
        """The (normalised) lead actor must be the caller's organisation."""
        lead = initiative.content["lead_actor"]
        if lead != actor.organisation:
            raise PermissionDeniedError(
                f"a coordinator of '{actor.organisation}' may only propose or revise "
                f"initiatives it leads (lead_actor '{lead}' needs a coordinator of '{lead}')",
                needed_organisation=lead,
            )

    def _once(
        self,
        action: str,
        act: Callable[[], Initiative],
        actor: ActorRef,
        key: str | None,
        fingerprint: str,
        started: float,
    ) -> InitiativeView:
        """A keyed retry's first result (checked after authorisation, before the
        command's own checks); otherwise the initiative `act` changes, saved."""
        replay = self._replay(actor, key, fingerprint)
        if replay is not None:
            return replay
        initiative = act()
        if action in LEAD_ACTOR_ACTIONS:
            self._check_lead_actor(initiative, actor)
        return self._commit(action, initiative, actor, key, fingerprint, started)

    def _commit(
        self,
        action: str,
        initiative: Initiative,
        actor: ActorRef,
        key: str | None,
        fingerprint: str,
        started: float,
    ) -> InitiativeView:
        """Save the command's event (with its idempotency record, atomically), log it and
        answer the view; or answer the first result when the same keyed command won the
        race — a retry racing its original, or the store's own retry of an insert whose
        acknowledgement was lost (it committed, then the connection broke)."""
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
            replayed = self._replay(actor, key, fingerprint)
            if replayed is None:
                raise ConcurrencyConflictError(initiative.id) from None
            return replayed
        # The saved initiative is the newest the cache can hold: the next load then
        # fast-forwards from it (finding only other processes' events) instead of
        # decoding and applying this event again. The library leaves the cache alone
        # when it fast-forwards; a cached aggregate that lags is always safe.
        if self.repository.cache is not None:
            self.repository.cache.put(initiative.id, initiative)
        self._log(action, initiative, actor, started)
        return self._view(initiative, actor)

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

    def _replay(self, actor: ActorRef, key: str | None, fingerprint: str) -> InitiativeView | None:
        """The first result of a keyed command, if this key was used before by this caller."""
        if key is None:
            return None
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
            agenda=initiative.agenda_now(self.calendar),
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


def _fields(command: Command) -> dict[str, Any]:
    """A command's fields, as the idempotency fingerprint has always hashed them."""
    return {f.name: getattr(command, f.name) for f in dataclasses.fields(command)}


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
