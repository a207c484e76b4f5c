"""Token brute-force protection: failed authentications are rate limited per client.

Every 401 a client address causes is counted in a moving one-minute window (the `limits`
library, in process memory). Once a client has `per_minute` failures in the window,
every further `/api/` request from that address answers 429 problem+json with a
`Retry-After` header, without looking at its token, until the oldest failure leaves the
window. A guessing client thus gets at most `per_minute` guesses a minute, and a right
guess made while blocked is not even checked.

The client is the connection's peer address. Only when the peer is one of the trusted
proxies (`RUSWF_TRUSTED_PROXIES`, default none) is `X-Forwarded-For` read: the client is
then its right-most address that is not itself a trusted proxy, so no client can choose
the address it is counted under, neither to dodge the limit by rotating the header nor
to lock out someone else (`ruswf serve` turns uvicorn's own proxy-header handling off;
this is the only place that reads the header). The counts live in the serving process:
with several worker processes, each counts its own. `/healthz` and `/readyz` are never
limited.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ruswf.api.problems import send_problem


class AuthFailureLimit:
    """Failed authentications per client address in a moving one-minute window."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None if it is not blocked."""
        if self._limiter.test(self._item, client):
            return None
        stats = self._limiter.get_window_stats(self._item, client)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def failed(self, client: str) -> None:
        """Count one failed authentication of `client`."""
        self._limiter.hit(self._item, client)


Network = IPv4Network | IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_address(scope: Scope, proxies: Sequence[Network]) -> str:
    """The address a request is counted under: the peer, unless the peer is a trusted
    proxy; then the right-most `X-Forwarded-For` address that is not a trusted proxy."""
    peer = scope.get("client")
    client = str(peer[0]) if peer else "unknown"
    if not proxies or not _trusted(client, proxies):
        return client
    forwarded: list[str] = [
        bytes(value).decode("latin-1")
        for name, value in scope["headers"]
        if name.lower() == b"x-forwarded-for"
    ]
    hops: list[str] = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
        client = hop
    return client


class AuthFailureLimitMiddleware:
    """Answers 429 to a client over its limit of failed authentications; counts each 401."""

    def __init__(
        self, app: ASGIApp, per_minute: int, trusted_proxies: Sequence[Network] = ()
    ) -> None:
        self.app = app
        self.limit = AuthFailureLimit(per_minute)
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        client = client_address(scope, self.trusted_proxies)
        wait = self.limit.retry_after(client)
        if wait is not None:
            await send_problem(
                send,
                429,
                f"too many failed authentications from this client (at most "
                f"{self.limit.per_minute} a minute); try again in {wait} s",
                scope.get("state", {}).get("request_id"),
                {"Retry-After": str(wait)},
            )
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status == 401:
            self.limit.failed(client)
