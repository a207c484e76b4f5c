"""E-mail reminders of progress reports due and overdue (docs/integrations.md).

Who owes what comes from the obligations read model (passed in as an
`ObligationSource`: the application does not import the projections); who is told
comes from the people registry (`People.reminder_recipients`). Addresses never enter
the event log: each reminder is a `Reminder` aggregate whose id is derived from
(kind, initiative, period, person id, day), so the log says what was sent to which
person id when, and two senders cannot both record the same reminder.

Sending one reminder:
1. claim it: save the aggregate's first event (`ReminderClaimed`), or, for an earlier
   failed or abandoned claim, its next one. The event store lets exactly one claimer
   in; the others skip it.
2. send the message with every item this run claimed for that person;
3. record `ReminderSent` (with the message's Message-ID) once the server accepted it,
   or `ReminderFailed` (with the server's answer) when it refused; a failed reminder is
   claimed again by the next run.

A sender that dies between sending and recording leaves a claim; after
`CLAIM_EXPIRY` another run takes it over and sends again. That is the one window in
which a person can get a reminder twice (at most once more per crash): the SMTP
server accepted a message whose acceptance was never recorded.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from ruswf.app.audit.people import People, Recipient
from ruswf.app.notify.mailer import Mailer, MailerUnavailableError, MessageRefusedError
from ruswf.app.notify.texts import Rendered, Texts
from ruswf.app.service import RusApp

log = structlog.get_logger("ruswf.reminders")

REMINDER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ruswf:reminder")
CLAIM_EXPIRY = timedelta(minutes=15)
"""A claim older than this without `ReminderSent` or `ReminderFailed` was abandoned (its
sender died): another run may take it over."""
REPORT, DIGEST = "report", "digest"
SENDER = "ruswf-reminders"


class ObligationSource(Protocol):
    """The obligations read model: every obligation as of `today`, each a dict with
    `initiative_id`, `title`, `actor`, `period`, `due_date` and `status`."""

    def __call__(self, today: date) -> list[dict[str, Any]]: ...


_FACTS = ("kind", "initiative_id", "period", "organisation", "person_id", "day", "actor")
"""What every reminder event repeats (`Reminder.Event`), besides its date (the day)."""


class Reminder(Aggregate):
    """One reminder: of one obligation, to one person, on one day."""

    @staticmethod
    def create_id(
        kind: str, initiative_id: str, period: str, person_id: str, day: str, **_: Any
    ) -> UUID:
        return uuid5(REMINDER_NAMESPACE, f"{kind}\n{initiative_id}\n{period}\n{person_id}\n{day}")

    class Event(Aggregate.Event):
        """Every reminder event names the obligation, the person id and the day, so the
        audit trail can show it on its own."""

        kind: str
        initiative_id: str
        period: str
        organisation: str
        person_id: str
        day: str
        actor: dict[str, str]
        effective_date: str

    class ReminderClaimed(Aggregate.Created, Event):
        claimed_by: str

    class ReminderReclaimed(Event):
        claimed_by: str

        def apply(self, aggregate: Reminder) -> None:
            aggregate.state = "claimed"
            aggregate.claimed_by = self.claimed_by

    class ReminderSent(Event):
        message_id: str

        def apply(self, aggregate: Reminder) -> None:
            aggregate.state = "sent"
            aggregate.message_id = self.message_id

    class ReminderFailed(Event):
        reason: str

        def apply(self, aggregate: Reminder) -> None:
            aggregate.state = "failed"

    @event(ReminderClaimed)
    def __init__(
        self,
        kind: str,
        initiative_id: str,
        period: str,
        organisation: str,
        person_id: str,
        day: str,
        actor: dict[str, str],
        effective_date: str,
        claimed_by: str,
    ) -> None:
        self.kind = kind
        self.initiative_id = initiative_id
        self.period = period
        self.organisation = organisation
        self.person_id = person_id
        self.day = day
        self.actor = actor
        self.state = "claimed"
        self.claimed_by = claimed_by
        self.message_id: str | None = None

    def _facts(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FACTS} | {"effective_date": self.day}

    def reclaim(self, claimed_by: str) -> None:
        self.trigger_event(self.ReminderReclaimed, claimed_by=claimed_by, **self._facts())

    def sent(self, message_id: str) -> None:
        self.trigger_event(self.ReminderSent, message_id=message_id, **self._facts())

    def failed(self, reason: str) -> None:
        self.trigger_event(self.ReminderFailed, reason=reason[:500], **self._facts())


REMINDER_EVENTS = (Reminder.ReminderSent, Reminder.ReminderFailed)
"""The reminder events the audit trail shows (claims are bookkeeping)."""


@dataclass(frozen=True)
class Planned:
    """One message: to one person, about some obligations."""

    kind: str
    recipient: Recipient
    items: tuple[dict[str, Any], ...]


@dataclass
class Outcome:
    """What happened to one planned message."""

    kind: str
    person_id: str
    organisation: str
    items: int
    status: str  # sent | refused | unsent (already sent today, or claimed elsewhere)
    message_id: str | None = None
    reason: str | None = None


@dataclass
class RunReport:
    today: date
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None
    """Set when the SMTP server became unavailable mid-run (the run stopped)."""

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def convener_organisations(app: RusApp) -> list[str]:
    """The organisations that convene the strategy's preparing group(s) (RUS 2030: the
    strategic RUS group, convened by Region Västernorrland): they get the digest."""
    found = [c.convener for c in app.strategy.councils if c.kind == "preparatory" and c.convener]
    return sorted(set(found))


class Reminders:
    """Plans and sends the reminders of one day."""

    def __init__(
        self,
        app: RusApp,
        people: People,
        obligations: ObligationSource,
        *,
        mailer_factory: Callable[[], Mailer] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app = app
        self.people = people
        self.obligations = obligations
        settings = app.settings
        self.days = settings.reminder_days
        self.texts = Texts(app.strategy, settings.public_url, settings.reminder_days)
        self._mailer_factory = mailer_factory or (lambda: Mailer(app.settings))
        self._clock = clock
        self.sender_id = f"{socket.gethostname()}:{os.getpid()}"

    # -- planning -----------------------------------------------------------------------

    def plan(self, today: date) -> list[Planned]:
        """Every message of `today`, before looking at what was already sent."""
        horizon = today + timedelta(days=self.days)
        owed = [
            o
            for o in self.obligations(today)
            if o["status"] == "overdue"
            or (o["status"] == "due" and date.fromisoformat(o["due_date"]) <= horizon)
        ]
        by_actor: dict[str, list[dict[str, Any]]] = {}
        for obligation in owed:
            by_actor.setdefault(obligation["actor"], []).append(obligation)
        planned: list[Planned] = []
        for recipient in self.people.reminder_recipients():
            items = by_actor.get(recipient.organisation, [])
            if items:
                planned.append(Planned(REPORT, recipient, tuple(items)))
        overdue = tuple(o for o in owed if o["status"] == "overdue")
        if overdue:
            for organisation in convener_organisations(self.app):
                for recipient in self.people.reminder_recipients(organisation):
                    planned.append(Planned(DIGEST, recipient, overdue))
        return planned

    def unsent(self, planned: Planned, today: date) -> list[dict[str, Any]]:
        """The items of `planned` not sent yet today (what a run would send now)."""
        found = []
        for item in planned.items:
            reminder_id = Reminder.create_id(
                planned.kind,
                item["initiative_id"],
                item["period"],
                planned.recipient.person_id,
                today.isoformat(),
            )
            try:
                reminder: Any = self.app.repository.get(reminder_id)
            except AggregateNotFoundError:
                found.append(item)
                continue
            if reminder.state != "sent":
                found.append(item)
        return found

    def render(self, planned: Planned, items: Sequence[dict[str, Any]], today: date) -> Rendered:
        r = planned.recipient
        if planned.kind == DIGEST:
            return self.texts.digest(r.name, r.organisation, r.language, items, today)
        return self.texts.report(r.name, r.organisation, r.language, items)

    # -- sending ------------------------------------------------------------------------

    def send(self, today: date) -> RunReport:
        """Send `today`'s reminders not sent yet. Raises `MailerUnavailableError` (having
        recorded nothing as sent) when the SMTP server cannot be used at the start; when
        it fails mid-run, the report carries the error and the rest waits for the next
        run."""
        planned = self.plan(today)
        report = RunReport(today)
        if not planned:
            return report
        with self._mailer_factory() as mailer:
            for message in planned:
                try:
                    report.outcomes.append(self._send_one(mailer, message, today))
                except MailerUnavailableError as error:
                    report.error = str(error)
                    log.warning("reminders_smtp_lost", error=str(error))
                    break
        log.info(
            "reminders_sent",
            today=today.isoformat(),
            sent=report.count("sent"),
            refused=report.count("refused"),
            error=report.error,
        )
        return report

    def _send_one(self, mailer: Mailer, planned: Planned, today: date) -> Outcome:
        recipient = planned.recipient
        claimed = [
            (item, reminder)
            for item in planned.items
            if (reminder := self._claim(planned.kind, item, recipient, today)) is not None
        ]
        outcome = Outcome(planned.kind, recipient.person_id, recipient.organisation, 0, "unsent")
        if not claimed:
            return outcome
        items = [item for item, _ in claimed]
        message = self._message(planned, items, today, mailer.sender)
        message_id = str(message["Message-ID"])
        try:
            mailer.send(message)
        except MessageRefusedError as refused:
            reason = str(refused)
            self._record(claimed, lambda r: r.failed(reason))
            log.warning("reminder_refused", person_id=recipient.person_id, reason=str(refused))
            return Outcome(
                planned.kind,
                recipient.person_id,
                recipient.organisation,
                len(items),
                "refused",
                reason=str(refused),
            )
        except MailerUnavailableError as lost:
            # Unknown whether the server took it: release the claims so the next run
            # sends it (the at-most-one-duplicate window of the module docstring).
            lost_reason = str(lost)
            self._record(claimed, lambda r: r.failed(lost_reason))
            raise
        self._record(claimed, lambda r: r.sent(message_id))
        log.info(
            "reminder_sent",
            person_id=recipient.person_id,
            kind=planned.kind,
            items=len(items),
            message_id=message_id,
        )
        return Outcome(
            planned.kind,
            recipient.person_id,
            recipient.organisation,
            len(items),
            "sent",
            message_id=message_id,
        )

    def _claim(
        self, kind: str, item: dict[str, Any], recipient: Recipient, today: date
    ) -> Reminder | None:
        """This run's claim on one reminder, or None when it was sent already or another
        sender holds a live claim on it."""
        day = today.isoformat()
        reminder_id = Reminder.create_id(
            kind, item["initiative_id"], item["period"], recipient.person_id, day
        )
        try:
            found: Any = self.app.repository.get(reminder_id)
        except AggregateNotFoundError:
            reminder = Reminder(
                kind=kind,
                initiative_id=item["initiative_id"],
                period=item["period"],
                organisation=item["actor"],
                person_id=recipient.person_id,
                day=day,
                actor={"user": SENDER, "organisation": recipient.organisation, "role": "system"},
                effective_date=day,
                claimed_by=self.sender_id,
            )
        else:
            assert isinstance(found, Reminder)
            reminder = found
            if reminder.state == "sent":
                return None
            if reminder.state == "claimed" and self._clock() - reminder.modified_on < CLAIM_EXPIRY:
                return None
            reminder.reclaim(self.sender_id)
        try:
            self.app.save(reminder)
        except IntegrityError:
            return None  # another sender claimed it first
        return reminder

    def _record(
        self, claimed: Iterable[tuple[dict[str, Any], Reminder]], change: Callable[[Reminder], None]
    ) -> None:
        reminders = [reminder for _, reminder in claimed]
        for reminder in reminders:
            change(reminder)
        try:
            self.app.save(*reminders)
        except IntegrityError:
            # Another sender took over a claim of ours that it thought abandoned: its
            # record stands (see the module docstring).
            log.warning("reminder_claim_taken_over", reminders=[str(r.id) for r in reminders])

    def _message(
        self, planned: Planned, items: Sequence[dict[str, Any]], today: date, sender: str
    ) -> EmailMessage:
        rendered = self.render(planned, items, today)
        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = sender
        message["To"] = planned.recipient.email
        message["Date"] = formatdate(localtime=False)
        domain = sender.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid("ruswf", domain=domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message
