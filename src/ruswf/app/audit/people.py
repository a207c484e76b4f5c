"""Personal data, kept out of the event log: the erasable people registry (GDPR art. 17).

Events never hold names, e-mail addresses or phone numbers. A contact person is
registered here (`ruswf gdpr register`, `POST /api/v1/people`) and referenced from an
initiative by an opaque id (`contact_person: "p_<16 hex digits>"`, checked by the
domain). `erase` overwrites the person's data in the `ruswf_people` table and keeps a
tombstone (id, organisation, when and by whom it was erased), so:

- events, snapshots and projections are untouched (they only ever held the id), and
  the hash chains still verify;
- every view that resolves the id (history, dossier, exports) shows "[raderad]";
- on SQLite the overwritten bytes are zeroed (`secure_delete`) and the write-ahead log
  is checkpointed and truncated; on PostgreSQL the table is rewritten (`VACUUM FULL`),
  so no dead row version keeps the data. Backups and exports made before the erasure
  are copies outside ruswf: see docs/audit.md.

That last step can be held up: an open reader (a reporting job's transaction on the
SQLite file, a PostgreSQL transaction that read the table) keeps the old bytes in the
write-ahead log or the old row version in the table. The checkpoint's result is checked
and retried for a few seconds; if the bytes cannot be gone yet the erasure is recorded
as `pending` (`ruswf_people_erasures`) and the answer says so (HTTP 202). `ruswf serve`
retries by itself; every later use of the registry (a read of the person, `ruswf gdpr
status`, another erase) tries again too, and records when it was complete
(docs/security.md).
"""

from __future__ import annotations

import builtins  # `list` is a method of People
import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from psycopg import sql

from ruswf.app.service import RusApp
from ruswf.app.store.sql import SqlStore, Tx
from ruswf.domain.content import PERSON_ID, TITLE_MAX, text
from ruswf.domain.errors import ValidationError

log = structlog.get_logger("ruswf.people")

ERASED = "[raderad]"
UNKNOWN = "[okänd]"
TABLE = "ruswf_people"
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{5,30}$")

_DDL = (
    "CREATE TABLE IF NOT EXISTS {ruswf_people} ("
    " person_id TEXT PRIMARY KEY,"
    " name TEXT,"
    " email TEXT,"
    " phone TEXT,"
    " organisation TEXT,"
    " registered_at TEXT NOT NULL,"
    " registered_by TEXT NOT NULL,"
    " erased_at TEXT,"
    " erased_by TEXT,"
    " idempotency_key TEXT,"
    " fingerprint TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ruswf_people_idempotency"
    " ON {ruswf_people} (registered_by, idempotency_key)",
    # Reminder recipients (docs/integrations.md): who gets an organisation's e-mail
    # reminders. Only the id: the address stays in ruswf_people, so erasure stops them.
    "CREATE TABLE IF NOT EXISTS {ruswf_reminder_recipients} ("
    " person_id TEXT PRIMARY KEY,"
    " organisation TEXT NOT NULL,"
    " language TEXT NOT NULL)",
    # When each erasure was asked for and when its data was gone from the files too.
    # (PostgreSQL: `erase_xid`, the erasing transaction, to tell whether a snapshot that
    # still sees the old row version is open.)
    "CREATE TABLE IF NOT EXISTS {ruswf_people_erasures} ("
    " person_id TEXT PRIMARY KEY,"
    " requested_at TEXT NOT NULL,"
    " completed_at TEXT,"
    " erase_xid TEXT)",
)
PENDING = "pending"
COMPLETE = "complete"
ERASE_ATTEMPTS = 5
ERASE_RETRY_SECONDS = 0.3
BACKGROUND_RETRY_SECONDS = 2.0
BACKGROUND_RETRY_LIMIT = 3600.0
FLUSH_WAIT_SECONDS = 0.5
"""How long one try waits for a reader (SQLite busy wait, PostgreSQL lock wait)."""


_SELECT = (
    "SELECT p.person_id, p.name, p.email, p.phone, p.organisation, p.registered_at,"
    " p.erased_at, e.requested_at, e.completed_at"
    " FROM {ruswf_people} p LEFT JOIN {ruswf_people_erasures} e ON e.person_id = p.person_id"
)
LANGUAGES = ("sv", "en")


class PersonNotFoundError(LookupError):
    """No person with this id in the registry."""

    def __init__(self, person_id: str) -> None:
        super().__init__(f"no person {person_id!r} in the people registry")
        self.person_id = person_id


@dataclass(frozen=True)
class Recipient:
    """A person who receives an organisation's reminders (not erased, with an address)."""

    person_id: str
    name: str
    email: str
    organisation: str
    language: str


@dataclass(frozen=True)
class Person:
    """A registry entry; after erasure only the tombstone remains."""

    id: str
    name: str
    email: str | None
    phone: str | None
    organisation: str | None
    registered_at: str
    erased: bool
    erased_at: str | None
    erasure: str | None = None
    """None (not erased), "pending" (the data may still be in the store's files) or
    "complete" (gone from the files too, at `erasure_completed_at`)."""
    erasure_completed_at: str | None = None
    reminders: bool = False
    """Receives the e-mail reminders of `organisation` (docs/integrations.md)."""
    language: str = "sv"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """What views show for a reference: the data, or "[raderad]" in its place."""
        return {name: getattr(self, name) for name in PUBLIC_FIELDS}


PUBLIC_FIELDS = ("id", "name", "email", "phone", "organisation", "erased")
"""What views show of a person a reference names (`Person.public`, `unknown`)."""


def unknown(person_id: str) -> dict[str, Any]:
    """What views show for a reference to a person the registry does not have."""
    return dict.fromkeys(PUBLIC_FIELDS) | {"id": person_id, "name": UNKNOWN, "erased": False}


def _person(row: dict[str, Any]) -> Person:
    erased = row["erased_at"] is not None
    erasure = None
    if erased:
        # An erasure from before the erasures table was complete when it answered.
        erasure = PENDING if row.get("requested_at") and not row.get("completed_at") else COMPLETE
    return Person(
        id=row["person_id"],
        name=ERASED if erased else str(row["name"]),
        email=ERASED if erased and row["email"] is None else row["email"],
        phone=ERASED if erased and row["phone"] is None else row["phone"],
        organisation=row["organisation"],
        registered_at=row["registered_at"],
        erased=erased,
        erased_at=row["erased_at"],
        erasure=erasure,
        erasure_completed_at=(row.get("completed_at") or row["erased_at"])
        if erasure == COMPLETE
        else None,
    )


class People:
    """The people registry in the application's store."""

    def __init__(self, app: RusApp, *, finish_in_background: bool = False) -> None:
        """`finish_in_background`: a pending erasure is retried by a thread of this
        process every `BACKGROUND_RETRY_SECONDS` for `BACKGROUND_RETRY_LIMIT` seconds
        (for a long-running server; a CLI command exits and leaves it to the next use)."""
        self.app = app
        self.store = SqlStore(app)
        self.store.create(_DDL, "ruswf-people")
        self.finish_in_background = finish_in_background
        self._finisher: threading.Thread | None = None
        self._finisher_lock = threading.Lock()

    def register(
        self,
        name: str,
        *,
        registered_by: str,
        registered_by_organisation: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        organisation: str | None = None,
        idempotency_key: str | None = None,
        reminders: bool = False,
        language: str | None = None,
    ) -> Person:
        """Add a person; returns the entry with its new id. A retry with the same
        `idempotency_key` by the same user (id *and* organisation) and the same data
        returns the first entry; the key of an entry erased since is refused."""
        clean_name = text(name, "name", max_length=TITLE_MAX)
        clean_email = text(email, "email", max_length=320, required=False) or None
        clean_phone = text(phone, "phone", max_length=40, required=False) or None
        if clean_email is not None and not EMAIL.match(clean_email):
            raise ValidationError("email", "must be an e-mail address")
        if clean_phone is not None and not PHONE.match(clean_phone):
            raise ValidationError("phone", "must be a phone number (digits, +, -, spaces)")
        if organisation is not None and self.app.strategy.actor(organisation) is None:
            raise ValidationError("organisation", f"unknown actor {organisation!r}")
        if idempotency_key is not None and not 0 < len(idempotency_key.strip()) <= 200:
            raise ValidationError(
                "Idempotency-Key", "must be a non-empty string of at most 200 characters"
            )
        if language is not None and language not in LANGUAGES:
            raise ValidationError("language", f"must be one of {', '.join(LANGUAGES)}")
        if reminders and (clean_email is None or organisation is None):
            raise ValidationError("reminders", "a reminder recipient needs an email and an org")
        # Erasure clears the fingerprint too: a hash of a name is still personal data.
        fingerprinted: list[object] = [clean_name, clean_email, clean_phone, organisation]
        if reminders or language is not None:
            fingerprinted += [reminders, language]
        fingerprint = hashlib.sha256(json.dumps(fingerprinted).encode()).hexdigest()
        # A user is their id and organisation together: the key is kept scoped by both.
        scoped_key = (
            None
            if idempotency_key is None
            else json.dumps([registered_by_organisation or "", idempotency_key])
        )
        with self.store.write() as tx:
            if scoped_key is not None:
                first = tx.one(
                    "SELECT person_id, fingerprint, erased_at FROM {ruswf_people}"
                    " WHERE registered_by = ? AND idempotency_key = ?",
                    (registered_by, scoped_key),
                )
                if first is not None:
                    if first["erased_at"] is not None:
                        raise ValidationError(
                            "Idempotency-Key",
                            f"idempotency key {idempotency_key!r} registered a person who"
                            " has been erased since; use a new key",
                        )
                    if first["fingerprint"] != fingerprint:
                        raise ValidationError(
                            "Idempotency-Key",
                            f"idempotency key {idempotency_key!r} was already used for"
                            " a different request",
                        )
                    replay_id = str(first["person_id"])
                    log.info("idempotent_replay", key=idempotency_key, person_id=replay_id)
                    return self._get(tx, replay_id)
            person_id = f"p_{secrets.token_hex(8)}"
            now = datetime.now(UTC).isoformat(timespec="seconds")
            tx.execute(
                "INSERT INTO {ruswf_people} (person_id, name, email, phone, organisation,"
                " registered_at, registered_by, idempotency_key, fingerprint)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    person_id,
                    clean_name,
                    clean_email,
                    clean_phone,
                    organisation,
                    now,
                    registered_by,
                    scoped_key,
                    fingerprint,
                ),
            )
            if reminders:
                tx.execute(
                    "INSERT INTO {ruswf_reminder_recipients} (person_id, organisation, language)"
                    " VALUES (?, ?, ?)",
                    (person_id, organisation, language or "sv"),
                )
            person = self._get(tx, person_id)
        log.info("person_registered", person_id=person_id, by=registered_by)
        return person

    @staticmethod
    def _get(tx: Tx, person_id: str) -> Person:
        row = tx.one(_SELECT + " WHERE p.person_id = ?", (person_id,))
        if row is None:
            raise PersonNotFoundError(person_id)
        recipient = tx.one(
            "SELECT language FROM {ruswf_reminder_recipients} WHERE person_id = ?", (person_id,)
        )
        if recipient is None:
            return _person(row)
        return replace(_person(row), reminders=True, language=str(recipient["language"]))

    def reminder_recipients(self, organisation: str | None = None) -> list[Recipient]:
        """Who receives reminders (of `organisation`, or of every organisation): people
        not erased, with an e-mail address, ordered by id."""
        where, params = "", []
        if organisation is not None:
            where, params = " AND r.organisation = ?", [organisation]
        with self.store.read() as tx:
            rows = tx.execute(
                "SELECT p.person_id, p.name, p.email, r.organisation, r.language"
                " FROM {ruswf_reminder_recipients} r JOIN {ruswf_people} p"
                " ON p.person_id = r.person_id"
                " WHERE p.erased_at IS NULL AND p.email IS NOT NULL"
                + where
                + " ORDER BY p.person_id",
                params,
            )
        return [
            Recipient(
                str(r["person_id"]),
                str(r["name"]),
                str(r["email"]),
                str(r["organisation"]),
                str(r["language"]),
            )
            for r in rows
        ]

    def get(self, person_id: str) -> Person:
        """The person, or its tombstone once erased."""
        if not isinstance(person_id, str) or not PERSON_ID.match(person_id):
            raise PersonNotFoundError(str(person_id))
        with self.store.read() as tx:
            return self._get(tx, person_id)

    def resolve(self, person_id: str | None) -> dict[str, Any] | None:
        """A reference as views show it: the person, "[raderad]" once erased, "[okänd]"
        for an id the registry does not know."""
        if person_id is None:
            return None
        try:
            return self.get(person_id).public()
        except PersonNotFoundError:
            return unknown(person_id)

    def list(self, *, include_erased: bool = False) -> list[Person]:
        self.complete_pending()
        where = "" if include_erased else " WHERE p.erased_at IS NULL"
        with self.store.read() as tx:
            rows = tx.execute(_SELECT + where + " ORDER BY p.registered_at, p.person_id")
        return [_person(row) for row in rows]

    def erase(self, person_id: str, *, erased_by: str) -> Person:
        """Make the person's data unreadable; keep the tombstone. Erasing twice is fine.
        The answer's `erasure` is "complete" once the data is gone from the store's files
        too, else "pending" (completed by a later use of the registry)."""
        self.get(person_id)  # raises for an unknown id
        now = datetime.now(UTC).isoformat(timespec="seconds")
        statement = (
            "UPDATE {ruswf_people} SET name = NULL, email = NULL, phone = NULL,"
            " fingerprint = NULL,"
            " erased_at = COALESCE(erased_at, ?), erased_by = COALESCE(erased_by, ?)"
            " WHERE person_id = ?"
        )
        params = (now, erased_by, person_id)
        if self.store.backend == "sqlite":
            # A connection of its own: secure_delete zeroes the bytes the update frees.
            with closing(self._sqlite()) as conn:
                conn.execute("PRAGMA secure_delete = ON")
                with conn:
                    conn.execute(self.store.render.sqlite(statement), params)
                    conn.execute(
                        self.store.render.sqlite(
                            "INSERT INTO {ruswf_people_erasures} (person_id, requested_at)"
                            " VALUES (?, ?) ON CONFLICT (person_id) DO NOTHING"
                        ),
                        (person_id, now),
                    )
        else:
            with self.store.write() as tx:
                tx.execute(statement, params)
                # The 32-bit transaction id, as `backend_xmin` in pg_stat_activity is.
                tx.execute(
                    "INSERT INTO {ruswf_people_erasures} (person_id, requested_at, erase_xid)"
                    " VALUES (?, ?, mod(txid_current(), 4294967296)::text)"
                    # Erasing again removes nothing more: the first erasure's is the one.
                    " ON CONFLICT (person_id) DO NOTHING",
                    (person_id, now),
                )
        log.info("person_erased", person_id=person_id, by=erased_by)
        if not self.complete_pending(attempts=ERASE_ATTEMPTS) and self.finish_in_background:
            self._finish_later()
        return self.get(person_id)

    def _finish_later(self) -> None:
        """One thread per registry retries pending erasures until none is left or the
        time limit passes (then the next use of the registry tries again)."""
        with self._finisher_lock:
            if self._finisher is not None and self._finisher.is_alive():
                return

            def retry() -> None:
                deadline = time.monotonic() + BACKGROUND_RETRY_LIMIT
                while time.monotonic() < deadline:
                    time.sleep(BACKGROUND_RETRY_SECONDS)
                    try:
                        if self.complete_pending():
                            return
                    except Exception as error:  # the store closed or failed: stop trying
                        log.warning("person_erasure_retry_stopped", error=type(error).__name__)
                        return

            self._finisher = threading.Thread(target=retry, name="ruswf-erasure", daemon=True)
            self._finisher.start()

    def status(self) -> builtins.list[Person]:
        """Every erased person, after one more try to complete pending erasures."""
        self.complete_pending()
        return [p for p in self.list(include_erased=True) if p.erased]

    def complete_pending(self, *, attempts: int = 1) -> bool:
        """Try to remove erased data from the store's files (SQLite: checkpoint and
        truncate the write-ahead log; PostgreSQL: rewrite the table). Records the
        completion of every pending erasure it finished; True when none is left."""
        with self.store.read() as tx:
            rows = tx.execute(
                "SELECT person_id, erase_xid FROM {ruswf_people_erasures}"
                " WHERE completed_at IS NULL"
            )
        pending = [str(r["person_id"]) for r in rows]
        if not pending:
            return True
        xids = [str(r["erase_xid"]) for r in rows if r["erase_xid"]]
        for attempt in range(attempts):
            if attempt:
                time.sleep(ERASE_RETRY_SECONDS)
            if self._flush(xids):
                break
        else:
            log.warning("person_erasure_pending", person_ids=pending)
            return False
        done = datetime.now(UTC).isoformat(timespec="seconds")
        with self.store.write() as tx:
            for person_id in pending:
                tx.execute(
                    "UPDATE {ruswf_people_erasures} SET completed_at = ?"
                    " WHERE person_id = ? AND completed_at IS NULL",
                    (done, person_id),
                )
        log.info("person_erasure_completed", person_ids=pending)
        return True

    def _sqlite(self) -> sqlite3.Connection:
        return self.app.settings.sqlite_connect()

    def _flush(self, xids: builtins.list[str]) -> bool:
        """One try to get erased bytes out of the files; True if it worked. `xids`: the
        PostgreSQL transactions that erased."""
        if self.store.backend == "sqlite":
            # TRUNCATE copies every frame of the write-ahead log into the database file
            # and empties the log, unless a reader still needs a frame: then `busy` is 1
            # or not every frame was copied, and the old page may still be in the log.
            path = self.app.settings.sqlite_path()
            with closing(sqlite3.connect(path, timeout=FLUSH_WAIT_SECONDS)) as conn:
                row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            busy, log_frames, checkpointed = row
            return bool(busy == 0 and log_frames in (0, checkpointed))
        # VACUUM FULL rewrites the (small) table, so no dead row version keeps the data;
        # it cannot run inside a transaction, hence its own connection. Two things stop
        # it: a transaction that read the table holds a lock it must wait for (past the
        # lock timeout: not yet), and VACUUM FULL copies a dead row version that an open
        # snapshot of the database may still see (a transaction whose xmin is not past
        # the erasing one, or a replication slot's): then checking first, not yet.
        settings = self.app.settings
        try:
            with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
                if xids and self._old_snapshot_open(conn, xids):
                    return False
                conn.execute(
                    sql.SQL("SET lock_timeout = {}").format(
                        sql.Literal(f"{int(FLUSH_WAIT_SECONDS * 1000)}ms")
                    )
                )
                conn.execute(
                    sql.SQL("VACUUM FULL {}").format(sql.Identifier(self.store.schema, TABLE))
                )
        except psycopg.errors.LockNotAvailable:
            return False
        return True

    @staticmethod
    def _old_snapshot_open(conn: psycopg.Connection[Any], xids: builtins.list[str]) -> bool:
        """Whether a snapshot that may still see a row version deleted by one of `xids`
        is open in this database (so VACUUM would have to keep that version): a backend's
        or a replication slot's xmin not newer than the newest erasing transaction."""
        row = conn.execute(
            "WITH erasing AS (SELECT min(age(x::xid)) AS age FROM unnest(%s::text[]) x)"
            " SELECT EXISTS (SELECT 1 FROM pg_stat_activity, erasing"
            "   WHERE datname = current_database() AND pid <> pg_backend_pid()"
            "   AND backend_xmin IS NOT NULL AND age(backend_xmin) >= erasing.age)"
            " OR EXISTS (SELECT 1 FROM pg_replication_slots, erasing"
            "   WHERE xmin IS NOT NULL AND age(xmin) >= erasing.age)",
            (xids,),
        ).fetchone()
        return bool(row and row[0])
