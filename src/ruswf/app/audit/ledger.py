"""The audit ledger: a hash chain over every stored event, in the log's global order, and
one per aggregate (initiative), computed from the events' STORED bytes.

The write path is untouched: a follower (run with the projections, or `ruswf audit
seal`) reads the notification log in order and seals each stored event into the
`ruswf_ledger` table, exactly once, in the same way the projections track their
position. For the event at position `p` of aggregate `a`, version `v`:

    event_hash  = sha256(f"{a}\\n{v}\\n{topic}\\n".encode() + state)
    chain_hash  = sha256(f"{previous chain_hash of a}\\n{event_hash}")      (per aggregate)
    ledger_hash = sha256(f"{previous ledger_hash}\\n{p}\\n{event_hash}")    (global)

with hashes as lower-case hex, `a` the aggregate's UUID with hyphens, `state` the bytes
exactly as stored (after compression and encryption, when configured), and the chains
starting from 64 zeros. `ruswf audit verify` recomputes both chains from the events
table and compares them with the ledger (see `ruswf.app.audit.verify`); the ledger's head,
exported and signed (`ruswf audit head --sign`), lets an auditor prove later that
nothing up to it changed, even if the ledger table itself was rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import Notification, StoredEvent

from ruswf.app.store.recorders import GAP_GRACE_SECONDS
from ruswf.app.store.sql import SqlStore

log = structlog.get_logger("ruswf.ledger")

GENESIS = "0" * 64
FORMAT = "ruswf-ledger-head/1"
BATCH_SIZE = 500

LEDGER_TABLE = "ruswf_ledger"
HEAD_TABLE = "ruswf_ledger_head"

_DDL = (
    "CREATE TABLE IF NOT EXISTS {ruswf_ledger} ("
    " position BIGINT PRIMARY KEY,"
    " originator_id TEXT NOT NULL,"
    " originator_version BIGINT NOT NULL,"
    " topic TEXT NOT NULL,"
    " event_hash TEXT NOT NULL,"
    " chain_hash TEXT NOT NULL,"
    " ledger_hash TEXT NOT NULL,"
    " sealed_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ruswf_ledger_originator"
    " ON {ruswf_ledger} (originator_id, originator_version)",
    "CREATE TABLE IF NOT EXISTS {ruswf_ledger_head} ("
    " id INTEGER PRIMARY KEY,"
    " position BIGINT NOT NULL,"
    " count BIGINT NOT NULL,"
    " ledger_hash TEXT NOT NULL,"
    " updated_at TEXT NOT NULL)",
)

_COLUMNS = (
    "position, originator_id, originator_version, topic, event_hash, chain_hash,"
    " ledger_hash, sealed_at"
)


# -- the hashes ------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def event_hash(originator_id: object, version: int, topic: str, state: bytes) -> str:
    """The hash of one stored event: its id, version and topic, then its stored bytes."""
    return _sha256(f"{originator_id}\n{version}\n{topic}\n".encode() + bytes(state))


def stored_event_hash(stored: StoredEvent) -> str:
    return event_hash(stored.originator_id, stored.originator_version, stored.topic, stored.state)


def chain_link(previous: str, event: str) -> str:
    """The next hash of an aggregate's own chain."""
    return _sha256(f"{previous}\n{event}".encode())


def ledger_link(previous: str, position: int, event: str) -> str:
    """The next hash of the ledger over the global order."""
    return _sha256(f"{previous}\n{position}\n{event}".encode())


# -- rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    """One sealed event."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    event_hash: str
    chain_hash: str
    ledger_hash: str
    sealed_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Head:
    """The ledger's newest seal: the last position sealed, how many events are sealed,
    and the ledger hash there."""

    position: int
    count: int
    ledger_hash: str
    updated_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _row(raw: dict[str, Any]) -> LedgerRow:
    return LedgerRow(
        position=int(raw["position"]),
        originator_id=str(raw["originator_id"]),
        originator_version=int(raw["originator_version"]),
        topic=str(raw["topic"]),
        event_hash=str(raw["event_hash"]),
        chain_hash=str(raw["chain_hash"]),
        ledger_hash=str(raw["ledger_hash"]),
        sealed_at=str(raw["sealed_at"]),
    )


# -- the ledger ------------------------------------------------------------------------


class Ledger:
    """The `ruswf_ledger` table of an application's store: sealing and reading."""

    def __init__(
        self,
        app: Application[Any],
        *,
        batch_size: int = BATCH_SIZE,
        gap_grace: float = GAP_GRACE_SECONDS,
    ) -> None:
        self.app = app
        self.store = SqlStore(app)
        self.batch_size = batch_size
        self.gap_grace = gap_grace
        self.store.create(_DDL, "ruswf-ledger")
        with self.store.write() as tx:
            tx.execute(
                "INSERT INTO {ruswf_ledger_head} (id, position, count, ledger_hash, updated_at)"
                " VALUES (1, 0, 0, ?, ?) ON CONFLICT (id) DO NOTHING",
                (GENESIS, _now()),
            )

    # -- reading ---------------------------------------------------------------------

    def head(self) -> Head:
        """The newest seal (position 0 and the genesis hash before the first)."""
        with self.store.read() as tx:
            row = tx.one("SELECT position, count, ledger_hash, updated_at FROM {ruswf_ledger_head}")
        if row is None:
            return Head(0, 0, GENESIS)
        return Head(
            int(row["position"]), int(row["count"]), str(row["ledger_hash"]), row["updated_at"]
        )

    def rows(
        self, after: int = 0, until: int | None = None, page: int = 1000
    ) -> Iterator[LedgerRow]:
        """Every sealed event after position `after` (up to `until`), in order."""
        position = after
        last = until if until is not None else 2**62
        while True:
            with self.store.read() as tx:
                found = tx.execute(
                    f"SELECT {_COLUMNS} FROM {{ruswf_ledger}} WHERE position > ?"
                    " AND position <= ? ORDER BY position LIMIT ?",
                    (position, last, page),
                )
            for raw in found:
                yield _row(raw)
            if len(found) < page:
                return
            position = int(found[-1]["position"])

    def chain(self, originator_id: object) -> list[LedgerRow]:
        """One aggregate's sealed events, in version order."""
        with self.store.read() as tx:
            found = tx.execute(
                f"SELECT {_COLUMNS} FROM {{ruswf_ledger}} WHERE originator_id = ?"
                " ORDER BY originator_version",
                (str(originator_id),),
            )
        return [_row(raw) for raw in found]

    def log_head(self) -> int:
        """The newest position of the event log (0: empty)."""
        return int(self.app.recorder.max_notification_id() or 0)

    # -- sealing ---------------------------------------------------------------------

    def seal(self) -> int:
        """Seal every event of the log not sealed yet (up to a fresh gap); returns how
        many were sealed. Safe to run in several processes at once: each event is sealed
        exactly once, by whichever gets there first."""
        sealed = 0
        while True:
            head = self.head()
            batch = self._sealable(head.position)
            if not batch:
                return sealed
            done = self._seal_batch(head, batch)
            sealed += done
            if done == 0:
                continue  # another sealer moved the head: read it again
            if len(batch) < self.batch_size:
                return sealed

    def _sealable(self, position: int) -> list[Notification]:
        """The next stored events after `position`, stopping at a fresh gap and at an
        event that does not decode (the ledger never seals what it cannot read)."""
        notifications = self.app.recorder.select_notifications(position + 1, self.batch_size)
        now = datetime.now(UTC)
        batch: list[Notification] = []
        previous = position
        for notification in notifications:
            try:
                event: Any = self.app.mapper.to_domain_event(notification)
            except Exception as error:  # any decoding failure: stop before this event
                log.warning(
                    "ledger_cannot_decode",
                    position=notification.id,
                    error=f"{type(error).__name__}: {error}".splitlines()[0],
                )
                break
            fresh = (now - event.timestamp).total_seconds() < self.gap_grace
            if notification.id != previous + 1 and fresh:
                log.debug("ledger_gap_wait", after=previous, next=notification.id)
                break
            batch.append(notification)
            previous = notification.id
        return batch

    def _seal_batch(self, expected: Head, batch: list[Notification]) -> int:
        """Seal `batch` after `expected`, in one transaction; 0 if the head moved."""
        with self.store.write() as tx:
            lock = " FOR UPDATE" if self.store.backend == "postgres" else ""
            current = tx.one(f"SELECT position, ledger_hash FROM {{ruswf_ledger_head}}{lock}")
            if current is None or int(current["position"]) != expected.position:
                return 0
            running = str(current["ledger_hash"])
            chains: dict[str, str] = {}
            sealed_at = _now()
            rows: list[tuple[Any, ...]] = []
            for notification in batch:
                originator = str(notification.originator_id)
                if originator not in chains:
                    last = tx.one(
                        "SELECT chain_hash FROM {ruswf_ledger} WHERE originator_id = ?"
                        " ORDER BY originator_version DESC LIMIT 1",
                        (originator,),
                    )
                    chains[originator] = str(last["chain_hash"]) if last else GENESIS
                digest = stored_event_hash(notification)
                chains[originator] = chain_link(chains[originator], digest)
                running = ledger_link(running, notification.id, digest)
                rows.append(
                    (
                        notification.id,
                        originator,
                        notification.originator_version,
                        notification.topic,
                        digest,
                        chains[originator],
                        running,
                        sealed_at,
                    )
                )
            tx.executemany(
                f"INSERT INTO {{ruswf_ledger}} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            tx.execute(
                "UPDATE {ruswf_ledger_head} SET position = ?, count = count + ?,"
                " ledger_hash = ?, updated_at = ? WHERE id = 1",
                (batch[-1].id, len(batch), running, sealed_at),
            )
        log.debug("ledger_sealed", events=len(batch), position=batch[-1].id)
        return len(batch)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
