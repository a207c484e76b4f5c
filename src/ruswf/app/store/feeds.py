"""Secret calendar subscription URLs (calendar programs cannot send a bearer token).

A feed's URL carries `<id>/<secret>`; only the secret's SHA-256 is stored
(`ruswf_calendar_feeds`, beside the events), compared in constant time. A feed
remembers who made it (user, role, organisation) and its filters, so it shows what
its creator may read; a revoked feed answers as if it never existed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ruswf.app.store.sql import SqlStore
from ruswf.domain.errors import ValidationError

if TYPE_CHECKING:
    from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef

TABLE = "ruswf_calendar_feeds"
FEED_ID = re.compile(r"^[0-9a-f]{16}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_DUMMY_HASH = hashlib.sha256(b"ruswf-no-such-feed").hexdigest()

_SELECT = (
    "SELECT id, user_id, role, organisation, council, feed_organisation, created_at, revoked_at"
)
"""The columns of a feed (`_feed`)."""


_DDL = (
    "CREATE TABLE IF NOT EXISTS {ruswf_calendar_feeds} ("
    " id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, user_id TEXT NOT NULL,"
    " role TEXT NOT NULL, organisation TEXT NOT NULL, council TEXT,"
    " feed_organisation TEXT, created_at TEXT NOT NULL, revoked_at TEXT)",
)


@dataclass(frozen=True)
class Feed:
    id: str
    user: str
    role: str
    organisation: str
    council: str | None
    feed_organisation: str | None
    created_at: str
    revoked_at: str | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class FeedStore:
    """Create, check and revoke calendar feeds on the application's store."""

    def __init__(self, app: RusApp) -> None:
        self.app = app
        self.store = SqlStore(app)
        self.store.create(_DDL, TABLE)

    def create(
        self, creator: ActorRef, council: str | None, organisation: str | None
    ) -> tuple[Feed, str]:
        """A new feed; returns it and its secret (shown once)."""
        strategy = self.app.strategy
        if council is not None and strategy.council(council) is None:
            known = ", ".join(c.id for c in strategy.councils)
            raise ValidationError("council", f"unknown council {council!r} (known: {known})")
        if organisation is not None and strategy.actor(organisation) is None:
            raise ValidationError("organisation", f"unknown organisation {organisation!r}")
        feed = Feed(
            id=secrets.token_hex(8),
            user=creator.user,
            role=creator.role,
            organisation=creator.organisation,
            council=council,
            feed_organisation=organisation,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        secret = secrets.token_urlsafe(32)
        with self.store.write() as tx:
            tx.execute(
                "INSERT INTO {ruswf_calendar_feeds} (id, secret_hash, user_id, role,"
                " organisation, council, feed_organisation, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feed.id,
                    _hash(secret),
                    feed.user,
                    feed.role,
                    feed.organisation,
                    council,
                    organisation,
                    feed.created_at,
                ),
            )
        return feed, secret

    def open(self, feed_id: str, secret: str) -> Feed | None:
        """The feed, if `secret` is its secret and it is not revoked."""
        well_formed = bool(FEED_ID.match(feed_id or "") and SECRET.match(secret or ""))
        row = None
        if well_formed:
            with self.store.read() as tx:
                row = tx.one(
                    _SELECT + ", secret_hash FROM {ruswf_calendar_feeds} WHERE id = ?", (feed_id,)
                )
        matches = hmac.compare_digest(row["secret_hash"] if row else _DUMMY_HASH, _hash(secret))
        if row is None or not matches or row["revoked_at"] is not None:
            return None
        return _feed(row)

    def get(self, feed_id: str) -> Feed | None:
        if not FEED_ID.match(feed_id or ""):
            return None
        with self.store.read() as tx:
            row = tx.one(_SELECT + " FROM {ruswf_calendar_feeds} WHERE id = ?", (feed_id,))
        return _feed(row) if row else None

    def active(self) -> list[Feed]:
        """Every feed not revoked, oldest first."""
        with self.store.read() as tx:
            rows = tx.execute(
                _SELECT
                + " FROM {ruswf_calendar_feeds} WHERE revoked_at IS NULL ORDER BY created_at, id"
            )
        return [_feed(row) for row in rows]

    def revoke(self, feed_id: str) -> bool:
        """Revoke a feed; False when there is no such active feed."""
        if not FEED_ID.match(feed_id or ""):
            return False
        with self.store.write() as tx:
            rows = tx.execute(
                "UPDATE {ruswf_calendar_feeds} SET revoked_at = ?"
                " WHERE id = ? AND revoked_at IS NULL RETURNING id",
                (datetime.now(UTC).isoformat(timespec="seconds"), feed_id),
            )
        return bool(rows)


def _feed(row: dict[str, object]) -> Feed:
    return Feed(
        id=str(row["id"]),
        user=str(row["user_id"]),
        role=str(row["role"]),
        organisation=str(row["organisation"]),
        council=row["council"] if isinstance(row["council"], str) else None,
        feed_organisation=(
            row["feed_organisation"] if isinstance(row["feed_organisation"], str) else None
        ),
        created_at=str(row["created_at"]),
        revoked_at=row["revoked_at"] if isinstance(row["revoked_at"], str) else None,
    )
