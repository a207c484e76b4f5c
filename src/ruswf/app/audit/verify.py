"""Tamper evidence: `ruswf audit verify` and `GET /api/v1/audit/verify`.

`verify_store` walks the events table and the ledger (`ruswf.app.audit.ledger`) side by side,
in position order, recomputing every hash from the stored bytes:

- a sealed event whose stored bytes changed is `altered`;
- a sealed position that no longer holds an event is `removed`;
- a position holding another event than the one sealed there is `reordered`;
- an event at a position the ledger passed over is `inserted`;
- a ledger row whose chain hashes do not follow from the events is `ledger_altered`;
- an event that does not decode, or breaks its aggregate's version sequence, is
  `undecodable` or `version_gap` (the only checks possible for events not sealed yet,
  which are counted as `pending`);
- a snapshot that is not what its aggregate's events replay to is `snapshot`.

It never writes. The first problem in log order is named; `ok` is false then.
`check_head` proves, from the events table alone, that nothing up to an exported ledger
head changed (it recomputes the ledger hash without reading the ledger table).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from ruswf.app.audit.ledger import (
    GENESIS,
    Head,
    Ledger,
    LedgerRow,
    chain_link,
    ledger_link,
    stored_event_hash,
)
from ruswf.app.service import RusApp

PAGE = 1000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad: dict[str, Any] | None
    sealed: int = 0
    pending: int = 0
    snapshots_checked: int = 0
    ledger: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The result as `ruswf audit verify` and `GET /api/v1/audit/verify` answer it."""
        return asdict(self)


class _Bad(Exception):
    def __init__(self, problem: str, reason: str, **where: Any) -> None:
        super().__init__(reason)
        self.details = {**where, "problem": problem, "reason": reason}


def notifications(app: RusApp, start: int = 1, stop: int | None = None) -> Iterator[Notification]:
    """Every stored event from position `start` (to `stop`), in log order."""
    while True:
        page = app.recorder.select_notifications(start, PAGE, stop=stop)
        yield from page
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def _where(n: Notification) -> dict[str, Any]:
    return {
        "position": n.id,
        "originator_id": str(n.originator_id),
        "version": n.originator_version,
        "topic": n.topic,
    }


def _sealed_where(row: LedgerRow) -> dict[str, Any]:
    return {
        "position": row.position,
        "originator_id": row.originator_id,
        "version": row.originator_version,
        "topic": row.topic,
    }


class _Walk:
    """The state of one verification walk."""

    def __init__(self, app: RusApp, head: Head) -> None:
        self.app = app
        self.head = head
        self.versions: dict[str, int] = {}
        self.chains: dict[str, str] = {}
        self.running = GENESIS
        self.checked = 0
        self.sealed = 0
        self.pending = 0
        self.last_sealed: LedgerRow | None = None

    def readable(self, n: Notification) -> None:
        """The event decodes and continues its aggregate's versions."""
        try:
            self.app.mapper.to_domain_event(n)
        except Exception as error:  # any decoding failure is the finding
            raise _Bad(
                "undecodable", f"cannot decode: {type(error).__name__}", **_where(n)
            ) from None
        originator = str(n.originator_id)
        expected = self.versions.get(originator, 0) + 1
        if n.originator_version != expected:
            raise _Bad(
                "version_gap",
                f"expected version {expected} of this aggregate here",
                **_where(n),
            )
        self.versions[originator] = n.originator_version
        self.checked += 1

    def sealed_event(self, n: Notification, row: LedgerRow) -> None:
        """A stored event at a sealed position: the same event, the same bytes, and
        ledger hashes that follow from them."""
        originator = str(n.originator_id)
        if (originator, n.originator_version) != (row.originator_id, row.originator_version):
            raise _Bad(
                "reordered",
                f"position {row.position} held version {row.originator_version} of"
                f" {row.originator_id} when sealed, and now holds another event",
                **_where(n),
                sealed=_sealed_where(row),
            )
        digest = stored_event_hash(n)
        if digest != row.event_hash:
            raise _Bad(
                "altered",
                "the stored bytes differ from those sealed",
                **_where(n),
                sealed_hash=row.event_hash,
                stored_hash=digest,
            )
        chain = chain_link(self.chains.get(originator, GENESIS), digest)
        self.running = ledger_link(self.running, n.id, digest)
        if chain != row.chain_hash or self.running != row.ledger_hash:
            raise _Bad(
                "ledger_altered",
                "the ledger's hashes at this position do not follow from the stored events",
                **_where(n),
            )
        self.chains[originator] = chain
        self.readable(n)
        self.sealed += 1
        self.last_sealed = row


def verify_store(app: RusApp, ledger: Ledger) -> VerifyResult:
    """Walk the whole log and the ledger once; stop at the first event not intact."""
    head = ledger.head()
    walk = _Walk(app, head)
    try:
        _walk(walk, ledger)
        snapshots = _check_snapshots(app, ledger)
    except _Bad as bad:
        return VerifyResult(
            False, walk.checked, bad.details, walk.sealed, walk.pending, 0, head.as_dict()
        )
    return VerifyResult(
        True, walk.checked, None, walk.sealed, walk.pending, snapshots, head.as_dict()
    )


def _walk(walk: _Walk, ledger: Ledger) -> None:
    # Only up to the head read at the start: a follower may seal more meanwhile, and
    # those events are then checked as pending.
    rows = ledger.rows(until=walk.head.position)
    events = notifications(walk.app)
    row = next(rows, None)
    event = next(events, None)
    while row is not None or event is not None:
        if row is not None and (event is None or row.position < event.id):
            raise _Bad(
                "removed",
                f"the event sealed at position {row.position} is no longer stored there",
                **_sealed_where(row),
            )
        if event is not None and (row is None or event.id < row.position):
            if row is None and event.id > walk.head.position:
                walk.readable(event)
                walk.pending += 1
            else:
                raise _Bad(
                    "inserted",
                    f"position {event.id} was not in the log when the ledger passed it",
                    **_where(event),
                )
            event = next(events, None)
            continue
        assert row is not None
        assert event is not None
        walk.sealed_event(event, row)
        row = next(rows, None)
        event = next(events, None)
    last = walk.last_sealed
    head = walk.head
    found = (last.position, last.ledger_hash) if last else (0, GENESIS)
    if found != (head.position, head.ledger_hash) or walk.sealed != head.count:
        raise _Bad(
            "ledger_altered",
            f"the ledger's head (position {head.position}, {head.count} events) does not"
            f" match its rows (position {found[0]}, {walk.sealed} events)",
            position=head.position,
        )


def _check_snapshots(app: RusApp, ledger: Ledger) -> int:
    """Every snapshot must be what its aggregate's events replay to."""
    table = ledger.store.snapshots_table
    if table is None or app.snapshots is None:
        return 0
    with ledger.store.read() as tx:
        rows = tx.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {{{table}}}"
            " ORDER BY originator_id, originator_version"
        )
    checked = 0
    for raw in rows:
        originator = raw["originator_id"]
        uuid = originator if isinstance(originator, UUID) else UUID(str(originator))
        where = {"originator_id": str(uuid), "version": int(raw["originator_version"])}
        stored = StoredEvent(uuid, int(raw["originator_version"]), raw["topic"], raw["state"])
        try:
            snapshot: Any = app.snapshots.mapper.to_domain_event(stored)
        except Exception as error:  # any decoding failure is the finding
            raise _Bad(
                "snapshot", f"snapshot cannot be decoded: {type(error).__name__}", **where
            ) from None
        aggregate: Any = None
        for event in app.events.get(uuid, lte=stored.originator_version):
            replayed: Any = event  # every stored event of an aggregate can mutate it
            aggregate = replayed.mutate(aggregate)
        if aggregate is None or type(snapshot).take(aggregate).state != snapshot.state:
            raise _Bad(
                "snapshot",
                "the snapshot is not what the aggregate's events replay to",
                **where,
            )
        checked += 1
    return checked


# -- the exported head ------------------------------------------------------------------


@dataclass(frozen=True)
class HeadCheck:
    ok: bool
    position: int
    count: int
    expected: str
    found: str
    found_count: int
    reason: str


def recompute_head(app: RusApp, position: int) -> tuple[str, int]:
    """The ledger hash and event count at `position`, from the events table alone."""
    running = GENESIS
    count = 0
    if position <= 0:
        return running, count
    for n in notifications(app, 1, stop=position):
        running = ledger_link(running, n.id, stored_event_hash(n))
        count += 1
    return running, count


def check_head(app: RusApp, position: int, count: int, ledger_hash: str) -> HeadCheck:
    """Whether the events up to `position` still hash to an exported head."""
    found, found_count = recompute_head(app, position)
    ok = found == ledger_hash and found_count == count
    if ok:
        reason = f"the {count} events up to position {position} are unchanged"
    elif found_count != count:
        reason = (
            f"the head sealed {count} events up to position {position};"
            f" the store now holds {found_count} there"
        )
    else:
        reason = f"the events up to position {position} no longer hash to the exported head"
    return HeadCheck(ok, position, count, ledger_hash, found, found_count, reason)
