"""Many processes on one store: `ruswf serve` (also with `--workers`) and
`ruswf projections run` started as real processes, clients spread over the servers as a
load balancer would spread them. Reuses tests/reliability's server, keyed commands and
checks."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ruswf.app.settings import Settings
from ruswf.app.store.locks import Holder, current_leaders
from tests.reliability.conftest import Command, next_command, send
from tests.reliability.conftest import private_postgres as private_postgres  # the fixture
from tests.servers import RUSWF

JOBS = ("projections", "ledger")


class Worker:
    """`ruswf projections run` in a subprocess."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.log = log
        self.env = {**os.environ, "RUSWF_DATABASE_URL": database_url, "RUSWF_LOG_FORMAT": "json"}
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [RUSWF, "projections", "run"],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "projection_worker_started" not in self.log_text():
            assert self.process is not None
            assert self.process.poll() is None, f"the worker died: {self.log_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the worker did not start: {self.log_text()}"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    """Append `Worker`s: each is stopped afterwards."""
    made: list[Worker] = []
    yield made
    for worker in made:
        worker.stop()


@dataclass
class SpreadLoad:
    """Clients proposing and revising initiatives, each command sent to the servers in
    turn; a command that gets no answer or a 5xx is sent again, with the same
    Idempotency-Key, to the next server (as a load balancer's retry would)."""

    urls: list[str]
    tokens: dict[str, str]
    clients: int
    commands: list[Command] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, client: int) -> None:
        https = [httpx.Client(base_url=url, timeout=30) for url in self.urls]
        try:
            current: str | None = None
            step = 0
            while not self.stop.is_set():
                step += 1
                command = next_command(client, step, current)
                for attempt in range(2 * len(https)):
                    send(https[(client + step + attempt) % len(https)], self.tokens, command)
                    if command.status is not None and command.status < 500:
                        break
                    time.sleep(0.05)
                with self.lock:
                    self.commands.append(command)
                if command.ok and current is None:
                    assert command.answer is not None
                    current = command.answer["id"]
        finally:
            for http in https:
                http.close()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.run, args=(n,)) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        return threads

    def successes(self) -> int:
        with self.lock:
            return sum(1 for c in self.commands if c.ok)


def leaders(settings: Settings) -> dict[str, Holder | None]:
    return current_leaders(settings, list(JOBS))


def wait_for_leaders(settings: Settings, timeout: float, *, not_pid: int = 0) -> dict[str, Holder]:
    """Every job led, by a process other than `not_pid`; within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = leaders(settings)
        if all(h is not None and h.pid not in (0, not_pid) for h in found.values()):
            return {job: h for job, h in found.items() if h is not None}
        assert time.monotonic() < deadline, f"not led within {timeout} s: {found}"
        time.sleep(0.05)


def kill(pid: int) -> None:
    """SIGKILL: no shutdown, no release of anything."""
    assert pid > 1, pid  # 0 or -1 would signal a whole process group, or everything
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
