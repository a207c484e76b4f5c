"""Fixtures of the integration tests: a real SMTP server (aiosmtpd) and a real HTTP
receiver on 127.0.0.1, and initiatives that owe progress reports."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient

from ruswf.api.main import create_app
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.commands import ActorRef, Approve, Propose, RecordPreparation, Schedule, Submit
from ruswf.domain.strategy import Strategy
from tests.servers import free_port

FIRST_MEETING = "2026-01-15"  # RSR's first meeting of 2026: approval in period 2026-T1


@dataclass
class Mailbox:
    """What the SMTP server received, and the addresses it refuses."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    drop_next: bool = False
    """Close the connection at the next message's data instead of taking it."""
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
        if self.drop_next:
            self.drop_next = False
            assert server.transport is not None
            server.transport.close()
            return "421 4.3.2 going down"
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
            "reminder_schedule": "off",  # tests send when they say so
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
        initiative = app.propose(Propose(**body, effective_date="2026-01-02"), coordinator).id
        app.execute(initiative, Submit(effective_date="2026-01-03"), coordinator)
        app.execute(
            initiative,
            RecordPreparation(memo="PM", recommendation="approve", effective_date="2026-01-05"),
            preparer,
        )
        app.execute(initiative, Schedule(council="rsr", meeting_date=FIRST_MEETING), preparer)
        app.execute(initiative, Approve(decision_text="Godkänd."), secretary)
        return initiative

    return make


# -- a webhook receiver -----------------------------------------------------------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records every POST and answers `status`; it can
    be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/ruswf"
        self.received: list[Delivery] = []
        self.status = 200
        self.headers: dict[str, str] = {}
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                data = self.rfile.read(length)
                with receiver.lock:
                    status, extra = receiver.status, dict(receiver.headers)
                    if 200 <= status < 300:
                        receiver.received.append(Delivery(dict(self.headers.items()), data))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def deliveries(self) -> list[Delivery]:
        with self.lock:
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    try:
        yield found
    finally:
        found.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll `predicate` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """Webhooks may go to 127.0.0.1, and retry quickly."""
    return settings.model_copy(
        update={
            "webhook_allow_private": True,
            "webhook_retry_base": 0.05,
            "webhook_retry_max": 0.5,
            "webhook_lease_seconds": 2.0,
            "webhook_timeout": 5.0,
        }
    )


@pytest.fixture
def tokens(settings: Settings, strategy: Strategy) -> Iterator[dict[str, str]]:
    store = TokenStore(settings, strategy)
    try:
        yield {
            "admin": store.create("adm", "admin", "region_vasternorrland")[1],
            "coordinator": store.create("anna", "coordinator", "sundsvall")[1],
        }
    finally:
        store.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(hook_settings: Settings, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(hook_settings)) as test_client:
        yield test_client


@pytest.fixture
def subscribe(client: TestClient, tokens: dict[str, str]) -> Callable[..., dict[str, Any]]:
    def make(url: str, event_types: list[str] | None = None) -> dict[str, Any]:
        answer = client.post(
            "/api/v1/webhooks",
            json={"url": url, "event_types": event_types or ["*"]},
            headers=bearer(tokens["admin"]),
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    return make
