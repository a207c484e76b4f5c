"""One settings object: reads `RUSWF_*` and produces the eventsourcing environment."""

from __future__ import annotations

import base64
import sqlite3
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlparse

import platformdirs
from psycopg import ProgrammingError
from psycopg.conninfo import make_conninfo
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("ruswf", appauthor=False))
    return f"sqlite:///{data_dir / 'ruswf.db'}"


class SettingsError(ValueError):
    """A setting has a value ruswf cannot use."""


class Settings(BaseSettings):
    """ruswf's configuration, from `RUSWF_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="RUSWF_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    strategy: Path | None = None
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    snapshot_interval: int = Field(default=50, ge=2)
    aggregate_cache_size: int = Field(default=1000, ge=0)
    postgres_pool_size: int = Field(default=5, ge=1)
    postgres_max_overflow: int = Field(default=10, ge=0)
    postgres_connect_timeout: int = Field(default=5, ge=1)
    # A pooled connection's liveness check costs a round trip per query; the store's own
    # retries already recover from a connection that broke (e.g. a database restart).
    postgres_pre_ping: bool = False
    lock_timeout: int = Field(default=5, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # -- reliability: abuse limits (docs/reliability.md) -------------------------------
    auth_failures_per_minute: int = Field(default=20, ge=1)
    """Failed authentications (401) a client address may cause per minute before every
    further API request from it answers 429 until the minute has passed."""
    trusted_proxies: str = ""
    """Comma-separated addresses or CIDR networks of reverse proxies whose
    `X-Forwarded-For` names the client (default: none, the peer address counts)."""

    # -- audit: encryption at rest and the ledger's signing key (docs/audit.md) --------
    cipher_key: SecretStr | None = None
    """AES key (base64 of 16, 24 or 32 bytes): events and snapshots are stored encrypted."""
    cipher_previous_keys: SecretStr | None = None
    """Comma-separated earlier cipher keys, still used to read what they encrypted."""
    ledger_signing_key: SecretStr | None = None
    """Ed25519 key signing exported ledger heads: a PEM file's path, PEM, or base64 seed."""

    # -- integrations: e-mail reminders and webhooks (docs/integrations.md) ------------
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = Field(default=30.0, gt=0)
    reminder_days: int = Field(default=14, ge=0, le=366)
    reminder_schedule: str = "mon-fri 08:00"
    """When `ruswf serve` / the worker send reminders: weekdays and a time in the
    strategy's time zone (Europe/Stockholm), e.g. `mon-fri 08:00`; `off` disables it."""
    public_url: str = "http://127.0.0.1:8000"
    """The base URL of the web UI, for links in reminders."""
    webhook_allow_private: bool = False
    """Allow webhook targets on loopback, link-local and private addresses (tests)."""
    webhook_timeout: float = Field(default=10.0, gt=0)
    webhook_retry_base: float = Field(default=1.0, gt=0)
    webhook_retry_max: float = Field(default=3600.0, gt=0)
    webhook_lease_seconds: float = Field(default=30.0, gt=0)
    """How long a process may deliver a subscription before another may take it over."""

    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """`RUSWF_TRUSTED_PROXIES` as networks (an address is a network of one)."""
        networks = []
        for part in self.trusted_proxies.split(","):
            if not part.strip():
                continue
            try:
                networks.append(ip_network(part.strip(), strict=False))
            except ValueError:
                raise SettingsError(
                    f"RUSWF_TRUSTED_PROXIES: {part.strip()!r} is not an IP address or CIDR network"
                ) from None
        return tuple(networks)

    @property
    def backend(self) -> Literal["sqlite", "postgres"]:
        scheme = urlparse(self.database_url).scheme
        if scheme == "sqlite":
            return "sqlite"
        if scheme in ("postgresql", "postgres"):
            return "postgres"
        raise SettingsError(
            f"RUSWF_DATABASE_URL: unsupported scheme {scheme!r} "
            "(use sqlite:///path/to/file.db or postgresql://user@host:port/db)"
        )

    def sqlite_connect(self, path: Path | None = None) -> sqlite3.Connection:
        """A connection to the SQLite store's file (or `path`) that waits up to
        `lock_timeout` seconds for another writer's lock (5 when it is 0)."""
        return sqlite3.connect(path or self.sqlite_path(), timeout=self.lock_timeout or 5)

    def sqlite_path(self) -> Path:
        url = urlparse(self.database_url)
        path = unquote(url.netloc + url.path) if url.netloc else unquote(url.path)
        if not path.strip("/"):
            raise SettingsError("RUSWF_DATABASE_URL: sqlite URL needs a file path")
        # sqlite:////abs/path (four slashes) is absolute too; POSIX keeps a leading "//".
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        return Path(path)

    @property
    def postgres_schema(self) -> str:
        """The PostgreSQL schema of the store: the URL's `?schema=`, else `public`."""
        return self.postgres_params()["schema"] or "public"

    def postgres_params(self) -> dict[str, str]:
        """Connection parameters of a PostgreSQL URL (`?schema=` selects a schema; the
        other query parameters are `postgres_options`)."""
        url = urlparse(self.database_url)
        dbname = unquote(url.path.lstrip("/"))
        if not dbname:
            raise SettingsError("RUSWF_DATABASE_URL: PostgreSQL URL needs a database name")
        query = parse_qs(url.query)
        return {
            "dbname": dbname,
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "user": unquote(url.username or "postgres"),
            "password": unquote(url.password or ""),
            "schema": query.get("schema", [""])[0],
        }

    def postgres_options(self) -> dict[str, str]:
        """The libpq parameters in the URL's query (`sslmode`, `sslrootcert`, `sslcert`,
        `sslkey`, `target_session_attrs`, ...; everything but `schema`), for every
        connection ruswf opens. An unknown or repeated parameter is a `SettingsError`."""
        options: dict[str, str] = {}
        query = parse_qs(urlparse(self.database_url).query, keep_blank_values=True)
        for key, values in query.items():
            if key == "schema":
                continue
            if len(values) > 1:
                raise SettingsError(f"RUSWF_DATABASE_URL: parameter {key!r} is given twice")
            try:
                make_conninfo("", **{key: values[0]})
            except ProgrammingError:
                raise SettingsError(
                    f"RUSWF_DATABASE_URL: unknown connection parameter {key!r} (allowed:"
                    " schema and the libpq parameters, e.g. sslmode, sslrootcert)"
                ) from None
            options[key] = values[0]
        return options

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment for `eventsourcing.application.Application`."""
        env = {"CREATE_TABLE": "y"}
        if self.aggregate_cache_size:
            # Cached aggregates are fast-forwarded from the store on every get, so a
            # cache is safe with several processes; it saves re-reading snapshots.
            env["AGGREGATE_CACHE_MAXSIZE"] = str(self.aggregate_cache_size)
        if self.backend == "sqlite":
            path = self.sqlite_path()
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                # Owner only (SQLite gives its -wal and -shm files the same mode): the file
                # holds the people registry and the tokens' hashes.
                path.touch(mode=0o600)
            env |= {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(path),
                "SQLITE_LOCK_TIMEOUT": str(self.lock_timeout),
            }
        else:
            params = self.postgres_params()
            env |= {
                # eventsourcing's factory, which also passes the URL's libpq parameters
                # (TLS and the rest) to the event store's connection pool.
                "PERSISTENCE_MODULE": "ruswf.app.store.libpq:LibpqPostgresFactory",
                "POSTGRES_LIBPQ_OPTIONS": make_conninfo("", **self.postgres_options()),
                "POSTGRES_DBNAME": params["dbname"],
                "POSTGRES_HOST": params["host"],
                "POSTGRES_PORT": params["port"],
                "POSTGRES_USER": params["user"],
                "POSTGRES_PASSWORD": params["password"],
                "POSTGRES_SCHEMA": params["schema"],
                "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
                "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
                "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout),
                "POSTGRES_LOCK_TIMEOUT": str(self.lock_timeout),
                "POSTGRES_PRE_PING": "y" if self.postgres_pre_ping else "",
                "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
                "APPLICATION_RECORDER_TOPIC": "ruswf.app.store.recorders:PollingPostgresRecorder",
            }
        return env | self.cipher_env()

    def cipher_env(self) -> dict[str, str]:
        """Encryption at rest: the library's AES-GCM cipher when `RUSWF_CIPHER_KEY` is set
        (with earlier keys, ruswf's rotating variant, which still reads with them)."""
        if self.cipher_key is None:
            return {}
        keys = [self.cipher_key.get_secret_value().strip()]
        if self.cipher_previous_keys is not None:
            previous = self.cipher_previous_keys.get_secret_value().split(",")
            keys += [k.strip() for k in previous if k.strip()]
        for index, key in enumerate(keys):
            try:
                size = len(base64.b64decode(key, validate=True))
            except ValueError:
                size = -1
            if size not in (16, 24, 32):
                name = "RUSWF_CIPHER_KEY" if index == 0 else "RUSWF_CIPHER_PREVIOUS_KEYS"
                raise SettingsError(f"{name}: expected base64 of 16, 24 or 32 bytes")
        if len(keys) == 1:
            return {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher", "CIPHER_KEY": keys[0]}
        return {
            "CIPHER_TOPIC": "ruswf.app.store.cipher:RotatingAESCipher",
            "CIPHER_KEY": keys[0],
            "CIPHER_PREVIOUS_KEYS": ",".join(keys[1:]),
        }

    def postgres_conninfo(self, *, connect_timeout: int | None = None) -> str:
        """A libpq connection string (for connections outside the event store's pool),
        quoted by psycopg, with the URL's libpq parameters."""
        p = self.postgres_params()
        params = {
            "dbname": p["dbname"],
            "host": p["host"],
            "port": p["port"],
            "user": p["user"],
            "connect_timeout": str(connect_timeout or self.postgres_connect_timeout),
        }
        if p["password"]:
            params["password"] = p["password"]
        return make_conninfo("", **(params | self.postgres_options()))
