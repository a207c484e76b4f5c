"""A real `ruswf serve` process for security tests (SQLite; the behaviour under test is
the HTTP server's, not the store's)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port

RUSWF = str(Path(sys.executable).with_name("ruswf"))


@contextmanager
def ruswf_serve(
    database_url: str, log_file: Path, *args: str, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ruswf serve` on a free port of 127.0.0.1 with extra `RUSWF_*` settings; yields its
    base URL and process."""
    port = free_port()
    environment = {
        **os.environ,
        "RUSWF_DATABASE_URL": database_url,
        "RUSWF_LOG_FORMAT": "json",
        **{f"RUSWF_{k.upper()}": v for k, v in env.items()},
    }
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [RUSWF, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            process.kill()
        if process.poll() is not None or time.monotonic() >= deadline:
            msg = f"ruswf serve did not become ready: {log_file.read_text()[-2000:]}"
            raise AssertionError(msg)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def client_from(address: str, base_url: str) -> httpx.Client:
    """An HTTP client whose connections come from `address` (any 127.x.y.z is loopback)."""
    return httpx.Client(
        base_url=base_url, timeout=10, transport=httpx.HTTPTransport(local_address=address)
    )
