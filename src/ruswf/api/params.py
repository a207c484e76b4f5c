"""Query parameters shared by several endpoints: moments in time, and the past states of
an initiative (which only roles that may read its history may ask for)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Query
from pydantic import AfterValidator

from ruswf.api.deps import CurrentUser
from ruswf.api.problems import ProblemError
from ruswf.app.authorization import ROLE_READS, Role
from ruswf.app.moments import in_utc


def _in_utc(value: datetime) -> datetime:
    """Out of range (`9999-12-31T23:59:59-23:59`) is invalid input, not a server error:
    pydantic turns the ValueError into a 422 naming the field."""
    return in_utc(value)


Moment = Annotated[datetime, AfterValidator(_in_utc)]
"""An ISO 8601 moment, in UTC (UTC when it has no offset); out of range: 422."""


def _may_read_history(caller: CurrentUser, field: str) -> None:
    if "history" not in ROLE_READS[Role(caller.role)]:
        allowed = [r.value for r, reads in ROLE_READS.items() if "history" in reads]
        raise ProblemError(
            403,
            f"role '{caller.role}' may not read history (?{field}= rebuilds a past state);"
            f" needed: {' or '.join(allowed)}",
            needed_roles=allowed,
        )


async def _past_version(
    caller: CurrentUser,
    version: Annotated[
        int | None, Query(ge=1, le=10**9, description="As it stood at this version.")
    ] = None,
) -> int | None:
    if version is not None:
        _may_read_history(caller, "version")
    return version


async def _past_moment(
    caller: CurrentUser,
    as_of: Annotated[
        Moment | None,
        Query(description="As it stood at this moment (ISO 8601; UTC if no offset)."),
    ] = None,
) -> datetime | None:
    if as_of is not None:
        _may_read_history(caller, "as_of")
    return as_of


PastVersion = Annotated[int | None, Depends(_past_version)]
"""`?version=N`: a past state, for the roles that may read history (else 403)."""
PastMoment = Annotated[datetime | None, Depends(_past_moment)]
"""`?as_of=T`: a past state, for the roles that may read history (else 403); 422 when
the moment is out of range."""


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="A retry with the same key and body returns the first response and "
        "records nothing new.",
    ),
]
"""The `Idempotency-Key` header every `POST` accepts."""
