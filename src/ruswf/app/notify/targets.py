"""Where webhooks may go, and the one HTTP POST that takes them there.

Only `http(s)` URLs. Unless `RUSWF_WEBHOOK_ALLOW_PRIVATE=true`, a target whose host is,
or resolves to, a loopback, link-local, private, shared, reserved or multicast address
is refused, when it is registered and again at every delivery: the connection goes to
the address that was checked (so a DNS answer cannot change between the check and the
connection), and redirects are never followed (a 3xx answer is a failed delivery).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from ruswf.domain.errors import ValidationError

MAX_URL_LENGTH = 2000


class TargetRefusedError(Exception):
    """The target is not a URL webhooks may be sent to."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: float | None
    location: str | None


def parse(url: str) -> Target:
    """The URL's parts; raises `TargetRefusedError` for anything but an http(s) URL."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise TargetRefusedError(f"must be an http(s) URL of at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise TargetRefusedError("must be an http or https URL")
    if not parts.hostname:
        raise TargetRefusedError("needs a host")
    if parts.username or parts.password:
        raise TargetRefusedError("must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefusedError("has an invalid port") from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url.strip(), parts.scheme, parts.hostname, port, path)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(target: Target, *, allow_private: bool) -> str:
    """The address to connect to; raises `TargetRefusedError` when the host does not
    resolve or any of its addresses is not public (unless `allow_private`)."""
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefusedError(f"host {target.host!r} does not resolve: {error}") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise TargetRefusedError(f"host {target.host!r} does not resolve")
    if not allow_private:
        private = [a for a in addresses if not _public(a)]
        if private:
            raise TargetRefusedError(
                f"host {target.host!r} is a loopback, link-local or private address"
                f" ({private[0]}); such targets are refused"
                " (RUSWF_WEBHOOK_ALLOW_PRIVATE=true allows them)"
            )
    return addresses[0]


def check(url: str, *, allow_private: bool) -> Target:
    """The target of `url`, checked as at registration; a `ValidationError` naming
    `url` otherwise."""
    try:
        target = parse(url)
        resolve(target, allow_private=allow_private)
    except TargetRefusedError as error:
        raise ValidationError("url", str(error)) from None
    return target


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def post(
    target: Target,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
) -> Answer:
    """POST `body` to the target (checked again first); the answer's status. Raises
    `TargetRefusedError`, or `OSError` / `http.client.HTTPException` when no answer came."""
    address = resolve(target, allow_private=allow_private)
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target.host, target.port, address, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # a receiver's answer is not ours to keep
        return Answer(
            response.status,
            _retry_after(response.getheader("Retry-After")),
            response.getheader("Location"),
        )
    finally:
        connection.close()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
