"""Webhook subscriptions, their delivery log and their signing (Standard Webhooks).

Two tables beside the event store (through `SqlStore`, on SQLite and PostgreSQL):

- `ruswf_webhooks`: one row per subscription: URL, event types, the signing secret (and
  the previous one during a rotation), and the outbox cursor: `position` is the
  notification id of the last event handled (delivered, or not of a subscribed type),
  `attempts` / `next_attempt_at` the back-off of the event after it, `lease_owner` /
  `lease_until` which process delivers it now (one at a time, so deliveries stay in
  log order);
- `ruswf_webhook_deliveries`: every attempt: the event's position, its `webhook-id`,
  the answer's status or the error, and how long it took.

Requests with an `Idempotency-Key` are remembered in `ruswf_webhook_requests`, so a
retried `POST` returns its first answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from standardwebhooks import Webhook

from ruswf.app.service import RusApp
from ruswf.app.store.sql import Row, SqlStore, Tx
from ruswf.app.views import EventView
from ruswf.domain.errors import ValidationError
from ruswf.domain.initiative import Initiative

EVENT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ruswf:event")
ROTATION_OVERLAP = timedelta(hours=24)
"""How long the previous secret still signs after a rotation."""
ALL = "*"
EVENT_TYPES = frozenset(
    name
    for name, value in vars(Initiative).items()
    if isinstance(value, type)
    and issubclass(value, Initiative.Event | Initiative.Proposed)
    and value not in (Initiative.Event, Initiative.Decided)
    and name != "Created"
)
"""The event `type` names of an initiative's `/history`."""

_DDL = (
    "CREATE TABLE IF NOT EXISTS {ruswf_webhooks} ("
    " webhook_id TEXT PRIMARY KEY,"
    " url TEXT NOT NULL,"
    " event_types TEXT NOT NULL,"
    " secret TEXT NOT NULL,"
    " previous_secret TEXT,"
    " previous_secret_until TEXT,"
    " created_at TEXT NOT NULL,"
    " created_by TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " status_reason TEXT,"
    " position BIGINT NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " next_attempt_at TEXT,"
    " lease_owner TEXT,"
    " lease_until TEXT)",
    "CREATE TABLE IF NOT EXISTS {ruswf_webhook_deliveries} ("
    " webhook_id TEXT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " position BIGINT NOT NULL,"
    " message_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL,"
    " attempt INTEGER NOT NULL,"
    " attempted_at TEXT NOT NULL,"
    " status_code INTEGER,"
    " outcome TEXT NOT NULL,"
    " error TEXT,"
    " duration_ms INTEGER NOT NULL,"
    " PRIMARY KEY (webhook_id, seq))",
    "CREATE TABLE IF NOT EXISTS {ruswf_webhook_requests} ("
    " scope TEXT NOT NULL,"
    " idempotency_key TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " response TEXT NOT NULL,"
    " PRIMARY KEY (scope, idempotency_key))",
)
_COLUMNS = (
    "webhook_id, url, event_types, secret, previous_secret, previous_secret_until,"
    " created_at, created_by, status, status_reason, position, attempts, next_attempt_at,"
    " lease_owner, lease_until"
)


class WebhookNotFoundError(LookupError):
    """No webhook subscription with this id."""

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"no webhook {webhook_id!r}")
        self.webhook_id = webhook_id


def stamp(moment: datetime) -> str:
    """A UTC time as stored: fixed width, so text order is time order on both stores."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unstamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def new_secret() -> str:
    """`whsec_` and base64 of 32 random bytes (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event_id(event: Any) -> UUID:
    """A stable id of a stored event: the same on every store, retry and replay."""
    return uuid5(EVENT_NAMESPACE, f"{event.originator_id}:{event.originator_version}")


def message_id(event: Any) -> str:
    """The `webhook-id` of an event: equal on every attempt, restart and replay."""
    return f"msg_{event_id(event).hex}"


def payload(event: Any, position: int) -> dict[str, Any]:
    """What a subscriber receives for one initiative event."""
    view = EventView.of(event)
    return {
        "id": str(event_id(event)),
        "type": view.type,
        "position": position,
        "initiative_id": str(event.originator_id),
        "version": view.version,
        "recorded_at": view.recorded_at,
        "actor": view.actor,
        "data": view.data,
    }


def body(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)


def signature(secrets_in_force: Iterable[str], msg_id: str, moment: datetime, data: str) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret in force."""
    return " ".join(Webhook(s).sign(msg_id, moment, data) for s in secrets_in_force)


def validate_event_types(event_types: object) -> list[str]:
    if not isinstance(event_types, list) or not event_types:
        raise ValidationError("event_types", 'must be a non-empty list of event types or ["*"]')
    if event_types == [ALL]:
        return [ALL]
    unknown = [t for t in event_types if not isinstance(t, str) or t not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            "event_types",
            f"unknown event type {unknown[0]!r} (known: {', '.join(sorted(EVENT_TYPES))}, or *)",
        )
    return sorted(set(event_types))


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    created_at: str
    created_by: str
    status: str
    status_reason: str | None
    position: int
    attempts: int
    next_attempt_at: datetime | None

    def wants(self, event_type: str) -> bool:
        return ALL in self.event_types or event_type in self.event_types

    def secrets_at(self, moment: datetime) -> list[str]:
        found = [self.secret]
        until = self.previous_secret_until
        if self.previous_secret and until is not None and moment < until:
            found.append(self.previous_secret)
        return found

    def public(self) -> dict[str, Any]:
        """What the API shows (never the secret)."""
        return {
            "id": self.id,
            "url": self.url,
            "event_types": list(self.event_types),
            "status": self.status,
            "status_reason": self.status_reason,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "position": self.position,
            "attempts": self.attempts,
            "next_attempt_at": stamp(self.next_attempt_at) if self.next_attempt_at else None,
            "previous_secret_valid_until": (
                stamp(self.previous_secret_until)
                if self.previous_secret and self.previous_secret_until
                else None
            ),
        }


def _subscription(row: Row) -> Subscription:
    return Subscription(
        id=str(row["webhook_id"]),
        url=str(row["url"]),
        event_types=tuple(json.loads(row["event_types"])),
        secret=str(row["secret"]),
        previous_secret=row["previous_secret"],
        previous_secret_until=(
            unstamp(row["previous_secret_until"]) if row["previous_secret_until"] else None
        ),
        created_at=str(row["created_at"]),
        created_by=str(row["created_by"]),
        status=str(row["status"]),
        status_reason=row["status_reason"],
        position=int(row["position"]),
        attempts=int(row["attempts"]),
        next_attempt_at=unstamp(row["next_attempt_at"]) if row["next_attempt_at"] else None,
    )


class WebhookStore:
    """The subscriptions and their delivery log in the application's store."""

    def __init__(self, app: RusApp) -> None:
        self.app = app
        self.store = SqlStore(app)
        self.store.create(_DDL, "ruswf-webhooks")

    # -- idempotent requests -------------------------------------------------------------

    def remembered(
        self, tx: Tx, scope: str, key: str | None, fingerprint: str
    ) -> tuple[int, dict[str, Any]] | None:
        """The first answer to this keyed request, if any (inside the request's tx)."""
        if key is None:
            return None
        row = tx.one(
            "SELECT fingerprint, status, response FROM {ruswf_webhook_requests}"
            " WHERE scope = ? AND idempotency_key = ?",
            (scope, key),
        )
        if row is None:
            return None
        if row["fingerprint"] != fingerprint:
            raise ValidationError(
                "Idempotency-Key",
                f"idempotency key {key!r} was already used for a different request",
            )
        return int(row["status"]), json.loads(row["response"])

    @staticmethod
    def remember(
        tx: Tx, scope: str, key: str | None, fingerprint: str, status: int, response: Any
    ) -> None:
        if key is not None:
            tx.execute(
                "INSERT INTO {ruswf_webhook_requests} (scope, idempotency_key, fingerprint,"
                " status, response) VALUES (?, ?, ?, ?, ?)",
                (scope, key, fingerprint, status, json.dumps(response)),
            )

    @staticmethod
    def fingerprint(request: dict[str, Any]) -> str:
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    # -- subscriptions -------------------------------------------------------------------

    def create(
        self,
        url: str,
        event_types: list[str],
        *,
        created_by: str,
        scope: str,
        idempotency_key: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """A new subscription from the log's head on: (201, its view with the secret)."""
        types = validate_event_types(event_types)
        fingerprint = self.fingerprint({"op": "create", "url": url, "event_types": types})
        head = int(self.app.recorder.max_notification_id() or 0)
        with self.store.write() as tx:
            first = self.remembered(tx, scope, idempotency_key, fingerprint)
            if first is not None:
                return first
            webhook_id = f"wh_{secrets.token_hex(8)}"
            secret = new_secret()
            tx.execute(
                "INSERT INTO {ruswf_webhooks} (" + _COLUMNS + ") VALUES"
                " (?, ?, ?, ?, NULL, NULL, ?, ?, 'active', NULL, ?, 0, NULL, NULL, NULL)",
                (
                    webhook_id,
                    url,
                    json.dumps(types),
                    secret,
                    stamp(datetime.now(UTC)),
                    created_by,
                    head,
                ),
            )
            created = self._get(tx, webhook_id).public() | {"secret": secret}
            self.remember(tx, scope, idempotency_key, fingerprint, 201, created)
        return 201, created

    @staticmethod
    def _get(tx: Tx, webhook_id: str) -> Subscription:
        row = tx.one(
            "SELECT " + _COLUMNS + " FROM {ruswf_webhooks} WHERE webhook_id = ?", (webhook_id,)
        )
        if row is None:
            raise WebhookNotFoundError(webhook_id)
        return _subscription(row)

    def get(self, webhook_id: str) -> Subscription:
        with self.store.read() as tx:
            return self._get(tx, webhook_id)

    def page(self, limit: int = 50, offset: int = 0) -> tuple[list[Subscription], int]:
        with self.store.read() as tx:
            total = tx.one("SELECT COUNT(*) AS n FROM {ruswf_webhooks}")
            rows = tx.execute(
                "SELECT " + _COLUMNS + " FROM {ruswf_webhooks}"
                " ORDER BY created_at, webhook_id LIMIT ? OFFSET ?",
                (limit, offset),
            )
        return [_subscription(r) for r in rows], int(total["n"] if total else 0)

    def active(self) -> list[Subscription]:
        with self.store.read() as tx:
            rows = tx.execute(
                "SELECT " + _COLUMNS + " FROM {ruswf_webhooks} WHERE status = 'active'"
                " ORDER BY webhook_id"
            )
        return [_subscription(r) for r in rows]

    def delete(self, webhook_id: str) -> None:
        with self.store.write() as tx:
            self._get(tx, webhook_id)
            tx.execute("DELETE FROM {ruswf_webhook_deliveries} WHERE webhook_id = ?", (webhook_id,))
            tx.execute("DELETE FROM {ruswf_webhooks} WHERE webhook_id = ?", (webhook_id,))

    def replay(
        self,
        webhook_id: str,
        from_position: int,
        *,
        scope: str,
        idempotency_key: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Deliver again from `from_position` (inclusive); a disabled subscription is
        enabled again."""
        if not isinstance(from_position, int) or from_position < 1:
            raise ValidationError("from_position", "must be a position of the log (1 or more)")
        fingerprint = self.fingerprint(
            {"op": "replay", "id": webhook_id, "from_position": from_position}
        )
        with self.store.write() as tx:
            first = self.remembered(tx, scope, idempotency_key, fingerprint)
            if first is not None:
                return first
            self._get(tx, webhook_id)
            tx.execute(
                "UPDATE {ruswf_webhooks} SET position = ?, attempts = 0, next_attempt_at = NULL,"
                " status = 'active', status_reason = NULL WHERE webhook_id = ?",
                (from_position - 1, webhook_id),
            )
            answer = {"id": webhook_id, "from_position": from_position}
            self.remember(tx, scope, idempotency_key, fingerprint, 202, answer)
        return 202, answer

    def rotate_secret(
        self, webhook_id: str, *, scope: str, idempotency_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """A new secret; the old one still signs (beside it) for `ROTATION_OVERLAP`."""
        fingerprint = self.fingerprint({"op": "rotate", "id": webhook_id})
        with self.store.write() as tx:
            first = self.remembered(tx, scope, idempotency_key, fingerprint)
            if first is not None:
                return first
            current = self._get(tx, webhook_id)
            secret = new_secret()
            until = stamp(datetime.now(UTC) + ROTATION_OVERLAP)
            tx.execute(
                "UPDATE {ruswf_webhooks} SET secret = ?, previous_secret = ?,"
                " previous_secret_until = ? WHERE webhook_id = ?",
                (secret, current.secret, until, webhook_id),
            )
            answer = {"id": webhook_id, "secret": secret, "previous_secret_valid_until": until}
            self.remember(tx, scope, idempotency_key, fingerprint, 200, answer)
        return 200, answer

    def deliveries(
        self, webhook_id: str, limit: int = 50, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """The subscription's delivery attempts, newest first."""
        with self.store.read() as tx:
            self._get(tx, webhook_id)
            total = tx.one(
                "SELECT COUNT(*) AS n FROM {ruswf_webhook_deliveries} WHERE webhook_id = ?",
                (webhook_id,),
            )
            rows = tx.execute(
                "SELECT seq, position, message_id, event_type, attempt, attempted_at,"
                " status_code, outcome, error, duration_ms FROM {ruswf_webhook_deliveries}"
                " WHERE webhook_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?",
                (webhook_id, limit, offset),
            )
        items = [
            {
                "position": int(r["position"]),
                "webhook_id": r["message_id"],
                "type": r["event_type"],
                "attempt": int(r["attempt"]),
                "attempted_at": r["attempted_at"],
                "status_code": r["status_code"],
                "outcome": r["outcome"],
                "error": r["error"],
                "duration_ms": int(r["duration_ms"]),
            }
            for r in rows
        ]
        return items, int(total["n"] if total else 0)

    # -- the dispatcher's side -----------------------------------------------------------

    def lease(self, webhook_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take (or renew) the right to deliver this subscription's events."""
        with self.store.write() as tx:
            taken = tx.execute(
                "UPDATE {ruswf_webhooks} SET lease_owner = ?, lease_until = ?"
                " WHERE webhook_id = ? AND status = 'active'"
                " AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)"
                " RETURNING webhook_id",
                (owner, stamp(until), webhook_id, owner, stamp(now)),
            )
        return bool(taken)

    def release(self, webhook_id: str, owner: str) -> None:
        with self.store.write() as tx:
            tx.execute(
                "UPDATE {ruswf_webhooks} SET lease_owner = NULL, lease_until = NULL"
                " WHERE webhook_id = ? AND lease_owner = ?",
                (webhook_id, owner),
            )

    def advance(
        self, webhook_id: str, owner: str, expected: int, position: int, until: datetime
    ) -> bool:
        """Move the cursor from `expected` to `position` (and renew the lease); False
        when the cursor moved meanwhile (a replay) or the lease was lost."""
        with self.store.write() as tx:
            moved = tx.execute(
                "UPDATE {ruswf_webhooks} SET position = ?, attempts = 0, next_attempt_at = NULL,"
                " lease_until = ? WHERE webhook_id = ? AND position = ? AND lease_owner = ?"
                " RETURNING webhook_id",
                (position, stamp(until), webhook_id, expected, owner),
            )
        return bool(moved)

    def settle(self, attempts: Sequence[Attempt], owner: str, cursor: int, until: datetime) -> bool:
        """Log attempts and act on them, in one transaction. Every attempt but the last
        was delivered; the cursor moves from `cursor` past the delivered ones (renewing
        the lease until `until`); a last one that failed is postponed to its `retry_at`,
        a last one answered 410 disables the subscription. False when the cursor or the
        lease moved meanwhile (a replay, a deletion, a lease taken over): nothing is
        written then."""
        if not attempts:
            return True
        last = attempts[-1]
        delivered = [a for a in attempts if a.outcome == "delivered"]
        position = delivered[-1].position if delivered else cursor
        webhook_id = last.webhook_id
        with self.store.write() as tx:
            if last.outcome == "delivered":
                held = tx.execute(
                    "UPDATE {ruswf_webhooks} SET position = ?, attempts = 0,"
                    " next_attempt_at = NULL, lease_until = ?"
                    " WHERE webhook_id = ? AND position = ? AND lease_owner = ?"
                    " RETURNING webhook_id",
                    (position, stamp(until), webhook_id, cursor, owner),
                )
            elif last.outcome == "gone":
                held = tx.execute(
                    "UPDATE {ruswf_webhooks} SET position = ?, status = 'disabled',"
                    " status_reason = ?, lease_owner = NULL, lease_until = NULL"
                    " WHERE webhook_id = ? AND position = ? AND lease_owner = ?"
                    " RETURNING webhook_id",
                    (position, "the receiver answered 410 Gone", webhook_id, cursor, owner),
                )
            else:
                assert last.retry_at is not None
                held = tx.execute(
                    "UPDATE {ruswf_webhooks} SET position = ?, attempts = ?,"
                    " next_attempt_at = ?, lease_owner = NULL, lease_until = NULL"
                    " WHERE webhook_id = ? AND position = ? AND lease_owner = ?"
                    " RETURNING webhook_id",
                    (position, last.attempt, stamp(last.retry_at), webhook_id, cursor, owner),
                )
            if not held:
                return False
            found = tx.one(
                "SELECT MAX(seq) AS seq FROM {ruswf_webhook_deliveries} WHERE webhook_id = ?",
                (webhook_id,),
            )
            seq = int(found["seq"]) if found and found["seq"] is not None else 0
            for offset, attempt in enumerate(attempts, start=1):
                tx.execute(
                    "INSERT INTO {ruswf_webhook_deliveries} (webhook_id, seq, position,"
                    " message_id, event_type, attempt, attempted_at, status_code, outcome,"
                    " error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        webhook_id,
                        seq + offset,
                        attempt.position,
                        attempt.msg_id,
                        attempt.event_type,
                        attempt.attempt,
                        stamp(attempt.attempted_at),
                        attempt.status_code,
                        attempt.outcome,
                        attempt.error,
                        attempt.duration_ms,
                    ),
                )
        return True


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt, as the delivery log keeps it."""

    webhook_id: str
    position: int
    msg_id: str
    event_type: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    outcome: str  # delivered | failed | gone
    error: str | None
    duration_ms: int
    retry_at: datetime | None = None
