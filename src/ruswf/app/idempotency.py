"""Idempotency keys as tiny aggregates, saved atomically with the command's event.

The record's id is derived from (caller, key), so two racing commands with the same key
collide on the record's first version: the event store lets exactly one of them in.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ruswf:idempotency")


def request_fingerprint(request: dict[str, Any]) -> str:
    """A stable hash of a command's request (what must match for a retry)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyRecord(Aggregate):
    """Remembers which event a keyed command recorded, so a retry can return it."""

    @staticmethod
    def create_id(scope: str, key: str, **_: Any) -> UUID:
        return uuid5(IDEMPOTENCY_NAMESPACE, f"{scope}\n{key}")

    class Recorded(Aggregate.Created):
        scope: str
        key: str
        fingerprint: str
        initiative_id: str
        result_version: int

    @event(Recorded)
    def __init__(
        self, scope: str, key: str, fingerprint: str, initiative_id: str, result_version: int
    ) -> None:
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
        self.initiative_id = initiative_id
        self.result_version = result_version
