"""Finding 6: no client chooses the address it is rate-limited under. `X-Forwarded-For`
is believed only from `RUSWF_TRUSTED_PROXIES` (default: none), against a real server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ruswf.app.settings import Settings
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.strategy import Strategy
from tests.security.server import client_from, ruswf_serve
from tests.servers import RUSWF

LIMIT = 20
BAD = {"Authorization": "Bearer ruswf_000000000000_notarealtokennotarealtoken"}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ruswf.db'}"


@pytest.fixture
def valid_token(sqlite_url: str, strategy: Strategy) -> Iterator[str]:
    store = TokenStore(Settings(database_url=sqlite_url), strategy)
    try:
        yield store.create("rep", "reporter", "region_vasternorrland")[1]
    finally:
        store.close()


def test_rotating_forwarded_for_does_not_escape_the_failure_limit(
    sqlite_url: str, tmp_path: Path
) -> None:
    with (
        ruswf_serve(sqlite_url, tmp_path / "serve.log") as (url, _),
        client_from("127.0.0.1", url) as http,
    ):
        statuses = [
            http.get(
                "/api/v1/strategy", headers={**BAD, "X-Forwarded-For": f"203.0.113.{n}"}
            ).status_code
            for n in range(LIMIT + 5)
        ]
    assert statuses[:LIMIT] == [401] * LIMIT
    assert set(statuses[LIMIT:]) == {429}


def test_forwarded_for_naming_a_victim_does_not_lock_the_victim_out(
    sqlite_url: str, valid_token: str, tmp_path: Path
) -> None:
    with ruswf_serve(sqlite_url, tmp_path / "serve.log") as (url, _):
        with client_from("127.0.0.1", url) as attacker:
            for _ in range(LIMIT + 1):
                attacker.get("/api/v1/strategy", headers={**BAD, "X-Forwarded-For": "127.0.0.3"})
        with client_from("127.0.0.3", url) as victim:
            answer = victim.get(
                "/api/v1/strategy", headers={"Authorization": f"Bearer {valid_token}"}
            )
    assert answer.status_code == 200, answer.text


def test_a_trusted_proxy_has_its_clients_limited_one_by_one(
    sqlite_url: str, valid_token: str, tmp_path: Path
) -> None:
    """Behind `RUSWF_TRUSTED_PROXIES=127.0.0.1/32`, a guessing client is blocked and
    another client of the same proxy is not; a forwarded address from a peer that is not
    a trusted proxy is ignored."""
    log = tmp_path / "serve.log"
    with (
        ruswf_serve(sqlite_url, log, trusted_proxies="127.0.0.1/32") as (url, _),
        client_from("127.0.0.1", url) as proxy,
    ):
        guesser = {**BAD, "X-Forwarded-For": "198.51.100.7"}
        statuses = [proxy.get("/api/v1/strategy", headers=guesser).status_code for _ in range(22)]
        other = proxy.get(
            "/api/v1/strategy",
            headers={"Authorization": f"Bearer {valid_token}", "X-Forwarded-For": "198.51.100.8"},
        )
        with client_from("127.0.0.2", url) as direct:
            good = {"Authorization": f"Bearer {valid_token}"}
            spoofed = direct.get(
                "/api/v1/strategy", headers={**good, "X-Forwarded-For": "198.51.100.8"}
            )
            for _ in range(LIMIT):
                direct.get("/api/v1/strategy", headers={**BAD, "X-Forwarded-For": "198.51.100.9"})
        behind = proxy.get(
            "/api/v1/strategy",
            headers={"Authorization": f"Bearer {valid_token}", "X-Forwarded-For": "198.51.100.9"},
        )
    assert statuses[-1] == 429
    assert other.status_code == 200
    assert spoofed.status_code == 200
    assert behind.status_code == 200  # 127.0.0.2's failures counted under 127.0.0.2


def test_an_invalid_trusted_proxy_setting_stops_serve_with_one_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [RUSWF, "serve", "--port", "1"],
        env={**os.environ, "RUSWF_DATABASE_URL": sqlite_url, "RUSWF_TRUSTED_PROXIES": "proxy"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "ruswf: error: RUSWF_TRUSTED_PROXIES: 'proxy' is not an IP address or CIDR network"
    ]
