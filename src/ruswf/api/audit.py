"""The auditor's endpoints: diffs between versions, decision dossiers, the ledger's head,
and the people registry (contact persons' personal data, erasable)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ruswf.api.deps import App, CurrentUser, LedgerDep, PeopleDep, require_read
from ruswf.api.problems import ProblemError
from ruswf.api.schemas import error_responses
from ruswf.app.audit.dossier import DecisionNotFoundError, build_dossier, decisions, render_html
from ruswf.app.audit.people import PENDING, People, PersonNotFoundError
from ruswf.app.audit.replay import diff
from ruswf.app.audit.signing import export_head, load_private_key
from ruswf.app.authorization import LEAD_ACTOR_BOUND, PEOPLE_ERASERS, PEOPLE_REGISTRARS, Role
from ruswf.domain.commands import ActorRef

router = APIRouter(prefix="/api/v1", tags=["audit"])

ERRORS = error_responses("Role may not do this.", unknown="Unknown initiative, decision or person.")
InitiativeId = Annotated[str, Path(description="The initiative's id (a UUID).", max_length=100)]
PersonId = Annotated[str, Path(description="A person id (p_ and 16 hex digits).", max_length=40)]
History = Annotated[ActorRef, Depends(require_read("history"))]
Audit = Annotated[ActorRef, Depends(require_read("audit"))]
PeopleReader = Annotated[ActorRef, Depends(require_read("people"))]


# -- replay ------------------------------------------------------------------------------


@router.get(
    "/initiatives/{initiative_id}/diff",
    responses=ERRORS,
    tags=["initiatives"],
    summary="What changed between two versions",
)
def initiative_diff(
    initiative_id: InitiativeId,
    app: App,
    _caller: History,
    from_version: Annotated[int, Query(alias="from", ge=1, le=10**9)],
    to_version: Annotated[int | None, Query(alias="to", ge=1, le=10**9)] = None,
) -> dict[str, Any]:
    """The fields that differ between version `from` and version `to` (default: the
    current one), and each event between them: who, when, why, and what it changed."""
    if to_version is None:
        to_version = app.get_initiative(initiative_id).version
    return diff(app, initiative_id, from_version, to_version)


@router.get(
    "/initiatives/{initiative_id}/decisions",
    responses=ERRORS,
    tags=["initiatives"],
    summary="The council's decisions on an initiative",
)
def initiative_decisions(initiative_id: InitiativeId, app: App, _caller: History) -> dict[str, Any]:
    """Every decision (approve, reject, defer, refer back) in order; `number` is what
    the dossier endpoint takes."""
    found = decisions(app.history(initiative_id))
    items = [
        {
            "number": number,
            "version": e.version,
            "type": e.type,
            "council": e.data["council"],
            "meeting_date": e.data["meeting_date"],
            "recorded_at": e.recorded_at,
            "dossier": f"{router.prefix}/initiatives/{initiative_id}/decisions/{number}/dossier",
        }
        for number, e in enumerate(found, start=1)
    ]
    return {"items": items, "total": len(items), "limit": len(items), "offset": 0}


@router.get(
    "/initiatives/{initiative_id}/decisions/{number}/dossier",
    responses={**ERRORS, 200: {"content": {"application/json": {}, "text/html": {}}}},
    tags=["initiatives"],
    summary="Decision dossier: what the council had when it decided",
)
def dossier(
    request: Request,
    initiative_id: InitiativeId,
    number: Annotated[int, Path(ge=1, le=10_000, description="1 = the first decision.")],
    app: App,
    _caller: History,
    people: PeopleDep,
    ledger: LedgerDep,
    format: Annotated[Literal["json", "html"] | None, Query()] = None,
) -> Any:
    """The initiative as it stood at its `number`-th decision, the preparation memo and
    recommendation, earlier deferrals and referrals, the meeting, the history up to the
    decision and its seal in the ledger. `Accept: text/html` or `?format=html` for a
    printable page."""
    try:
        found = build_dossier(app, initiative_id, number, ledger=ledger, people=people)
    except DecisionNotFoundError as error:
        raise ProblemError(404, str(error)) from None
    wants_html = format == "html" or (
        format is None and "text/html" in request.headers.get("accept", "")
    )
    if wants_html:
        # The web UI's style sheet (same origin): no inline style for the CSP to refuse.
        return HTMLResponse(render_html(found, stylesheet="/static/ui/dossier.css"))
    return JSONResponse(found)


# -- the ledger --------------------------------------------------------------------------


@router.get("/audit/head", responses=ERRORS, summary="The audit ledger's head")
def audit_head(app: App, _caller: Audit, ledger: LedgerDep) -> dict[str, Any]:
    """The ledger's newest seal (position, count, ledger hash), signed with the
    configured Ed25519 key when there is one: keep it outside the system and check it
    later with `ruswf audit check-head FILE`."""
    configured = app.settings.ledger_signing_key
    key = load_private_key(configured.get_secret_value()) if configured else None
    return export_head(ledger.head(), key)


# -- people ------------------------------------------------------------------------------


class PersonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Anna Andersson"])
    email: str | None = Field(default=None, max_length=320, examples=["anna@example.se"])
    phone: str | None = Field(default=None, max_length=40, examples=["+46 60 123 45"])
    organisation: str | None = Field(
        default=None, max_length=100, description="An actor id.", examples=["sundsvall"]
    )
    reminders: bool = Field(
        default=False, description="Receives the organisation's e-mail reminders."
    )
    language: Literal["sv", "en"] | None = Field(
        default=None, description="The reminders' language (default sv)."
    )


def _require_role(caller: ActorRef, roles: frozenset[Role], what: str) -> None:
    if Role(caller.role) not in roles:
        allowed = sorted(r.value for r in roles)
        raise ProblemError(
            403,
            f"role '{caller.role}' may not {what}; needed: {' or '.join(allowed)}",
            needed_roles=allowed,
        )


def _person(people: People, person_id: str) -> dict[str, Any]:
    try:
        return people.get(person_id).as_dict()
    except PersonNotFoundError as error:
        raise ProblemError(404, str(error)) from None


@router.post(
    "/people", status_code=201, responses=ERRORS, tags=["people"], summary="Register a person"
)
def register_person(
    body: PersonBody,
    caller: CurrentUser,
    people: PeopleDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """Add a contact person to the erasable registry; reference the answer's `id` as an
    initiative's `contact_person`. Events never hold the name or contact details. A
    coordinator registers persons of its own organisation (the default)."""
    _require_role(caller, PEOPLE_REGISTRARS, "register people")
    organisation = body.organisation
    if Role(caller.role) in LEAD_ACTOR_BOUND:
        # A coordinator's contact persons are its own organisation's (and only those it
        # may read back).
        if organisation not in (None, caller.organisation):
            raise ProblemError(
                403,
                f"a coordinator registers only contact persons of their own organisation"
                f" ({caller.organisation})",
                needed_organisation=organisation,
            )
        organisation = caller.organisation
    person = people.register(
        body.name,
        email=body.email,
        phone=body.phone,
        organisation=organisation,
        registered_by=caller.user,
        registered_by_organisation=caller.organisation,
        idempotency_key=idempotency_key,
        reminders=body.reminders,
        language=body.language,
    )
    response.headers["Location"] = f"{router.prefix}/people/{person.id}"
    return person.as_dict()


@router.get("/people/{person_id}", responses=ERRORS, tags=["people"], summary="Read a person")
def read_person(person_id: PersonId, caller: PeopleReader, people: PeopleDep) -> dict[str, Any]:
    """The person's data, or "[raderad]" in its place once erased; `erasure` says whether
    an erasure is `pending` or `complete` (and since when). A coordinator reads only the
    contact persons of their own organisation."""
    people.complete_pending()
    found = _person(people, person_id)
    if Role(caller.role) in LEAD_ACTOR_BOUND and found["organisation"] != caller.organisation:
        raise ProblemError(
            403,
            f"a coordinator reads only the contact persons of their own organisation"
            f" ({caller.organisation})",
            needed_organisation=found["organisation"],
        )
    return found


@router.delete(
    "/people/{person_id}",
    responses={
        **ERRORS,
        202: {"description": "Erased; an open reader still keeps the old bytes (pending)."},
    },
    tags=["people"],
    summary="Erase a person (GDPR)",
)
def erase_person(person_id: PersonId, caller: CurrentUser, people: PeopleDep) -> JSONResponse:
    """Erase the person's data everywhere (art. 17): the registry keeps only a tombstone;
    events and the hash chains are untouched, and views show "[raderad]". 200 with
    `erasure: "complete"` when the data is gone from the store's files too; 202 with
    `erasure: "pending"` while an open reader keeps the old bytes (the erasure is
    completed later: `GET` the person to see when)."""
    _require_role(caller, PEOPLE_ERASERS, "erase people")
    _person(people, person_id)
    erased = people.erase(person_id, erased_by=caller.user)
    return JSONResponse(erased.as_dict(), status_code=202 if erased.erasure == PENDING else 200)
