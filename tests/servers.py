"""The one way tests and benchmarks run a real `ruswf serve`: a subprocess on a free port
of 127.0.0.1, ready when `/readyz` answers 200, which a test may kill and restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

RUSWF = str(Path(sys.executable).with_name("ruswf"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerNotReadyError(AssertionError):
    """`ruswf serve` exited or did not answer `/readyz` in time (the log's tail says why)."""


class Server:
    """`ruswf serve` in a subprocess on a free port."""

    def __init__(
        self,
        database_url: str,
        log: Path | None,
        env: dict[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> None:
        """`log`: where the server's output goes (None: discarded, as a benchmark wants);
        `env`: more environment (`RUSWF_*` settings); `args`: more `serve` options."""
        self.database_url = database_url
        self.log = log
        self.args = tuple(args)
        self.env = {
            **os.environ,
            "RUSWF_DATABASE_URL": database_url,
            "RUSWF_LOG_FORMAT": "json",
            **(env or {}),
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it (`wait_ready` waits)."""
        command = [RUSWF, "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        if self.log is None:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            return
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerNotReadyError(f"ruswf serve did not become ready: {self.log_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, whatever was in flight."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log_text(self) -> str:
        return "" if self.log is None else self.log.read_text(errors="replace")


@contextmanager
def serving(
    database_url: str,
    log: Path | None,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> Iterator[Server]:
    """A started `Server`, stopped when the block ends."""
    server = Server(database_url, log, env, args)
    try:
        server.start(timeout)
        yield server
    finally:
        server.stop()
