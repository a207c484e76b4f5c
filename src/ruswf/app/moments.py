"""Moments given by users, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


class MomentOutOfRangeError(ValueError):
    """A moment whose UTC time is outside the years 1-9999."""

    def __init__(self, value: datetime) -> None:
        super().__init__(f"{value.isoformat()} is outside the years 1-9999 in UTC")


def in_utc(value: datetime) -> datetime:
    """The moment in UTC (a moment without an offset is UTC already). Raises
    `MomentOutOfRangeError` for `9999-12-31T23:59:59-23:59` and the like."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise MomentOutOfRangeError(value) from None
