"""E-mail reminders against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and
PostgreSQL: who gets which message, what it says, and that nothing is sent twice or lost."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from projections import Projections
from ruswf.api.main import create_app
from ruswf.app.audit.people import People
from ruswf.app.notify.mailer import MailerUnavailableError
from ruswf.app.notify.reminders import Reminders
from ruswf.app.notify.schedule import ReminderJob, Schedule
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings, SettingsError
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.strategy import Strategy
from tests.integrations.conftest import SmtpServer

ANNA = "anna.sundsvall@example.se"
KARL = "karl.kramfors@example.se"
RITA = "rita.region@example.se"


@pytest.fixture
def projections(mail_app: RusApp) -> Projections:
    return Projections(mail_app)


@pytest.fixture
def people(mail_app: RusApp) -> People:
    return People(mail_app)


@pytest.fixture
def reminders(
    mail_app: RusApp, people: People, projections: Projections
) -> Callable[..., Reminders]:
    def make(app: RusApp | None = None) -> Reminders:
        app = app or mail_app
        views = projections if app is mail_app else Projections(app)

        def source(today: date) -> list[dict[str, Any]]:
            views.catch_up()
            return views.obligations(today=today)

        return Reminders(app, people if app is mail_app else People(app), source)

    return make


@pytest.fixture
def due(strategy: Strategy) -> date:
    """When the 2026-T1 progress report is due."""
    return strategy.period("2026-T1").due


def register(people: People, name: str, email: str, org: str, language: str | None = None) -> str:
    return people.register(
        name, email=email, organisation=org, registered_by="adm", reminders=True, language=language
    ).id


def body(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def sent_events(projections: Projections) -> list[dict[str, Any]]:
    projections.catch_up()
    return projections.audit_events(type="ReminderSent", limit=1000)[0]


def test_an_overdue_report_is_mailed_to_its_organisations_recipient_in_swedish(
    mail_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    initiative = approved(mail_app, "sundsvall", "Besöksnäringens analys")
    register(people, "Anna", ANNA, "sundsvall")
    register(people, "Karl", KARL, "kramfors")  # owes nothing
    report = reminders().send(due + timedelta(days=3))
    assert report.count("sent") == 1
    [message] = smtp.mailbox.to(ANNA)
    assert smtp.mailbox.to(KARL) == []
    assert message["From"] == "ruswf@region.example.se"
    assert "Påminnelse" in message["Subject"]
    text = body(message)
    assert "Hej Anna!" in text
    assert "Försenade rapporter" in text
    assert "Besöksnäringens analys, period 2026-T1" in text
    assert f"https://ruswf.region.example.se/initiatives/{initiative}" in text
    html = body(message, "html")
    assert f'href="https://ruswf.region.example.se/initiatives/{initiative}"' in html
    assert '<html lang="sv">' in html


def test_a_report_due_within_the_reminder_days_is_mailed_and_a_later_one_is_not(
    mail_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall")
    register(people, "Anna", ANNA, "sundsvall")
    assert reminders().send(due - timedelta(days=15)).count("sent") == 0
    assert smtp.mailbox.all() == []
    reminders().send(due - timedelta(days=14))
    [message] = smtp.mailbox.to(ANNA)
    assert "Rapporter att lämna inom 14 dagar" in body(message)
    assert "Försenade" not in body(message)


def test_a_recipient_whose_language_is_english_gets_english_text(
    mail_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall")
    register(people, "Anna", ANNA, "sundsvall", language="en")
    reminders().send(due + timedelta(days=1))
    [message] = smtp.mailbox.to(ANNA)
    assert message["Subject"].startswith("Reminder: progress reports")
    assert "Overdue reports" in body(message)
    assert '<html lang="en">' in body(message, "html")


def test_the_strategic_groups_convener_gets_a_digest_of_overdue_reporting_per_actor(
    mail_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall", "Sundsvalls insats")
    approved(mail_app, "kramfors", "Kramfors insats")
    register(people, "Rita", RITA, "region_vasternorrland")
    reminders().send(due + timedelta(days=2))
    [digest] = smtp.mailbox.to(RITA)  # the region leads nothing itself: only the digest
    assert digest["Subject"].startswith("Sammanställning: försenad rapportering per aktör")
    text = body(digest)
    assert "Sundsvalls kommun (1):" in text
    assert "Kramfors kommun (1):" in text
    assert text.index("Kramfors insats") < text.index("Sundsvalls insats")


def test_a_second_run_the_same_day_sends_nothing_and_the_audit_trail_shows_who_was_reminded(
    mail_app: RusApp,
    people: People,
    projections: Projections,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    initiative = approved(mail_app, "sundsvall")
    anna = register(people, "Anna", ANNA, "sundsvall")
    today = due + timedelta(days=1)
    reminders().send(today)
    second = reminders().send(today)
    assert second.count("sent") == 0
    assert len(smtp.mailbox.to(ANNA)) == 1
    [event] = sent_events(projections)
    assert event["initiative_id"] == initiative
    assert event["payload"]["person_id"] == anna
    assert event["payload"]["period"] == "2026-T1"
    assert event["payload"]["message_id"] == smtp.mailbox.to(ANNA)[0]["Message-ID"]
    assert event["effective_date"] == today.isoformat()
    assert ANNA not in repr(projections.audit_events(limit=1000))
    # The next day is a new reminder.
    reminders().send(today + timedelta(days=1))
    assert len(smtp.mailbox.to(ANNA)) == 2


def test_an_erased_person_gets_no_reminders(
    mail_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall")
    anna = register(people, "Anna", ANNA, "sundsvall")
    register(people, "Bo", "bo@example.se", "sundsvall")
    people.erase(anna, erased_by="adm")
    reminders().send(due + timedelta(days=1))
    assert smtp.mailbox.to(ANNA) == []
    assert len(smtp.mailbox.to("bo@example.se")) == 1


def test_smtp_down_records_nothing_and_the_next_run_sends_everything_once(
    mail_app: RusApp,
    people: People,
    projections: Projections,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall")
    register(people, "Anna", ANNA, "sundsvall")
    register(people, "Rita", RITA, "region_vasternorrland")
    today = due + timedelta(days=1)
    smtp.stop()
    with pytest.raises(MailerUnavailableError, match="unavailable"):
        reminders().send(today)
    assert sent_events(projections) == []
    smtp.start()
    reminders().send(today)
    reminders().send(today)
    assert len(smtp.mailbox.to(ANNA)) == 1
    assert len(smtp.mailbox.to(RITA)) == 1
    assert len(sent_events(projections)) == 2


def test_a_refused_recipient_does_not_stop_the_others_and_gets_it_on_the_next_run(
    mail_app: RusApp,
    people: People,
    projections: Projections,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall")
    anna = register(people, "Anna", ANNA, "sundsvall")
    register(people, "Bo", "bo@example.se", "sundsvall")
    register(people, "Rita", RITA, "region_vasternorrland")
    today = due + timedelta(days=1)
    smtp.mailbox.refuse.add(ANNA)
    first = reminders().send(today)
    assert [o.person_id for o in first.outcomes if o.status == "refused"] == [anna]
    assert len(smtp.mailbox.to("bo@example.se")) == 1
    assert len(smtp.mailbox.to(RITA)) == 1
    projections.catch_up()
    [failed] = projections.audit_events(type="ReminderFailed")[0]
    assert failed["payload"]["person_id"] == anna
    assert "550" in failed["reason"]
    smtp.mailbox.refuse.clear()
    reminders().send(today)
    assert len(smtp.mailbox.to(ANNA)) == 1
    assert len(smtp.mailbox.to("bo@example.se")) == 1
    assert len(smtp.mailbox.to(RITA)) == 1


@pytest.fixture
def second_app(strategy: Strategy, mail_settings: Settings) -> Iterator[RusApp]:
    application = RusApp(strategy, mail_settings)
    try:
        yield application
    finally:
        application.close()


def test_two_senders_racing_on_one_store_send_each_reminder_once(
    mail_app: RusApp,
    second_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    for n in range(3):
        approved(mail_app, "sundsvall", f"Insats {n}")
    recipients = [register(people, f"P{n}", f"p{n}@example.se", "sundsvall") for n in range(4)]
    senders = [reminders(), reminders(second_app)]
    today = due + timedelta(days=1)
    for sender in senders:
        sender.plan(today)  # catch the views up before the race
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(sender: Reminders) -> None:
        try:
            start.wait(timeout=10)
            sender.send(today)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    received = {n: smtp.mailbox.to(f"p{n}@example.se") for n in range(len(recipients))}
    # Each person's three reminders arrived once each, in one or more messages.
    for messages in received.values():
        listed = [line for m in messages for line in body(m).splitlines() if "Insats" in line]
        assert sorted(listed) == sorted(set(listed))
        assert len(listed) == 3


def test_the_scheduled_job_sends_once_after_the_weekday_time_in_stockholm(
    mail_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall")
    register(people, "Anna", ANNA, "sundsvall")
    schedule = Schedule.parse("mon-fri 08:00")
    assert schedule is not None
    job = ReminderJob(reminders(), schedule, ZoneInfo("Europe/Stockholm"))
    day = due + timedelta(days=(7 - due.weekday()) % 7 or 7)  # a Monday after the due date
    stockholm = ZoneInfo("Europe/Stockholm")
    assert job.run_once(datetime.combine(day, time(7, 59), stockholm)) is None
    assert job.run_once(datetime.combine(day - timedelta(days=1), time(9), stockholm)) is None
    report = job.run_once(datetime.combine(day, time(8, 0), stockholm).astimezone(UTC))
    assert report is not None
    assert report.count("sent") == 1
    assert job.run_once(datetime.combine(day, time(12, 0), stockholm)) is None
    assert len(smtp.mailbox.to(ANNA)) == 1


@pytest.mark.parametrize("spec", ["mon-fri 8", "someday 08:00", "mon 25:00"])
def test_a_bad_schedule_is_refused_naming_the_setting(spec: str) -> None:
    with pytest.raises(SettingsError, match="RUSWF_REMINDER_SCHEDULE"):
        Schedule.parse(spec)


def test_the_api_registers_a_reminder_recipient(
    mail_settings: Settings, mail_app: RusApp, smtp: SmtpServer, strategy: Strategy
) -> None:
    store = TokenStore(mail_settings, strategy)
    token = store.create("adm", "admin", "region_vasternorrland")[1]
    store.close()
    with TestClient(create_app(mail_settings)) as client:
        answer = client.post(
            "/api/v1/people",
            json={
                "name": "Anna",
                "email": ANNA,
                "organisation": "sundsvall",
                "reminders": True,
                "language": "en",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["reminders"] is True
        refused = client.post(
            "/api/v1/people",
            json={"name": "Bo", "reminders": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert refused.status_code == 422
        assert "reminders" in refused.text
    [recipient] = People(mail_app).reminder_recipients("sundsvall")
    assert (recipient.person_id, recipient.language) == (answer.json()["id"], "en")


def test_a_connection_lost_mid_run_stops_the_run_and_the_next_run_sends_the_rest_once(
    mail_app: RusApp,
    people: People,
    projections: Projections,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    due: date,
) -> None:
    approved(mail_app, "sundsvall")
    register(people, "Anna", ANNA, "sundsvall")
    register(people, "Bo", "bo@example.se", "sundsvall")
    today = due + timedelta(days=1)
    smtp.mailbox.drop_next = True
    first = reminders().send(today)
    assert first.error is not None
    assert "disconnected" in first.error or "unavailable" in first.error
    assert smtp.mailbox.all() == []
    assert sent_events(projections) == []
    second = reminders().send(today)
    assert second.error is None
    assert len(smtp.mailbox.to(ANNA)) == len(smtp.mailbox.to("bo@example.se")) == 1


def test_the_audit_trail_over_http_shows_who_was_reminded_and_never_the_address(
    mail_settings: Settings,
    mail_app: RusApp,
    people: People,
    reminders: Callable[..., Reminders],
    approved: Callable[..., str],
    smtp: SmtpServer,
    strategy: Strategy,
    due: date,
) -> None:
    initiative = approved(mail_app, "sundsvall")
    anna = register(people, "Anna", ANNA, "sundsvall")
    reminders().send(due + timedelta(days=1))
    store = TokenStore(mail_settings, strategy)
    token = store.create("aud", "auditor", "lansstyrelsen")[1]
    store.close()
    with TestClient(create_app(mail_settings)) as c:
        answer = c.get(
            "/api/v1/audit/events",
            params={"type": "ReminderSent", "initiative_id": initiative},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    [event] = answer.json()["items"]
    assert event["payload"]["person_id"] == anna
    assert event["actor"]["user"] == "ruswf-reminders"
    assert ANNA not in answer.text
