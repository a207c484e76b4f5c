"""A light HTTP/1.1 load generator: keep-alive connections over asyncio streams, framed
by h11.

The benchmarks run the load generator on the same two cores as `ruswf serve` and
PostgreSQL, so its own CPU time is taken from the server's; a bare h11 connection costs
a small fraction of what a full HTTP client does (bench/README.md has the figures), so
the results measure the server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import h11


class Client:
    """One keep-alive connection; one request at a time (open several for concurrency)."""

    def __init__(self, base: str, token: str) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.headers = [
            ("Host", f"{self.host}:{self.port}"),
            ("Authorization", f"Bearer {token}"),
            ("Content-Type", "application/json"),
        ]
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._connection = h11.Connection(h11.CLIENT)

    async def connect(self) -> Client:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()

    async def __aenter__(self) -> Client:
        return await self.connect()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def post(self, target: str, payload: Any) -> int:
        """POST `payload` as JSON; returns the status code (the body is read and dropped)."""
        assert self._reader is not None, "connect first"
        assert self._writer is not None, "connect first"
        body = json.dumps(payload).encode()
        connection = self._connection
        data = connection.send(
            h11.Request(
                method="POST",
                target=target,
                headers=[*self.headers, ("Content-Length", str(len(body)))],
            )
        )
        data = (data or b"") + (connection.send(h11.Data(data=body)) or b"")
        data += connection.send(h11.EndOfMessage()) or b""
        self._writer.write(data)
        status = 0
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                chunk = await self._reader.read(65536)
                if not chunk:
                    msg = "the server closed the connection"
                    raise ConnectionError(msg)
                connection.receive_data(chunk)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                break
        connection.start_next_cycle()
        return status
