"""What a failure of the store means to a caller: retry later, or call an operator.

The event store, the projections and the token table raise their drivers' errors
(eventsourcing's `PersistenceError` family wrapping sqlite3's and psycopg's, or the raw
sqlite3/psycopg errors of the token table). `store_fault` turns one into a `StoreFault`:
the HTTP status (503, or 507 for a full disk), a stable `reason` for machines, a
sentence for people and whether a retry may help. The API answers it as problem+json,
the CLI as its one-line error. Neither shows the driver's message to the caller: it can
name hosts, users and SQL.

Every failure here happens before the command's single atomic insert commits, or *is*
that insert failing, so nothing of the command is stored, with one exception: a commit
whose acknowledgement was lost (the connection broke after the database committed). A
keyed retry (`Idempotency-Key`) resolves that case: it returns the first response if
the command was stored and runs the command if it was not (see docs/reliability.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import psycopg
import psycopg_pool
from eventsourcing.persistence import ConnectionUnavailableError, PersistenceError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from psycopg import errors as pg_errors

Reason = Literal["unavailable", "busy", "locked", "read_only", "disk_full", "io_error", "corrupt"]

RETRY_AFTER_SECONDS = 2
"""What a 503 for a passing fault suggests (`Retry-After`)."""

_DETAILS: dict[Reason, str] = {
    "unavailable": "the store is unreachable or lost its connection",
    "busy": "the store did not answer in time (all connections busy)",
    "locked": "the store is locked by another writer and the wait timed out",
    "read_only": "the store is read-only",
    "disk_full": "the store's disk is full",
    "io_error": "the store's disk reported an I/O error",
    "corrupt": "the store's database file is damaged",
}
_PASSING: frozenset[Reason] = frozenset({"unavailable", "busy", "locked"})


@dataclass(frozen=True)
class StoreFault:
    """A failure of the store, as a caller should see it."""

    reason: Reason
    status: int
    detail: str
    retry_after: int | None
    """Seconds after which a retry may succeed; None when an operator must act first."""

    @property
    def message(self) -> str:
        """One line for people (the CLI's error, the problem's detail)."""
        if self.retry_after is None:
            return f"{self.detail}; nothing was recorded, and nothing can be until it is fixed"
        return (
            f"{self.detail}; the command was not recorded, retry it (with the same "
            "Idempotency-Key, if it had one)"
        )


def _fault(reason: Reason) -> StoreFault:
    return StoreFault(
        reason=reason,
        status=507 if reason == "disk_full" else 503,
        detail=_DETAILS[reason],
        retry_after=RETRY_AFTER_SECONDS if reason in _PASSING else None,
    )


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and its causes, outermost first (eventsourcing wraps the driver's)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__  # eventsourcing raises its errors `from` the driver's


def _sqlite_reason(message: str) -> Reason | None:
    text = message.lower()
    if "locked" in text or "busy" in text:
        return "locked"
    if "readonly" in text or "read-only" in text:
        return "read_only"
    if "disk is full" in text or "database or disk is full" in text:
        return "disk_full"
    if "disk i/o error" in text:
        return "io_error"
    if "malformed" in text or "not a database" in text:
        return "corrupt"
    if "unable to open" in text:
        return "unavailable"
    return None


def _postgres_reason(error: psycopg.Error) -> Reason:
    if isinstance(error, pg_errors.DiskFull):
        return "disk_full"
    if isinstance(error, pg_errors.ReadOnlySqlTransaction):
        return "read_only"
    if isinstance(error, pg_errors.LockNotAvailable):
        return "locked"
    if isinstance(error, psycopg_pool.TooManyRequests):
        return "busy"
    if isinstance(error, pg_errors.QueryCanceled):
        return "busy"
    return "unavailable"


def store_fault(error: BaseException) -> StoreFault | None:
    """The fault of the store behind `error`, or None if `error` is not one (a bug)."""
    for link in _chain(error):
        if isinstance(link, sqlite3.Error):
            reason = _sqlite_reason(str(link))
            if reason is not None:
                return _fault(reason)
            if isinstance(link, sqlite3.OperationalError | sqlite3.InterfaceError):
                return _fault("unavailable")
            return None
        if isinstance(link, psycopg.Error):
            if isinstance(
                link,
                psycopg.OperationalError
                | psycopg.InterfaceError
                | pg_errors.DiskFull
                | pg_errors.ReadOnlySqlTransaction,
            ):
                return _fault(_postgres_reason(link))
            return None
    # eventsourcing's own errors without a driver error behind them.
    if isinstance(error, ConnectionUnavailableError):
        return _fault("busy")
    if isinstance(error, StoreOperationalError | StoreInterfaceError):
        reason = _sqlite_reason(str(error))
        return _fault(reason or "unavailable")
    return None


def is_store_error(error: BaseException) -> bool:
    """An error raised by the store's drivers (a fault or a bug)."""
    return isinstance(error, PersistenceError | sqlite3.Error | psycopg.Error)


def store_error_message(error: BaseException) -> str:
    """One line about a store error: the fault's message, or the error's type and first line."""
    fault = store_fault(error)
    if fault is not None:
        return fault.message
    first = str(error).splitlines()[0] if str(error) else ""
    return f"store error: {type(error).__name__}: {first}"
