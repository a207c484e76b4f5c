"""Finding 3: every libpq parameter of `RUSWF_DATABASE_URL` reaches every connection
(the event store's pool too); connection strings are quoted; unknown parameters are
refused with one line."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.conninfo import conninfo_to_dict

from ruswf.api.main import create_app
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings, SettingsError
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.strategy import Strategy
from tests.conftest import postgres_schema_url
from tests.servers import RUSWF

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema's URL on the local server, which has no TLS (`SHOW ssl` is off)."""
    with postgres_schema_url() as url:
        yield url


def test_local_server_has_no_tls(pg_url: str) -> None:
    """The premise of the tests below."""
    with psycopg.connect(Settings(database_url=pg_url).postgres_conninfo()) as conn:
        assert conn.execute("SHOW ssl").fetchone() == ("off",)


def test_event_store_honours_sslmode_require(pg_url: str, strategy: Strategy) -> None:
    with pytest.raises(Exception, match="SSL"):
        RusApp(strategy, Settings(database_url=f"{pg_url}&sslmode=require"))


def test_event_store_connects_with_the_urls_libpq_parameters(
    pg_url: str, strategy: Strategy
) -> None:
    app = RusApp(strategy, Settings(database_url=f"{pg_url}&application_name=ruswf-sec-es"))
    try:
        with app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]  # the PostgreSQL recorder's
            row = conn.execute("SHOW application_name").fetchone()
        assert row == {"application_name": "ruswf-sec-es"}
    finally:
        app.close()


def test_token_store_honours_sslmode_require(pg_url: str, strategy: Strategy) -> None:
    settings = Settings(database_url=f"{pg_url}&sslmode=require", postgres_connect_timeout=1)
    with pytest.raises(psycopg.OperationalError):
        TokenStore(settings, strategy).close()


def test_token_store_connects_with_the_urls_libpq_parameters(
    pg_url: str, strategy: Strategy
) -> None:
    url = f"{pg_url}&application_name=ruswf-sec-tokens"
    store = TokenStore(Settings(database_url=url), strategy)
    try:
        with psycopg.connect(Settings(database_url=pg_url).postgres_conninfo()) as conn:
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                ("ruswf-sec-tokens",),
            ).fetchone()
        assert found is not None
        assert found[0] >= 1  # the pool keeps one connection open
    finally:
        store.close()


def test_readiness_check_honours_sslmode(pg_url: str, strategy: Strategy) -> None:
    """/readyz connects with the URL's parameters: `sslmode=disable` works against the
    server without TLS and its connection carries the URL's `application_name`."""
    url = f"{pg_url}&application_name=ruswf-sec-ready&sslmode=disable"
    with TestClient(create_app(Settings(database_url=url))) as client:
        assert client.get("/readyz").status_code == 200
        with psycopg.connect(Settings(database_url=url).postgres_conninfo()) as conn:
            names = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                ("ruswf-sec-ready",),
            ).fetchone()
        assert names is not None
        assert names[0] >= 2  # the pools' connections and this one


def test_cli_with_sslmode_require_fails_to_connect_with_one_line(pg_url: str) -> None:
    done = subprocess.run(
        [RUSWF, "token", "list"],
        env={**os.environ, "RUSWF_DATABASE_URL": f"{pg_url}&sslmode=require"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("ruswf: error: ")
    assert "SSL" in lines[0]


def test_unknown_url_parameter_is_refused_with_one_line(pg_url: str) -> None:
    done = subprocess.run(
        [RUSWF, "token", "list"],
        env={**os.environ, "RUSWF_DATABASE_URL": f"{pg_url}&sslmod=require"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "ruswf: error: RUSWF_DATABASE_URL: unknown connection parameter 'sslmod' (allowed:"
        " schema and the libpq parameters, e.g. sslmode, sslrootcert)"
    ]


def test_password_cannot_rewrite_connection_parameters() -> None:
    url = "postgresql://postgres:p%20sslmode%3Ddisable%20host%3Devil.example@db.example:5432/rus"
    settings = Settings(database_url=f"{url}?sslmode=verify-full&sslrootcert=/etc/ca.pem")
    parsed = conninfo_to_dict(settings.postgres_conninfo())
    assert parsed["password"] == "p sslmode=disable host=evil.example"
    assert parsed["host"] == "db.example"
    assert parsed["sslmode"] == "verify-full"
    assert parsed["sslrootcert"] == "/etc/ca.pem"
    env = settings.eventsourcing_env()
    assert conninfo_to_dict(env["POSTGRES_LIBPQ_OPTIONS"]) == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ca.pem",
    }


def test_repeated_url_parameter_is_refused() -> None:
    settings = Settings(database_url="postgresql://u@h/db?sslmode=disable&sslmode=require")
    with pytest.raises(SettingsError, match="given twice"):
        settings.postgres_conninfo()
