"""Errors of the application service (the domain's errors pass through unchanged)."""

from __future__ import annotations

from collections.abc import Sequence


class AppError(Exception):
    """Base class of the application's own errors."""


class InitiativeNotFoundError(AppError):
    def __init__(self, initiative_id: object, detail: str = "") -> None:
        super().__init__(detail or f"no initiative {initiative_id}")
        self.initiative_id = initiative_id


class StaleVersionError(AppError):
    """The caller's expected version is not the current one (HTTP 412)."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"expected version {expected}, but the initiative is at version {current}")
        self.expected = expected
        self.current = current


class ConcurrencyConflictError(AppError):
    """Another command changed the initiative at the same time (HTTP 409)."""

    def __init__(self, initiative_id: object) -> None:
        super().__init__(
            f"initiative {initiative_id} was changed by a concurrent command; reload and retry"
        )
        self.initiative_id = initiative_id


class IdempotencyKeyReusedError(AppError):
    """The idempotency key was used before with a different request (HTTP 422)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different request")
        self.key = key


class PermissionDeniedError(AppError):
    """The caller's role or organisation may not do this (HTTP 403)."""

    def __init__(
        self, message: str, needed_roles: Sequence[str] = (), needed_organisation: str | None = None
    ) -> None:
        super().__init__(message)
        self.needed_roles = list(needed_roles)
        self.needed_organisation = needed_organisation
