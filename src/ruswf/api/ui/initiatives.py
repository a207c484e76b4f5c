"""/initiatives: the board and table, CSV, proposing, one initiative (now or as it
stood), its action forms, and the decision dossier."""

from __future__ import annotations

import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Annotated, Any

from cachetools import LRUCache, cached
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from ruswf.api.deps import LedgerDep, PeopleDep
from ruswf.api.ui import actions, i18n
from ruswf.api.ui.base import STATE_ORDER, Page, SignedIn, error_page, log
from ruswf.api.ui.forms import Form, body_from_form, build_form
from ruswf.api.ui.session import COOKIE, check_csrf
from ruswf.app.audit.dossier import DecisionNotFoundError, build_dossier, decisions, render_html
from ruswf.app.authorization import PROPOSE, ROLE_ACTIONS, Role
from ruswf.app.csvsafe import write_csv
from ruswf.app.errors import (
    ConcurrencyConflictError,
    IdempotencyKeyReusedError,
    InitiativeNotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from ruswf.app.labels import action_label, event_label
from ruswf.app.views import EventView, InitiativeView
from ruswf.domain.commands import content_fields
from ruswf.domain.errors import TransitionNotAllowedError, ValidationError
from ruswf.domain.lifecycle import Action

router = APIRouter(include_in_schema=False)
DOSSIER_CSS = "/static/ui/dossier.css"

SORTS = ("title", "state", "goal_area", "lead_actor", "last_change", "next_report_due")
PER_COLUMN = 50
TABLE_PAGE = 200
HISTORY_COLUMNS_KEPT = 512
OBLIGATIONS_KEPT = 512
WHY_KEYS = ("reason", "comment", "decision_text", "memo", "narrative", "final_report")
Text = Annotated[str | None, Query(max_length=200)]


# -- the board -------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters, query parameters of the board and of its CSV download."""

    goal_area: str | None = None
    lead_actor: str | None = None
    council: str | None = None
    """The council whose agenda an initiative is on."""
    q: str | None = None
    """Words of the title (or id)."""

    def given(self) -> dict[str, str]:
        """The filters that are set, for the page's form and links."""
        return {name: value for name, value in asdict(self).items() if value}


def _board_filters(
    goal_area: Text = None, lead_actor: Text = None, council: Text = None, q: Text = None
) -> BoardFilters:
    return BoardFilters(goal_area, lead_actor, council, q)


Filters = Annotated[BoardFilters, Depends(_board_filters)]


def board_rows(page: Page, filters: BoardFilters) -> list[dict[str, Any]]:
    """Every initiative matching the filters, most recently changed first."""
    goal_area, lead_actor, council = filters.goal_area, filters.lead_actor, filters.council
    rows, _ = actions.board(page.projections(), goal_area=goal_area, lead_actor=lead_actor)
    words = (filters.q or "").casefold().split()
    return [
        r
        for r in rows
        if (not council or r["next_meeting_council"] == council)
        and all(w in f"{r['title']} {r['id']}".casefold() for w in words)
    ]


def board_columns(
    page: Page, goal_area: str | None, lead_actor: str | None
) -> list[dict[str, Any]]:
    """The board's columns without word or council filters: per state its newest
    `PER_COLUMN` initiatives and how many it holds. One page of the projection holds
    them all in a small store; a large one is asked per state (it is not read whole)."""
    views = page.projections()
    _, total = actions.board(views, goal_area=goal_area, lead_actor=lead_actor, limit=1)
    if total <= actions.BOARD_PAGE:  # asked first, so a large store sends no page it drops
        first, _ = actions.board(
            views, goal_area=goal_area, lead_actor=lead_actor, limit=actions.BOARD_PAGE
        )
        return _columns(first)
    columns = []
    for state in STATE_ORDER:
        rows, count = actions.board(
            views, state=state.value, goal_area=goal_area, lead_actor=lead_actor, limit=PER_COLUMN
        )
        columns.append({"state": state.value, "rows": rows, "total": count})
    return columns


def _columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "state": s.value,
            "rows": [r for r in rows if r["state"] == s.value][:PER_COLUMN],
            "total": sum(1 for r in rows if r["state"] == s.value),
        }
        for s in STATE_ORDER
    ]


@router.get("/initiatives")
def board(
    page: SignedIn,
    filters: Filters,
    view: Annotated[str, Query(pattern="^(board|table)$")] = "board",
    sort: Annotated[str, Query(max_length=30)] = "last_change",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
) -> Response:
    if sort not in SORTS:
        sort = "last_change"
    ordered: list[dict[str, Any]] = []
    if view == "board" and not filters.council and not filters.q:
        columns = board_columns(page, filters.goal_area, filters.lead_actor)
        total = sum(c["total"] for c in columns)
    else:
        rows = board_rows(page, filters)
        total = len(rows)
        ordered = sorted(rows, key=lambda r: str(r.get(sort) or ""), reverse=order == "desc")
        columns = _columns(rows)
    return page.render(
        "board.html",
        columns=columns,
        table=ordered[:TABLE_PAGE],
        total=total,
        filters=filters.given(),
        view=view,
        sort=sort,
        order=order,
        sorts=SORTS,
        may_propose=PROPOSE in ROLE_ACTIONS[Role(page.actor.role)],
    )


@router.get("/initiatives.csv")
def board_csv(page: SignedIn, filters: Filters) -> Response:
    rows = board_rows(page, filters)
    header = (
        "id",
        "title",
        "state",
        "goal_area",
        "lead_actor",
        "next_meeting",
        "next_meeting_council",
        "next_report_period",
        "next_report_due",
        "last_change",
    )
    body = write_csv(header, ([r.get(c) for c in header] for r in rows))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="insatser.csv"'},
    )


# -- proposing ---------------------------------------------------------------------------


def _propose_form(
    page: Page, values: dict[str, Any] | None = None, error: ValidationError | None = None
) -> Form:
    defaults = {"lead_actor": page.actor.organisation}
    return build_form(
        action="propose",
        url="/initiatives/new",
        title=_action_title(page, "propose"),
        infos=actions.form_fields("propose"),
        strategy=page.app.strategy,
        lang=page.lang,
        today_year=page.app.today().year,
        values=values or defaults,
        error=error,
    )


def _action_title(page: Page, action: str) -> str:
    return action_label(action, page.lang)


@router.get("/initiatives/new")
def new_form(page: SignedIn) -> Response:
    if PROPOSE not in ROLE_ACTIONS[Role(page.actor.role)]:
        return _forbidden(page, "Din roll kan inte föreslå insatser.", "Your role cannot propose.")
    form = _propose_form(page)
    return page.render("new.html", form=form, errors=[], general_errors=[])


@router.post("/initiatives/new")
async def propose(request: Request, page: SignedIn) -> Response:
    form = await request.form()
    check_csrf(request, request.cookies.get(COOKIE), form.get("csrf_token"))
    data = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    infos = actions.form_fields("propose")
    key = str(form.get("idempotency_key") or secrets.token_urlsafe(16))
    body: dict[str, Any] = {}
    try:
        body = body_from_form(infos, data)
        view = await run_in_threadpool(actions.propose, page.app, page.actor, body, key)
    except (ValidationError, PermissionDeniedError) as error:
        # Another organisation as lead actor is refused (403) at its field, like bad input.
        status = 403 if isinstance(error, PermissionDeniedError) else 422
        at_field = (
            ValidationError("lead_actor", str(error))
            if isinstance(error, PermissionDeniedError)
            else error
        )
        values = {i.name: _raw(data, i.name, i.spec.widget) for i in infos}
        failed = _propose_form(page, values, at_field)
        return page.render(
            "new.html",
            status_code=status,
            form=failed,
            errors=failed.errors,
            general_errors=failed.general_errors,
        )
    except IdempotencyKeyReusedError as error:
        return error_page(page, 409, page.t("conflict"), str(error))
    log.info("ui_proposed", initiative_id=view.id)
    return RedirectResponse(f"/initiatives/{view.id}", status_code=303)


def _raw(data: dict[str, list[Any]], name: str, widget: str) -> Any:
    """A submitted value as the form shows it again."""
    values = [v for v in data.get(name, []) if isinstance(v, str)]
    if widget == "multiselect":
        return values
    if widget == "indicator_values":
        prefix = f"{name}."
        return {k[len(prefix) :]: v[0] for k, v in data.items() if k.startswith(prefix) and v}
    return values[0] if values else None


# -- one initiative ----------------------------------------------------------------------


def _as_of(value: str | None) -> datetime | None:
    """A moment from the as-of picker: a date (the end of that day) or a local time."""
    if not value:
        return None
    try:
        value = value.replace(" ", "+")  # an offset's "+" sent unencoded reads as a space
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(23, 59, 59, 999999))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("as_of", "must be a date or a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=i18n.ZONE)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of the history as the page shows it, its words already in the page's
    language (the template only places them)."""

    version: int
    type: str
    label: str
    recorded_at: str
    when: str
    who: str
    dated: str = ""
    meeting_href: str = ""
    meeting: str = ""
    next_meeting: str = ""
    period: str = ""
    why: str = ""
    dossier: str = ""


@dataclass(frozen=True, slots=True)
class ObligationRow:
    period: str
    due: str
    status: str
    status_label: str
    submitted: str


def _timeline(page: Page, events: list[EventView], initiative_id: str) -> list[TimelineEntry]:
    numbers = {e.version: n for n, e in enumerate(decisions(events), start=1)}
    lang = page.lang
    items = []
    for e in events:
        data = e.data
        meeting_href = meeting = next_meeting = ""
        if data.get("council") and data.get("meeting_date"):
            meeting_href = f"/meetings/{data['council']}-{data['meeting_date']}"
            council, when = data["council"], page.render_date(data["meeting_date"])
            meeting = f"{page.council_name(council)} {when}"
            if data.get("next_meeting_date"):
                next_meeting = page.render_date(data["next_meeting_date"])
        period = ""
        if data.get("period"):
            period = f"{page.t('period')} {data['period']}"
            if data.get("status"):
                period += f" · {page.choice('status', data['status'])}"
        dated = ""
        if e.effective_date and e.effective_date != e.recorded_at[:10]:
            dated = f"{'avser' if lang == 'sv' else 'dated'} {page.render_date(e.effective_date)}"
        actor = e.actor
        items.append(
            TimelineEntry(
                version=e.version,
                type=e.type,
                label=event_label(e.type, lang),
                recorded_at=e.recorded_at,
                when=i18n.format_time(e.recorded_at, lang),
                who=f"{actor['user']} ({i18n.role_label(actor['role'], lang)},"
                f" {page.actor_name(actor['organisation'])})",
                dated=dated,
                meeting_href=meeting_href,
                meeting=meeting,
                next_meeting=next_meeting,
                period=period,
                why=next((str(data[k]) for k in WHY_KEYS if data.get(k)), ""),
                dossier=f"/initiatives/{initiative_id}/beslut/{numbers[e.version]}"
                if e.version in numbers
                else "",
            )
        )
    return items


@cached(
    LRUCache(maxsize=HISTORY_COLUMNS_KEPT),
    key=lambda page, view, events, as_of: (view.id, len(events), view.version, page.lang, as_of),
    lock=threading.Lock(),
)
def _history_column(
    page: Page, view: InitiativeView, events: list[EventView], as_of: str
) -> Markup:
    """The history column of a reader who may read the history: the timeline up to the
    version shown and the pickers of a version or a moment. It is the same for every such
    reader of that version in that language (events never change), so each is rendered
    once per process: showing an initiative again renders only the page around it."""
    timeline = _timeline(page, events, view.id)
    return page.fragment(
        "_history.html",
        i=view,
        may_history=True,
        as_of=as_of,
        timeline=[e for e in timeline if e.version <= view.version],
        versions=timeline,
    )


_obligations_kept: LRUCache[tuple[str, int, date], list[dict[str, Any]]] = LRUCache(
    maxsize=OBLIGATIONS_KEPT
)
_obligations_lock = threading.Lock()


def _obligations(page: Page, view: InitiativeView) -> list[dict[str, Any]]:
    """The initiative's reporting obligations as of today. They follow from its own
    events and the day alone, so the ones read for its current version are kept for the
    day: showing the initiative again needs neither a catch-up of the read models nor a
    query. Only a read from caught-up views is kept (these reflect at least the version
    loaded before the catch-up)."""
    today = page.app.today()
    key = (view.id, view.version, today)
    with _obligations_lock:
        found = _obligations_kept.get(key)
    if found is None:
        found = page.projections().obligations(initiative_id=view.id, today=today)
        if not page.stale:
            with _obligations_lock:
                _obligations_kept[key] = found
    return found


def _obligation_rows(page: Page, obligations: list[dict[str, Any]]) -> list[ObligationRow]:
    return [
        ObligationRow(
            period=o["period"],
            due=page.render_date(o["due_date"]),
            status=o["status"],
            status_label=page.t(o["status"]),
            submitted=i18n.format_time(o["submitted_at"], page.lang)
            if o.get("submitted_at")
            else "",
        )
        for o in obligations
    ]


def _next_step(
    page: Page, view: InitiativeView, obligations: list[dict[str, Any]]
) -> tuple[str, str]:
    sv = page.lang == "sv"
    lead = page.actor_name(view.lead_actor)
    group = page.council_name("strategic_group")
    if view.state == "proposal":
        return (
            ("Skickas till beredning" if sv else "Submit for preparation"),
            (f"Samordnare hos {lead}" if sv else f"Coordinator of {lead}"),
        )
    if view.state == "council_preparation":
        step = (
            ("Beredning registreras" if sv else "Record the preparation")
            if not view.preparation
            else ("Sätts upp på ett rådsmöte" if sv else "Schedule for a council meeting")
        )
        return step, group
    if view.state == "decision" and view.agenda:
        council = page.council_name(view.agenda["council"])
        when = page.render_date(view.agenda["meeting_date"])
        return (
            (f"Beslut i {council} {when}" if sv else f"Decision in {council} on {when}"),
            (f"Sekreteraren i {council}" if sv else f"The secretary of {council}"),
        )
    if view.state == "follow_up":
        owed = [o for o in obligations if o["status"] != "submitted"]
        if owed:
            first = owed[0]
            when = page.render_date(first["due_date"])
            step = (
                f"Lägesrapport för {first['period']} senast {when}"
                if sv
                else f"Progress report for {first['period']} by {when}"
            )
        else:
            step = "Lägesrapport varje rapportperiod" if sv else "A progress report each period"
        return step, (f"Samordnare hos {lead}" if sv else f"Coordinator of {lead}")
    return ("Inget – ärendet är avslutat" if sv else "None – the case is finished"), "–"


def _action_forms(
    page: Page,
    view: InitiativeView,
    failed: str | None = None,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
) -> list[Form]:
    forms = []
    indicators = [i["name"] for i in view.indicators]
    for action in view.allowed_actions:
        current = values if action == failed else None
        if current is None:
            current = _defaults(page, view, action)
        form = build_form(
            action=action,
            url=f"/initiatives/{view.id}/actions/{action}",
            title=_action_title(page, action),
            infos=actions.form_fields(action),
            strategy=page.app.strategy,
            lang=page.lang,
            today_year=page.app.today().year,
            values=current,
            error=error if action == failed else None,
            indicators=indicators,
            expected_version=view.version,
        )
        if action in (Action.SCHEDULE.value, Action.DEFER.value):
            _hint_meetings(page, form, view)
        forms.append(form)
    return forms


def _defaults(page: Page, view: InitiativeView, action: str) -> dict[str, Any] | None:
    """What a form starts with: the content for a revision, the first period not yet
    reported for a progress report, the council of the agenda for a deferral."""
    if action == Action.REVISE.value:
        return {f.name: getattr(view, f.name, None) for f in content_fields()}
    if action == Action.REPORT_PROGRESS.value and view.approval_period:
        first = page.app.strategy.period(view.approval_period)
        today = page.app.today()
        for year in range(first.start.year, today.year + 2):
            for period in actions.reporting_periods(page.app, year):
                if period.start >= first.start and period.id not in view.reported_periods:
                    return {"period": period.id}
    return None


def _hint_meetings(page: Page, form: Form, view: InitiativeView) -> None:
    """Add the coming meetings of the deciding councils to the date field's hint."""
    today = page.app.today()
    councils = (
        {view.agenda["council"]}
        if view.agenda
        else {c.id for c in page.app.strategy.deciding_councils}
    )
    coming = [
        m
        for year in (today.year, today.year + 1)
        for m in actions.calendar_meetings(page.app, year)
        if m.council in councils and m.date >= today
    ][:4]
    if not coming:
        return
    listed = ", ".join(f"{page.council_name(m.council)} {page.render_date(m.date)}" for m in coming)
    for f in form.fields:
        if f.name == "meeting_date":
            lead = "Kommande möten" if page.lang == "sv" else "Coming meetings"
            f.hint = f"{f.hint} {lead}: {listed}.".strip()


def initiative_page(
    page: Page,
    initiative_id: str,
    *,
    version: int | None = None,
    as_of: str | None = None,
    failed: str | None = None,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
    status_code: int = 200,
) -> Response:
    """The initiative page (now, or as it stood at `version` / `as_of`)."""
    past = version is not None or bool(as_of)
    if past and not page.may_read("history"):
        return _forbidden(
            page, "Din roll får inte läsa historiken.", "Your role may not read the history."
        )
    try:
        moment = _as_of(as_of)
        may_history = page.may_read("history")
        if may_history:
            current, events = actions.current_with_history(page.app, initiative_id, page.actor)
        else:
            current, events = actions.initiative(page.app, initiative_id, page.actor), []
        view = (
            actions.initiative(page.app, initiative_id, page.actor, version=version, as_of=moment)
            if past
            else current
        )
    except InitiativeNotFoundError as missing:
        return error_page(page, 404, page.t("not_found"), str(missing))
    except ValidationError as bad:
        return error_page(page, 422, page.t("problem"), f"{bad.field}: {bad.reason}")
    history = (
        _history_column(page, view, events, as_of or "")
        if may_history
        else page.fragment("_history.html", may_history=False)
    )
    obligations = [] if past else _obligations(page, view)
    step, owner = _next_step(page, view, obligations)
    forms = [] if past else _action_forms(page, view, failed, values, error)
    errors = [f for form in forms for f in form.errors]
    general = [g for form in forms for g in form.general_errors]
    return page.render(
        "initiative.html",
        status_code=status_code,
        i=view,
        current_version=current.version,
        past=past,
        history=history,
        obligations=_obligation_rows(page, obligations),
        next_step=step,
        owner=owner,
        forms=forms,
        errors=errors,
        general_errors=general,
    )


@router.get("/initiatives/{initiative_id}")
def show(
    page: SignedIn,
    initiative_id: str,
    version: Annotated[int | None, Query(ge=1, le=10**9)] = None,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    return initiative_page(page, initiative_id, version=version, as_of=as_of or None)


@router.post("/initiatives/{initiative_id}/actions/{action}")
async def act(request: Request, page: SignedIn, initiative_id: str, action: str) -> Response:
    form = await request.form()
    check_csrf(request, request.cookies.get(COOKIE), form.get("csrf_token"))
    try:
        infos = actions.form_fields(action)
    except KeyError:
        return error_page(page, 404, page.t("not_found"), f"unknown action {action!r}")
    data = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    raw_version = str(form.get("expected_version") or "")
    expected = int(raw_version) if raw_version.isdigit() else None
    key = str(form.get("idempotency_key") or secrets.token_urlsafe(16))
    shown = {i.name: _raw(data, i.name, i.spec.widget) for i in infos}

    def perform() -> Response:
        try:
            body = body_from_form(infos, data)
            if action == Action.REVISE.value:
                body = _changes_only(page, initiative_id, body)
            actions.act(
                page.app,
                initiative_id,
                action,
                page.actor,
                body,
                expected_version=expected,
                key=key,
            )
        except ValidationError as error:
            return initiative_page(
                page, initiative_id, failed=action, values=shown, error=error, status_code=422
            )
        except PermissionDeniedError as error:
            return _forbidden(page, str(error), str(error), initiative_id)
        except (
            TransitionNotAllowedError,
            StaleVersionError,
            ConcurrencyConflictError,
            IdempotencyKeyReusedError,
        ) as error:
            return error_page(
                page, 409, page.t("conflict"), str(error), back=f"/initiatives/{initiative_id}"
            )
        except InitiativeNotFoundError as error:
            return error_page(page, 404, page.t("not_found"), str(error))
        log.info("ui_action", initiative_id=initiative_id, action=action)
        return RedirectResponse(f"/initiatives/{initiative_id}", status_code=303)

    return await run_in_threadpool(perform)


def _changes_only(page: Page, initiative_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A revision's body with only the fields that differ from the current content (a
    list emptied in the form counts as a change)."""
    current = actions.initiative(page.app, initiative_id, page.actor)
    changes: dict[str, Any] = {}
    for info in content_fields():
        now = getattr(current, info.name, None)
        if info.name in body:
            if body[info.name] != now:
                changes[info.name] = body[info.name]
        elif info.spec.widget in ("multiselect", "indicators") and now:
            changes[info.name] = []
    if "comment" in body:
        changes["comment"] = body["comment"]
    return changes


def _forbidden(page: Page, sv: str, en: str, back_to: str | None = None) -> Response:
    return error_page(
        page,
        403,
        page.t("forbidden"),
        en if page.lang == "en" else sv,
        back=f"/initiatives/{back_to}" if back_to else None,
    )


# -- the decision dossier ----------------------------------------------------------------


@router.get("/initiatives/{initiative_id}/beslut/{number}")
def dossier(
    page: SignedIn, initiative_id: str, number: int, people: PeopleDep, ledger: LedgerDep
) -> Response:
    if not page.may_read("history"):
        return _forbidden(
            page,
            "Din roll får inte läsa beslutsunderlag.",
            "Your role may not read decision dossiers.",
        )
    try:
        found = build_dossier(page.app, initiative_id, number, ledger=ledger, people=people)
    except (DecisionNotFoundError, InitiativeNotFoundError) as missing:
        return error_page(page, 404, page.t("not_found"), str(missing))
    back = f"/initiatives/{initiative_id}"
    return HTMLResponse(render_html(found, stylesheet=DOSSIER_CSS, back=back))
