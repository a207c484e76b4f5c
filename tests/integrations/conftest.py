"""Fixtures of the integration tests: a real SMTP server (aiosmtpd) and a real HTTP
receiver on 127.0.0.1, and initiatives that owe progress reports."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.domain.initiative import ActorRef
from tests.conftest import free_port

FIRST_MEETING = "2026-01-15"  # RSR's first meeting of 2026: approval in period 2026-T1


@dataclass
class Mailbox:
    """What the SMTP server received, and the addresses it refuses."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def all(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    # aiosmtpd's handler hooks
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on 127.0.0.1 that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_from": "ruswf@region.example.se",
            "smtp_timeout": 5.0,
            "public_url": "https://ruswf.region.example.se",
        }
    )


@pytest.fixture
def mail_app(strategy: Any, mail_settings: Settings) -> Iterator[RusApp]:
    application = RusApp(strategy, mail_settings)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def approved(content: dict[str, Any]) -> Callable[..., str]:
    """An initiative approved at RSR's first 2026 meeting (so it owes 2026-T1 on), led by
    `lead`; returns its id."""

    def make(app: RusApp, lead: str = "sundsvall", title: str | None = None) -> str:
        coordinator = ActorRef(f"coord-{lead}", lead, "coordinator")
        preparer = ActorRef("prep-1", "region_vasternorrland", "preparer")
        secretary = ActorRef("sec-1", "region_vasternorrland", "secretary")
        body = {**content, "lead_actor": lead, "title": title or content["title"]}
        initiative = app.propose(coordinator, body, effective_date="2026-01-02").id
        app.submit(initiative, coordinator, effective_date="2026-01-03")
        app.record_preparation(
            initiative, preparer, memo="PM", recommendation="approve", effective_date="2026-01-05"
        )
        app.schedule(initiative, preparer, council="rsr", meeting_date=FIRST_MEETING)
        app.approve(initiative, secretary, decision_text="Godkänd.")
        return initiative

    return make
