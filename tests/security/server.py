"""A real `ruswf serve` process for security tests (SQLite; the behaviour under test is
the HTTP server's, not the store's)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.servers import serving


@contextmanager
def ruswf_serve(
    database_url: str, log_file: Path, *args: str, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`ruswf serve` on a free port of 127.0.0.1 with extra `RUSWF_*` settings; yields its
    base URL and process."""
    settings = {f"RUSWF_{k.upper()}": v for k, v in env.items()}
    with serving(database_url, log_file, *args, env=settings, timeout=60) as server:
        assert server.process is not None
        yield server.url, server.process


def client_from(address: str, base_url: str) -> httpx.Client:
    """An HTTP client whose connections come from `address` (any 127.x.y.z is loopback)."""
    return httpx.Client(
        base_url=base_url, timeout=10, transport=httpx.HTTPTransport(local_address=address)
    )
