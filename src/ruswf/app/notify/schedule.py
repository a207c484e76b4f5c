"""The background jobs of `ruswf serve` and `ruswf projections run`: reminders on a
schedule and the webhook dispatcher.

`ReminderJob.run_once(now)` is the scheduled sending as a plain callable: it sends the
day's reminders once the day's time has come (`RUSWF_REMINDER_SCHEDULE`, default
`mon-fri 08:00` in the strategy's time zone). Several processes may run it: the
reminders' claims let one of them send each reminder (see `reminders`); a leader (when
ruswf elects one) can simply be the only process that calls it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog

from ruswf.app.audit.people import People
from ruswf.app.notify.dispatcher import Dispatcher, DispatcherRunner
from ruswf.app.notify.mailer import MailerUnavailableError
from ruswf.app.notify.reminders import ObligationSource, Reminders, RunReport
from ruswf.app.notify.webhooks import WebhookStore
from ruswf.app.service import RusApp
from ruswf.app.settings import SettingsError
from ruswf.app.threads import StoppableThread

log = structlog.get_logger("ruswf.schedule")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPEC = re.compile(r"^(?P<days>[a-z,-]+|daily)\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})$")
RETRY_AFTER_FAILURE = timedelta(minutes=10)
TICK_SECONDS = 30.0


@dataclass(frozen=True)
class Schedule:
    """Weekdays (0 = Monday) and a local time of day."""

    weekdays: frozenset[int]
    at: time

    @classmethod
    def parse(cls, spec: str) -> Schedule | None:
        """`mon-fri 08:00`, `mon,wed 07:30`, `daily 09:15`; `off` (None)."""
        spec = spec.strip().lower()
        if spec == "off":
            return None
        found = SPEC.match(spec)
        if found is None:
            raise SettingsError(
                f"RUSWF_REMINDER_SCHEDULE: expected e.g. 'mon-fri 08:00' or 'off', not {spec!r}"
            )
        days: set[int] = set()
        if found["days"] == "daily":
            days = set(range(7))
        else:
            for part in found["days"].split(","):
                first, _, last = part.partition("-")
                if first not in DAYS or (last and last not in DAYS):
                    raise SettingsError(f"RUSWF_REMINDER_SCHEDULE: unknown day in {part!r}")
                start, end = DAYS.index(first), DAYS.index(last or first)
                days.update(range(start, end + 1))
        hour, minute = int(found["hour"]), int(found["minute"])
        if hour > 23 or minute > 59:
            raise SettingsError(f"RUSWF_REMINDER_SCHEDULE: no such time {hour}:{minute:02d}")
        return cls(frozenset(days), time(hour, minute))

    def due(self, local: datetime) -> bool:
        return local.weekday() in self.weekdays and local.time() >= self.at


class ReminderJob:
    """Sends a day's reminders once, after the scheduled time of that day."""

    def __init__(self, reminders: Reminders, schedule: Schedule, zone: ZoneInfo) -> None:
        self.reminders = reminders
        self.schedule = schedule
        self.zone = zone
        self._done: date | None = None
        self._retry_at: datetime | None = None

    def run_once(self, now: datetime) -> RunReport | None:
        """Send today's reminders if they are due at `now` and not sent by this job yet;
        the report, or None when nothing was due. After a failure (SMTP down) it tries
        again `RETRY_AFTER_FAILURE` later."""
        local = now.astimezone(self.zone)
        if not self.schedule.due(local) or self._done == local.date():
            return None
        if self._retry_at is not None and now < self._retry_at:
            return None
        try:
            report = self.reminders.send(local.date())
        except (MailerUnavailableError, SettingsError) as error:
            log.warning("scheduled_reminders_failed", error=str(error))
            self._retry_at = now + RETRY_AFTER_FAILURE
            return None
        if report.error is not None:
            self._retry_at = now + RETRY_AFTER_FAILURE
        else:
            self._done, self._retry_at = local.date(), None
        return report


class BackgroundJobs:
    """What a serving or worker process runs beside its main job: the reminder schedule
    (when SMTP is configured) and, when asked, the webhook dispatcher."""

    def __init__(
        self,
        app: RusApp,
        people: Callable[[], People],
        obligations: ObligationSource,
        *,
        webhooks: Callable[[], WebhookStore] | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`people` and `webhooks` hand over the process's registry and subscriptions
        when first needed (a store that is down at start only delays the jobs);
        `webhooks` None: no webhook dispatcher in this process."""
        settings = app.settings
        self.app = app
        self.people = people
        self.obligations = obligations
        self._clock = clock
        self._reminders: StoppableThread | None = None
        self.job: ReminderJob | None = None
        self.schedule = Schedule.parse(settings.reminder_schedule)
        self.sends_reminders = bool(self.schedule and settings.smtp_host and settings.smtp_from)
        self.dispatcher: DispatcherRunner | None = None
        if webhooks is not None:
            self.dispatcher = DispatcherRunner(lambda: Dispatcher(app, webhooks()))

    def start(self) -> BackgroundJobs:
        if self.dispatcher is not None:
            self.dispatcher.start()
        if self.sends_reminders:
            self._reminders = StoppableThread(self._tick, "ruswf-reminders").start()
        return self

    def _tick(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.job is None:  # made here: a store down at start only delays it
                    assert self.schedule is not None
                    reminders = Reminders(self.app, self.people(), self.obligations)
                    zone = ZoneInfo(self.app.strategy.timezone)
                    self.job = ReminderJob(reminders, self.schedule, zone)
                self.job.run_once(self._clock())
            except Exception as error:  # the store may be down: the next tick tries again
                log.warning("scheduled_reminders_error", error=f"{type(error).__name__}: {error}")
            stop.wait(TICK_SECONDS)

    def stop(self) -> None:
        if self._reminders is not None:
            self._reminders.stop(10.0)
        if self.dispatcher is not None:
            self.dispatcher.stop()
