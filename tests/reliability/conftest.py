"""Fault-injection fixtures: a real `ruswf serve` that can be killed and restarted, a
private PostgreSQL server that can be restarted, keyed commands and what the store holds.

The PostgreSQL restart test uses a private server (initdb into a temporary directory,
on a free port), not the shared one at RUSWF_TEST_DATABASE_URL, so restarting it cannot
disturb other tests using that server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from ruswf.app.idempotency import IdempotencyRecord
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.initiative import Initiative
from ruswf.domain.strategy import Strategy
from tests.servers import Server, free_port

LEAD = "sundsvall"
USERS: dict[str, tuple[str, str, str]] = {
    "coordinator": ("anna", "coordinator", LEAD),
    "coordinator2": ("anders", "coordinator", LEAD),
    "other_coordinator": ("olle", "coordinator", "kramfors"),
    "preparer": ("per", "preparer", "region_vasternorrland"),
    "secretary": ("sara", "secretary", "region_vasternorrland"),
    "auditor": ("aud", "auditor", "lansstyrelsen"),
    "reporter": ("rep", "reporter", "region_vasternorrland"),
}
CONTENT: dict[str, Any] = {
    "title": "Besöksnäringen",
    "summary": "Analys av besöksnäringens utveckling.",
    "goal_area": "grow",
    "lead_actor": LEAD,
}


def make_tokens(database_url: str, strategy: Strategy) -> dict[str, str]:
    """A bearer token for each of USERS on the store at `database_url`."""
    store = TokenStore(Settings(database_url=database_url, log_format="json"), strategy)
    try:
        return {name: store.create(*user)[1] for name, user in USERS.items()}
    finally:
        store.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `ruswf serve` on a store (every server started is stopped afterwards)."""
    servers: list[Server] = []

    def start(database_url: str, **env: str) -> Server:
        server = Server(database_url, tmp_path / f"serve-{len(servers)}.log", env)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


# -- keyed commands and what the store holds ---------------------------------------------


@dataclass
class Command:
    """One keyed POST and what its caller saw."""

    who: str
    path: str
    body: dict[str, Any]
    key: str = field(default_factory=lambda: uuid4().hex)
    status: int | None = None
    """None: no answer (the connection broke)."""
    started: float = 0.0
    seconds: float = 0.0
    answer: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def next_command(client: int, step: int, current: str | None) -> Command:
    """A racing client's next keyed command: propose, or revise the initiative it has."""
    if current is None:
        return Command(
            "coordinator",
            "/api/v1/initiatives",
            {**CONTENT, "title": f"Klient {client} förslag {step}"},
        )
    return Command(
        "coordinator",
        f"/api/v1/initiatives/{current}/actions/revise",
        {"summary": f"Klient {client} revision {step}"},
    )


def send(http: httpx.Client, tokens: dict[str, str], command: Command) -> Command:
    """Send `command` (with its Idempotency-Key) and record the outcome."""
    started = command.started = time.monotonic()
    try:
        response = http.post(
            command.path,
            json=command.body,
            headers={
                "Authorization": f"Bearer {tokens[command.who]}",
                "Idempotency-Key": command.key,
            },
        )
    except httpx.TransportError:
        command.status = None
    else:
        command.status = response.status_code
        try:
            command.answer = response.json() if response.content else None
        except ValueError:
            command.answer = {"not_json": response.text[:500]}
    command.seconds = time.monotonic() - started
    return command


def scope_of(who: str) -> str:
    user, _role, organisation = USERS[who]
    return f"{organisation}/{user}"


def stored_record(app: RusApp, command: Command) -> IdempotencyRecord | None:
    """The record a keyed command leaves in the same insert as its event, if it is stored."""
    record_id = IdempotencyRecord.create_id(scope=scope_of(command.who), key=command.key)
    events = list(app.events.get(record_id))
    if not events:
        return None
    record: object = app.repository.get(record_id)
    assert isinstance(record, IdempotencyRecord)
    return record


def initiative_events(app: RusApp) -> list[tuple[str, int]]:
    """(initiative id, version) of every initiative event in the log."""
    found = []
    for notification in app.recorder.select_notifications(1, 1_000_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, Initiative.Event | Initiative.Proposed):
            found.append((str(event.originator_id), event.originator_version))
    return found


def assert_commands_stored_exactly_once(app: RusApp, commands: list[Command]) -> int:
    """Every command that got a 2xx is stored; the log holds nothing else: each initiative
    event is the event of exactly one stored command (its record, written in the same
    insert, names it), so no command is stored in part. Returns the stored count."""
    records: dict[tuple[str, int], Command] = {}
    for command in commands:
        record = stored_record(app, command)
        if command.ok:
            assert record is not None, f"acknowledged but not stored: {command}"
            assert command.answer is not None
            assert (record.initiative_id, record.result_version) == (
                command.answer["id"],
                command.answer["version"],
            )
        if record is not None:
            records[(record.initiative_id, record.result_version)] = command
    events = initiative_events(app)
    assert len(events) == len(set(events))
    assert set(events) == set(records), "an event without its command's record, or vice versa"
    return len(events)


def retry_unanswered(
    http: httpx.Client, tokens: dict[str, str], app: RusApp, commands: list[Command]
) -> list[Command]:
    """Resolve every command that got no 2xx with a keyed retry: one that was stored
    after all (a lost acknowledgement) answers its first response; one that was not runs
    now. Returns the commands that turned out to be stored before their retry."""
    stored_before: list[Command] = []
    for command in commands:
        if command.ok:
            continue
        record = stored_record(app, command)
        first = (record.initiative_id, record.result_version) if record else None
        send(http, tokens, command)
        assert command.ok, f"the keyed retry failed: {command}"
        assert command.answer is not None
        if first is not None:
            stored_before.append(command)
            assert (command.answer["id"], command.answer["version"]) == first
    return stored_before


@dataclass
class Load:
    """Clients proposing and revising initiatives until told to stop."""

    url: str
    tokens: dict[str, str]
    clients: int
    commands: list[Command] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, client: int) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            current: str | None = None
            step = 0
            while not self.stop.is_set():
                step += 1
                command = next_command(client, step, current)
                send(http, self.tokens, command)
                with self.lock:
                    self.commands.append(command)
                if command.ok and current is None:
                    assert command.answer is not None
                    current = command.answer["id"]
                if not command.ok:
                    time.sleep(0.05)

    def threads(self) -> list[threading.Thread]:
        return [threading.Thread(target=self.run, args=(n,)) for n in range(self.clients)]

    def successes_since(self, moment: int) -> int:
        with self.lock:
            return sum(1 for c in self.commands[moment:] if c.ok)


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def make_app(database_url: str, strategy: Strategy) -> RusApp:
    return RusApp(strategy, Settings(database_url=database_url, log_format="json"))


# -- a private PostgreSQL server -----------------------------------------------------------


def _postgres_bindir() -> Path | None:
    configured = os.environ.get("RUSWF_TEST_PG_BINDIR")
    if configured:
        return Path(configured)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


class PrivatePostgres:
    """A PostgreSQL server of our own in a temporary directory, to stop and start at will."""

    def __init__(self) -> None:
        bindir = _postgres_bindir()
        if bindir is None or not (bindir / "initdb").exists():
            pytest.fail(
                "the restart test needs PostgreSQL's server binaries (initdb, pg_ctl); "
                "set RUSWF_TEST_PG_BINDIR"
            )
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="ruswf-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        # PostgreSQL refuses to run as root: run it as the postgres user then.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            shutil.chown(self.root, self.user)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / tool), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=self.root,
        )
        assert done.returncode == 0, f"{tool} failed: {done.stdout}\n{done.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def remove(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def initiative_id(command: Command) -> UUID:
    assert command.answer is not None
    return UUID(command.answer["id"])


# -- the API in process ------------------------------------------------------------------


@dataclass
class Api:
    """The ASGI app on a fresh store, its tokens, and the application on the same store."""

    client: Any
    tokens: dict[str, str]
    app: RusApp

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def head(self) -> int:
        """The newest position in the event log: rejected requests must not move it."""
        return int(self.app.recorder.max_notification_id() or 0)


@pytest.fixture
def api(database_url: str, strategy: Strategy) -> Iterator[Api]:
    from fastapi.testclient import TestClient

    from ruswf.api.main import create_app

    settings = Settings(database_url=database_url, log_format="json")
    app = RusApp(strategy, settings)
    tokens = make_tokens(database_url, strategy)
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield Api(client, tokens, app)
    finally:
        app.close()
