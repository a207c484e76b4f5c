"""Dependencies: the application and the caller, as `Annotated` types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends, Header, Request

from projections import Projections
from ruswf.api.problems import ProblemError
from ruswf.app.audit.ledger import Ledger
from ruswf.app.audit.people import People
from ruswf.app.authorization import ROLE_READS, Role
from ruswf.app.service import RusApp
from ruswf.app.store.faults import is_store_error, store_error_message
from ruswf.app.store.feeds import FeedStore
from ruswf.bootstrap import Services
from ruswf.domain.commands import ActorRef

log = structlog.get_logger("ruswf.api")

READ_CATCH_UP_WAIT = 2.0
"""Seconds a read waits for a catch-up already running in the process (a poll takes
milliseconds; a first build of a large store minutes) before it answers from the views."""


# Dependencies are `async def` where they can be: FastAPI runs a plain `def` dependency
# in its thread pool, a hand-off per dependency per request. `current_user` checks the
# token on an asyncio pool; `get_projections` (catching up) stays a plain function.


async def get_services(request: Request) -> Services:
    """What the lifespan built for this process (`ruswf.bootstrap.Services`)."""
    services: Services = request.app.state.ruswf
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_app(services: ServicesDep) -> RusApp:
    return services.app


async def get_people(services: ServicesDep) -> People:
    return services.people


async def get_ledger(services: ServicesDep) -> Ledger:
    return services.ledger


async def get_feeds(services: ServicesDep) -> FeedStore:
    return services.feeds


def get_projections(services: ServicesDep) -> Projections:
    """The read models, caught up first so a caller reads its own writes. Catching up
    writes; when the store cannot be written (full disk, locked) reads still answer,
    from views that may lag, instead of failing. A catch-up already running in the
    process is waited for `READ_CATCH_UP_WAIT` seconds at most."""
    try:
        services.projections.catch_up(wait=READ_CATCH_UP_WAIT)
    except Exception as error:
        if not is_store_error(error):
            raise
        log.warning("projections_catch_up_skipped", reason=store_error_message(error))
    return services.projections


async def current_user(
    request: Request,
    services: ServicesDep,
    authorization: Annotated[str | None, Header(description="`Bearer <token>`")] = None,
) -> ActorRef:
    """The caller, from the bearer token; 401 for a missing, malformed, unknown or revoked one."""
    challenge = {"WWW-Authenticate": 'Bearer realm="ruswf"'}
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError(
            401, "a bearer token is required (Authorization: Bearer <token>)", challenge
        )
    info = await services.tokens.authenticate_async(token.strip())
    if info is None:
        raise ProblemError(401, "the bearer token is invalid or revoked", challenge)
    request.scope["state"]["user"] = info.user
    structlog.contextvars.bind_contextvars(user=info.user)
    return ActorRef(info.user, info.organisation, info.role)


App = Annotated[RusApp, Depends(get_app)]
CurrentUser = Annotated[ActorRef, Depends(current_user)]
ProjectionsDep = Annotated[Projections, Depends(get_projections)]
PeopleDep = Annotated[People, Depends(get_people)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
FeedsDep = Annotated[FeedStore, Depends(get_feeds)]


def require_read(resource: str) -> Callable[[ActorRef], Awaitable[ActorRef]]:
    """A dependency that lets through the roles that may read `resource`."""

    async def check(caller: CurrentUser) -> ActorRef:
        if resource not in ROLE_READS[Role(caller.role)]:
            allowed = [r.value for r, reads in ROLE_READS.items() if resource in reads]
            raise ProblemError(
                403,
                f"role '{caller.role}' may not read {resource}; needed: {' or '.join(allowed)}",
                needed_roles=allowed,
            )
        return caller

    return check
