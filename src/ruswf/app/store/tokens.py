"""Bearer tokens: only a hash of each token is stored; checks compare in constant time.

A token reads `ruswf_<id>_<secret>`: the id finds the row, the secret's SHA-256 is
compared with `hmac.compare_digest`, so the time a check takes does not depend on how
much of a guessed secret was right. Tokens live in a plain table beside the events
(`ruswf_tokens`); they are credentials, not history.
"""

from __future__ import annotations

import builtins  # `list` is a method of TokenStore
import functools
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import psycopg
import structlog
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from ruswf.app.authorization import Role
from ruswf.app.settings import Settings
from ruswf.app.store.sql import Renderer
from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import Strategy

log = structlog.get_logger("ruswf.tokens")

TOKEN_PATTERN = re.compile(r"^ruswf_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
# User ids are ids, never e-mail addresses: they end up in immutable events (no `@`).
USER_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user: str
    role: str
    organisation: str
    created_at: str
    revoked_at: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# A fixed hash to compare against when the id is unknown, so that path costs the same.
_DUMMY_HASH = _hash("ruswf-no-such-token")

TOKEN_COLUMNS = ("id", "secret_hash", "user_id", "role", "organisation", "created_at", "revoked_at")
"""What `holder_of` needs of a token's row (for a query that joins the tokens table)."""
_SELECT_TOKEN = f"SELECT {', '.join(TOKEN_COLUMNS)} FROM {{ruswf_tokens}} WHERE id = ?"


def _parse(token: str) -> tuple[str, str, bool]:
    """A token's id and secret ("" for a malformed one) and whether it is well formed."""
    match = TOKEN_PATTERN.match(token or "")
    token_id, secret = match.groups() if match else ("", "")
    return token_id, secret, match is not None


def _holder(row: dict[str, Any] | None, secret: str, well_formed: bool) -> TokenInfo | None:
    """The holder of the token whose row is `row`, if `secret` is its secret. The secret's
    hash is compared exactly once, in constant time, whatever the row (docs/reliability)."""
    expected = row["secret_hash"] if row else _DUMMY_HASH
    matches = hmac.compare_digest(expected, _hash(secret))
    if row is None or not matches or not well_formed or row["revoked_at"] is not None:
        return None
    return TokenInfo(
        row["id"], row["user_id"], row["role"], row["organisation"], row["created_at"], None
    )


def holder_of(row: dict[str, Any] | None, token: str) -> TokenInfo | None:
    """The holder of `token`, given the tokens table's row of its id (`TOKEN_COLUMNS`)
    as another query found it (None: no such row); checked as `authenticate` checks."""
    token_id, secret, well_formed = _parse(token)
    return _holder(row if row and row["id"] == token_id else None, secret, well_formed)


class TokenStore:
    """Create, list, revoke and check bearer tokens on the configured store.

    Statements go through the SQL layer's renderer like every other table's; on
    PostgreSQL the store keeps a small pool of its own (and an asyncio one for the API's
    event loop), so checking a token never queues behind the event store's writers."""

    def __init__(self, settings: Settings, strategy: Strategy) -> None:
        self.settings = settings
        self.strategy = strategy
        postgres = settings.backend == "postgres"
        self._render = Renderer(settings.backend, settings.postgres_schema if postgres else "")
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] | None = None
        self._async_pool: AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]] | None = None
        if settings.backend == "postgres":
            self._pool = ConnectionPool(
                settings.postgres_conninfo(),
                min_size=1,
                max_size=4,
                kwargs={"autocommit": True, "row_factory": dict_row},
                open=True,
                timeout=settings.postgres_connect_timeout,
            )
        self._create_table()

    # -- storage ----------------------------------------------------------------

    def _execute(
        self, statement: str, params: tuple[Any, ...] = (), *, idempotent: bool = False
    ) -> list[dict[str, Any]]:
        """Run one statement (`{ruswf_tokens}` is the tokens table) and return its rows.

        On PostgreSQL pooled connections are not pinged before use (that would double
        the round trips of every authenticated request). A read (`idempotent`) that
        finds its connection dropped (a restart, pg_terminate_backend) has the pool
        check its idle connections (replacing the dropped ones) and runs once more; a
        write fails (it may have been applied) after the same check, so the next works."""
        if self._pool is None:
            with closing(self.settings.sqlite_connect()) as conn:
                conn.row_factory = sqlite3.Row
                with conn:
                    cursor = conn.execute(self._render.sqlite(statement), params)
                    return [dict(row) for row in cursor.fetchall()]
        query = self._render.postgres(statement)
        for attempt in (1, 2):
            try:
                with self._pool.connection() as pg_conn:
                    pg_cursor = pg_conn.execute(query, params)
                    return pg_cursor.fetchall() if pg_cursor.description else []
            except PoolTimeout:
                raise  # no connection to be had: the database is away, trying again waits
            except psycopg.OperationalError:
                log.info("token_store_reconnecting")
                self._pool.check()
                if not idempotent or attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _create_table(self) -> None:
        self._execute(
            "CREATE TABLE IF NOT EXISTS {ruswf_tokens} ("
            " id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, user_id TEXT NOT NULL,"
            " role TEXT NOT NULL, organisation TEXT NOT NULL, created_at TEXT NOT NULL,"
            " revoked_at TEXT)"
        )

    # -- operations -------------------------------------------------------------

    def create(self, user: str, role: str, organisation: str) -> tuple[TokenInfo, str]:
        """A new token for `user` acting as `role` of `organisation` (an actor id or exact name)."""
        if "@" in (user or ""):
            raise ValidationError(
                "user",
                "must be an id, not an e-mail address (no '@'); keep people's"
                " contact details in the people registry (ruswf gdpr register)",
            )
        if not USER_PATTERN.match(user or ""):
            raise ValidationError("user", "1-100 characters of letters, digits and . _ -")
        try:
            Role(role)
        except ValueError:
            raise ValidationError(
                "role", f"must be one of {', '.join(r.value for r in Role)}"
            ) from None
        actor = self.strategy.resolve_actor(organisation)
        if actor is None:
            raise ValidationError(
                "org", f"unknown organisation {organisation!r} (use an actor id or its exact name)"
            )
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        self._execute(
            "INSERT INTO {ruswf_tokens} (id, secret_hash, user_id, role, organisation, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_id, _hash(secret), user, role, actor.id, created),
        )
        info = TokenInfo(token_id, user, role, actor.id, created, None)
        return info, f"ruswf_{token_id}_{secret}"

    def list(self) -> list[TokenInfo]:
        rows = self._execute(
            "SELECT id, user_id, role, organisation, created_at, revoked_at FROM {ruswf_tokens}"
            " ORDER BY created_at, id",
            idempotent=True,
        )
        columns = ("id", "user_id", "role", "organisation", "created_at", "revoked_at")
        return [TokenInfo(*(r[c] for c in columns)) for r in rows]

    def revoke(self, token_id: str) -> bool:
        """Revoke a token by id; False if there is no such active token."""
        rows = self._execute(
            "UPDATE {ruswf_tokens} SET revoked_at = ?"
            " WHERE id = ? AND revoked_at IS NULL RETURNING id",
            (datetime.now(UTC).isoformat(timespec="seconds"), token_id),
        )
        return bool(rows)

    def renew(
        self, holders: Sequence[tuple[str, str, str]]
    ) -> builtins.list[tuple[TokenInfo, str]]:
        """New tokens for `holders` (user, role, organisation id), revoking every active
        token any of them held before: a fixed set (the demo's) never piles up."""
        wanted = set(holders)
        for held in self.list():
            if held.revoked_at is None and (held.user, held.role, held.organisation) in wanted:
                self.revoke(held.id)
                log.info("token_renewed", token_id=held.id, user=held.user)
        return [self.create(user, role, organisation) for user, role, organisation in holders]

    def authenticate(self, token: str) -> TokenInfo | None:
        """The token's holder, or None for a malformed, unknown or revoked token."""
        token_id, secret, well_formed = _parse(token)
        rows = self._execute(_SELECT_TOKEN, (token_id,), idempotent=True)
        return _holder(rows[0] if rows else None, secret, well_formed)

    async def authenticate_async(self, token: str) -> TokenInfo | None:
        """`authenticate` for the API's event loop (see `read_one_async`)."""
        token_id, secret, well_formed = _parse(token)
        return _holder(await self.read_one_async(_SELECT_TOKEN, (token_id,)), secret, well_formed)

    async def read_one_async(
        self, statement: str, params: tuple[Any, ...] = ()
    ) -> dict[str, Any] | None:
        """The first row of a read on this store's database, for an event loop: on
        PostgreSQL a query on an asyncio connection pool, so a request needs no hand-off
        to a worker thread for it (a measurable share of the server's throughput,
        bench/README.md); SQLite's runs in a worker thread. Call `open_async` in the loop
        first. Retried once on a dropped connection, as `_execute` does for reads."""
        if self._async_pool is None:
            rows = await anyio.to_thread.run_sync(
                functools.partial(self._execute, statement, params, idempotent=True)
            )
            return rows[0] if rows else None
        query = self._render.postgres(statement)
        for attempt in (1, 2):
            try:
                async with self._async_pool.connection() as pg_conn:
                    cursor = await pg_conn.execute(query, params)
                    row: dict[str, Any] | None = await cursor.fetchone()
                    return row
            except PoolTimeout:
                raise
            except psycopg.OperationalError:  # as in `_execute`
                log.info("token_store_reconnecting")
                await self._async_pool.check()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def open_async(self) -> None:
        """Open the asyncio pool `authenticate_async` uses on PostgreSQL (in the loop
        that will use it)."""
        if self.settings.backend == "postgres" and self._async_pool is None:
            self._async_pool = AsyncConnectionPool(
                self.settings.postgres_conninfo(),
                min_size=1,
                max_size=4,
                kwargs={"autocommit": True, "row_factory": dict_row},
                open=False,
                timeout=self.settings.postgres_connect_timeout,
            )
            await self._async_pool.open()

    async def close_async(self) -> None:
        if self._async_pool is not None:
            await self._async_pool.close()
            self._async_pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
