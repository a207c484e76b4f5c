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
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
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
    reminders: bool = False
    """Receives the e-mail reminders of `organisation` (docs/integrations.md)."""
    language: str = "sv"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """What views show for a reference: the data, or "[raderad]" in its place."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "organisation": self.organisation,
            "erased": self.erased,
        }


def unknown(person_id: str) -> dict[str, Any]:
    return {
        "id": person_id,
        "name": UNKNOWN,
        "email": None,
        "phone": None,
        "organisation": None,
        "erased": False,
    }


def _person(row: dict[str, Any]) -> Person:
    erased = row["erased_at"] is not None
    return Person(
        id=row["person_id"],
        name=ERASED if erased else str(row["name"]),
        email=ERASED if erased and row["email"] is None else row["email"],
        phone=ERASED if erased and row["phone"] is None else row["phone"],
        organisation=row["organisation"],
        registered_at=row["registered_at"],
        erased=erased,
        erased_at=row["erased_at"],
    )


class People:
    """The people registry in the application's store."""

    def __init__(self, app: RusApp) -> None:
        self.app = app
        self.store = SqlStore(app)
        self.store.create(_DDL, "ruswf-people")

    def register(
        self,
        name: str,
        *,
        registered_by: str,
        email: str | None = None,
        phone: str | None = None,
        organisation: str | None = None,
        idempotency_key: str | None = None,
        reminders: bool = False,
        language: str | None = None,
    ) -> Person:
        """Add a person; returns the entry with its new id. A retry with the same
        `idempotency_key` (by the same user) and the same data returns the first entry."""
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
        with self.store.write() as tx:
            if idempotency_key is not None:
                first = tx.one(
                    "SELECT person_id, fingerprint, erased_at FROM {ruswf_people}"
                    " WHERE registered_by = ? AND idempotency_key = ?",
                    (registered_by, idempotency_key),
                )
                if first is not None:
                    if first["erased_at"] is None and first["fingerprint"] != fingerprint:
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
                    idempotency_key,
                    fingerprint,
                ),
            )
            if reminders:
                tx.execute(
                    "INSERT INTO {ruswf_reminder_recipients} (person_id, organisation, language)"
                    " VALUES (?, ?, ?)",
                    (person_id, organisation, language or "sv"),
                )
        log.info("person_registered", person_id=person_id, by=registered_by)
        return Person(
            person_id,
            clean_name,
            clean_email,
            clean_phone,
            organisation,
            now,
            False,
            None,
            reminders=reminders,
            language=(language or "sv") if reminders else "sv",
        )

    @staticmethod
    def _get(tx: Tx, person_id: str) -> Person:
        row = tx.one(
            "SELECT person_id, name, email, phone, organisation, registered_at, erased_at"
            " FROM {ruswf_people} WHERE person_id = ?",
            (person_id,),
        )
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
        where = "" if include_erased else " WHERE erased_at IS NULL"
        with self.store.read() as tx:
            rows = tx.execute(
                "SELECT person_id, name, email, phone, organisation, registered_at, erased_at"
                " FROM {ruswf_people}" + where + " ORDER BY registered_at, person_id"
            )
        return [_person(row) for row in rows]

    def erase(self, person_id: str, *, erased_by: str) -> Person:
        """Make the person's data unreadable; keep the tombstone. Erasing twice is fine."""
        self.get(person_id)  # raises for an unknown id
        now = datetime.now(UTC).isoformat(timespec="seconds")
        statement = (
            "UPDATE {ruswf_people} SET name = NULL, email = NULL, phone = NULL,"
            " fingerprint = NULL,"
            " erased_at = COALESCE(erased_at, ?), erased_by = COALESCE(erased_by, ?)"
            " WHERE person_id = ?"
        )
        params = (now, erased_by, person_id)
        settings = self.app.settings
        if self.store.backend == "sqlite":
            # A connection of its own: secure_delete zeroes the bytes the update frees,
            # and the checkpoint moves the change into the database file and truncates
            # the write-ahead log, which could otherwise still hold the old page.
            path = settings.sqlite_path()
            with closing(sqlite3.connect(path, timeout=settings.lock_timeout or 5)) as conn:
                conn.execute("PRAGMA secure_delete = ON")
                with conn:
                    conn.execute(self.store.render_sqlite(statement), params)
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        else:
            with self.store.write() as tx:
                tx.execute(statement, params)
            # VACUUM FULL rewrites the (small) table, so no dead row version keeps the
            # data; it cannot run inside a transaction, hence its own connection.
            # If the table stays locked past the lock timeout this raises: the live row is
            # already overwritten, and erasing again (idempotent) finishes the rewrite.
            with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
                conn.execute(
                    sql.SQL("SET lock_timeout = {}").format(
                        sql.Literal(f"{max(settings.lock_timeout, 1)}s")
                    )
                )
                conn.execute(
                    sql.SQL("VACUUM FULL {}").format(sql.Identifier(self.store.schema, TABLE))
                )
        log.info("person_erased", person_id=person_id, by=erased_by)
        return self.get(person_id)
