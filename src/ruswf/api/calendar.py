"""The annual cycle as a living calendar: adjusting meetings (admins), a meeting's
history, and iCalendar feeds (with a bearer token, or a secret subscription URL)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ruswf.api.deps import App, CurrentUser, FeedsDep, ProjectionsDep, require_read
from ruswf.api.params import IdempotencyKey
from ruswf.api.problems import ProblemError
from ruswf.api.schemas import Problem, error_responses
from ruswf.app.authorization import Role
from ruswf.app.calendar import ADJUSTERS, meeting_view
from ruswf.app.ical import feed_for
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef

router = APIRouter(prefix="/api/v1", tags=["calendar"])

ERRORS = error_responses(
    "Only an admin adjusts the annual cycle.",
    unknown="Unknown meeting.",
    conflict="The meeting is cancelled (names it).",
)
ICS = "text/calendar; charset=utf-8"
MeetingId = Annotated[
    str,
    Path(
        description="A meeting id: council and planned date, e.g. rsr-2026-02-19.", max_length=120
    ),
]
FeedId = Annotated[str, Path(max_length=40)]
Secret = Annotated[str, Path(max_length=120)]
Text = Annotated[str, Field(max_length=10_000)]
ShortText = Annotated[str, Field(max_length=100)]


async def require_admin(caller: CurrentUser) -> ActorRef:
    """Only admins adjust the annual cycle (before the body is looked at)."""
    if caller.role not in {r.value for r in ADJUSTERS}:
        raise ProblemError(
            403,
            f"role '{caller.role}' may not adjust the annual cycle; needed: admin",
            needed_roles=[r.value for r in ADJUSTERS],
        )
    return caller


Admin = Annotated[ActorRef, Depends(require_admin)]
Meetings = Annotated[ActorRef, Depends(require_read("meetings"))]


class MoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    reason: Text


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class AddBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    council: ShortText
    date: date
    reason: Text


class FeedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    council: ShortText | None = None
    organisation: ShortText | None = None


# -- adjustments ------------------------------------------------------------------------


@router.post("/meetings", status_code=201, responses=ERRORS, tags=["meetings"])
def add_meeting(
    app: App, caller: Admin, body: AddBody, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Add a meeting the rules do not give (admin; with a reason). 201 with the meeting."""
    meeting = app.calendar.add(
        caller,
        council=body.council,
        date=body.date,
        reason=body.reason,
        idempotency_key=idempotency_key,
    )
    return JSONResponse(meeting_view(meeting, app.calendar.zone), status_code=201)


@router.post("/meetings/{meeting_id}/actions/move", responses=ERRORS, tags=["meetings"])
def move_meeting(
    app: App,
    caller: Admin,
    meeting_id: MeetingId,
    body: MoveBody,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Move a planned meeting to another working day of its year (admin; with a reason).
    It keeps its id; the initiatives on its agenda move with it."""
    meeting = app.calendar.move(
        caller, meeting_id, date=body.date, reason=body.reason, idempotency_key=idempotency_key
    )
    return meeting_view(meeting, app.calendar.zone)


@router.post("/meetings/{meeting_id}/actions/cancel", responses=ERRORS, tags=["meetings"])
def cancel_meeting(
    app: App,
    caller: Admin,
    meeting_id: MeetingId,
    body: CancelBody,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Cancel a planned meeting (admin; with a reason). It stays listed, `cancelled`."""
    meeting = app.calendar.cancel(
        caller, meeting_id, reason=body.reason, idempotency_key=idempotency_key
    )
    return meeting_view(meeting, app.calendar.zone)


@router.get("/meetings/needs-new-meeting", responses=ERRORS, tags=["meetings"])
def needs_new_meeting(_caller: Meetings, projections: ProjectionsDep) -> dict[str, Any]:
    """Initiatives waiting on a cancelled meeting's agenda ("Att göra": defer each to a
    new meeting)."""
    items = projections.needing_new_meeting()
    return {"items": items, "total": len(items)}


@router.get("/meetings/{meeting_id}", responses=ERRORS, tags=["meetings"])
def get_meeting(app: App, _caller: Meetings, meeting_id: MeetingId) -> dict[str, Any]:
    """One meeting as the calendar has it now."""
    return meeting_view(app.calendar.get(meeting_id), app.calendar.zone)


@router.get("/meetings/{meeting_id}/history", responses=ERRORS, tags=["meetings"])
def meeting_history(app: App, _caller: Meetings, meeting_id: MeetingId) -> dict[str, Any]:
    """The meeting's adjustments (who, when, why), in order."""
    events = [e.as_dict() for e in app.calendar.history(meeting_id)]
    return {
        "meeting": meeting_view(app.calendar.get(meeting_id), app.calendar.zone),
        "events": events,
    }


# -- iCalendar ---------------------------------------------------------------------------


@router.get(
    "/calendar.ics",
    responses={**ERRORS, 200: {"content": {"text/calendar": {}}}},
    response_class=Response,
)
def calendar_ics(
    app: App,
    caller: CurrentUser,
    projections: ProjectionsDep,
    council: Annotated[str | None, Query(max_length=100)] = None,
    organisation: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The whole annual cycle as iCalendar (RFC 5545): every council meeting, RUS-dagen,
    each "Här och nu" and every reporting deadline; `?council=` for one council's
    meetings, `?organisation=` for that organisation's own deadlines."""
    body = render_feed(app, projections, caller.role, council, organisation)
    return Response(body, media_type=ICS)


Feeds = FeedsDep


@router.post("/calendar/feeds", status_code=201, responses=ERRORS)
def create_feed(
    request: Request, caller: CurrentUser, feeds: Feeds, body: FeedBody | None = None
) -> JSONResponse:
    """A secret, read-only subscription URL for calendar programs (any role; it shows
    what its creator may read). The URL is shown once."""
    chosen = body or FeedBody()
    feed, secret = feeds.create(caller, chosen.council, chosen.organisation)
    url = str(request.url_for("subscribe", feed_id=feed.id, secret=f"{secret}.ics"))
    return JSONResponse({"id": feed.id, "url": url}, status_code=201)


@router.get("/calendar/feeds", responses=ERRORS)
def list_feeds(caller: CurrentUser, feeds: Feeds) -> dict[str, Any]:
    """The caller's active feeds (an admin: everyone's), without their secrets."""
    everyone = caller.role == Role.ADMIN.value
    items = [
        {
            "id": f.id,
            "user": f.user,
            "organisation": f.organisation,
            "council": f.council,
            "feed_organisation": f.feed_organisation,
            "created_at": f.created_at,
        }
        for f in feeds.active()
        if everyone or (f.user, f.organisation) == (caller.user, caller.organisation)
    ]
    return {"items": items, "total": len(items)}


@router.delete("/calendar/feeds/{feed_id}", status_code=204, responses=ERRORS)
def revoke_feed(caller: CurrentUser, feeds: Feeds, feed_id: FeedId) -> Response:
    """Revoke a feed (its creator, or an admin); its URL then answers 404."""
    feed = feeds.get(feed_id)
    if feed is None or feed.revoked_at is not None:
        raise ProblemError(404, f"no active calendar feed {feed_id!r}")
    own = (feed.user, feed.organisation) == (caller.user, caller.organisation)
    if not own and caller.role != Role.ADMIN.value:
        raise ProblemError(403, "only the feed's creator or an admin may revoke it")
    feeds.revoke(feed_id)
    return Response(status_code=204)


@router.get(
    "/calendar/feeds/{feed_id}/{secret}",
    name="subscribe",
    responses={404: {"model": Problem}, 200: {"content": {"text/calendar": {}}}},
    response_class=Response,
)
def subscribe(
    app: App, feeds: Feeds, projections: ProjectionsDep, feed_id: FeedId, secret: Secret
) -> Response:
    """The feed behind a subscription URL (no bearer token: the URL is the secret)."""
    key = secret.removesuffix(".ics")
    feed = feeds.open(feed_id, key)
    if feed is None:
        raise ProblemError(404, "no such calendar feed")
    body = render_feed(app, projections, feed.role, feed.council, feed.feed_organisation)
    return Response(body, media_type=ICS)


def render_feed(
    app: RusApp, projections: Any, role: str, council: str | None, organisation: str | None
) -> bytes:
    """The feed for a reader in `role` (its organisation's deadlines from the read models)."""
    return feed_for(app, role, council, organisation, projections.followed_up)
