"""What every UI page shares: the per-process state, the templates, the signed-in user,
the language, rendering and the error pages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

import structlog
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from projections import Projections
from ruswf.api.deps import READ_CATCH_UP_WAIT
from ruswf.api.ratelimit import AuthFailureLimit
from ruswf.api.ui import i18n
from ruswf.api.ui.session import COOKIE, CsrfError, LoginRequiredError, SessionStore, UiUser
from ruswf.app.authorization import ROLE_READS, Role
from ruswf.app.labels import action_label, choice_label, event_label, outcome_label, state_label
from ruswf.app.service import RusApp
from ruswf.app.store.faults import is_store_error, store_error_message
from ruswf.bootstrap import Services
from ruswf.domain.lifecycle import State

log = structlog.get_logger("ruswf.ui")

STATE_ORDER = tuple(State)

templates = Environment(
    loader=PackageLoader("ruswf.api.ui", "templates"),
    autoescape=True,  # every text is escaped; only a rendered template is marked safe
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # package data: no template changes while the server runs
)


@dataclass
class UiState:
    """What the lifespan builds once per process for the UI."""

    sessions: SessionStore
    login_failures: AuthFailureLimit
    """Failed logins per client address (as the API counts its 401s)."""


@dataclass
class Page:
    """One request of a signed-in (or anonymous) user: language, user, app, read models."""

    request: Request
    api: Services
    ui: UiState
    lang: str
    user: UiUser | None
    stale: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def app(self) -> RusApp:
        return self.api.app

    @property
    def actor(self) -> Any:
        assert self.user is not None
        return self.user.actor

    def may_read(self, resource: str) -> bool:
        return self.user is not None and resource in ROLE_READS[Role(self.user.actor.role)]

    def projections(self) -> Projections:
        """The read models, caught up to the newest event (waiting a bounded time); when
        they still lag, the page says it is updating instead of showing old data as new."""
        views = self.api.projections
        started = time.monotonic()
        try:
            views.catch_up(wait=READ_CATCH_UP_WAIT)
            # A catch-up that returned before its wait ran to the head of the log; only
            # one that gave up waiting for another (or failed) may leave the views behind.
            waited = time.monotonic() - started >= READ_CATCH_UP_WAIT
        except Exception as error:
            if not is_store_error(error):
                raise
            log.warning("projections_catch_up_skipped", reason=store_error_message(error))
            waited = True
        if waited:
            self.stale = any(row["lag"] > 0 for row in views.status())
        return views

    # -- words ------------------------------------------------------------------------

    def t(self, key: str) -> str:
        return i18n.t(key, self.lang)

    def state_label(self, state: str) -> str:
        return state_label(state, self.lang)

    def goal_area(self, goal_area_id: str | None) -> str:
        found = self.app.strategy.goal_area(goal_area_id or "")
        return found.name if found else (goal_area_id or "")

    def actor_name(self, actor_id: str | None) -> str:
        found = self.app.strategy.actor(actor_id or "")
        return found.name if found else (actor_id or "")

    def council_name(self, council_id: str | None) -> str:
        found = self.app.strategy.council(council_id or "")
        return found.name if found else (council_id or "")

    def named(self, kind: str, item_id: object) -> str:
        """The name of a priority, principle or arena of the strategy (its id if none)."""
        items: tuple[Any, ...] = getattr(self.app.strategy, kind)
        return next((i.name for i in items if i.id == item_id), str(item_id))

    def choice(self, field_name: str, value: str | None) -> str:
        """A fixed choice (recommendation, progress status) in words."""
        return choice_label(field_name, value, self.lang)

    def outcome(self, outcome: str) -> str:
        return outcome_label(outcome, self.lang)

    def render_date(self, value: Any) -> str:
        return i18n.format_date(value, self.lang)

    def _context(self, context: dict[str, Any]) -> dict[str, Any]:
        """What every template may use (words, formatters, the user), and `context`."""
        lang = self.lang
        helpers: dict[str, Callable[..., Any]] = {
            "t": self.t,
            "date": lambda v: i18n.format_date(v, lang),
            "time": lambda v: i18n.format_time(v, lang),
            "state_label": self.state_label,
            "action_label": lambda a: action_label(a, lang),
            "event_label": lambda e: event_label(e, lang),
            "role_label": lambda r: i18n.role_label(r, lang),
            "goal_area": self.goal_area,
            "actor_name": self.actor_name,
            "council_name": self.council_name,
            "outcome": self.outcome,
            "named": self.named,
            "choice": self.choice,
        }
        other = "sv" if lang == "en" else "en"
        query = urlencode(
            [
                *((k, v) for k, v in self.request.query_params.multi_items() if k != "lang"),
                ("lang", other),
            ]
        )
        return {
            "page": self,
            "other_lang": other,
            "switch_lang": f"{self.request.url.path}?{query}",
            "lang": lang,
            "user": self.user,
            "path": self.request.url.path,
            **helpers,
            **context,
        }

    def fragment(self, template: str, **context: Any) -> Markup:
        """A part of a page, rendered (and escaped) by its own template, to be placed in
        a page's context as it is."""
        return Markup(templates.get_template(template).render(self._context(context)))

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(template).render(self._context(context))
        response = HTMLResponse(html, status_code=status_code)
        if self.user is not None:  # a signed-in page is not kept (shared computers, back button)
            response.headers["Cache-Control"] = "no-store"
        remember_language(self.request, response)
        return response


def language(request: Request) -> str:
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGS:
        return chosen
    cookie = request.cookies.get(i18n.LANG_COOKIE)
    return cookie if cookie in i18n.LANGS else "sv"


def remember_language(request: Request, response: Response) -> None:
    chosen = request.query_params.get("lang")
    if chosen in i18n.LANGS:
        response.set_cookie(
            i18n.LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )


def _page(request: Request, *, required: bool) -> Page:
    """The page of a request outside a route (an error handler)."""
    ui: UiState = request.app.state.ui
    return _page_for(request, ui.sessions.user(request.cookies.get(COOKIE)), required=required)


def _page_for(request: Request, user: UiUser | None, *, required: bool) -> Page:
    if user is None and required:
        raise LoginRequiredError
    if user is not None:
        request.scope.setdefault("state", {})["user"] = user.actor.user
        structlog.contextvars.bind_contextvars(user=user.actor.user)
    return Page(
        request=request,
        api=request.app.state.ruswf,
        ui=request.app.state.ui,
        lang=language(request),
        user=user,
    )


async def _page_async(request: Request, *, required: bool) -> Page:
    """The page of a route: the session is read on the event loop
    (`SessionStore.user_async`), the route's own work runs in a worker thread."""
    ui: UiState = request.app.state.ui
    user = await ui.sessions.user_async(request.cookies.get(COOKIE))
    return _page_for(request, user, required=required)


async def signed_in(request: Request) -> Page:
    """A page for a signed-in user (else 303 to /login)."""
    return await _page_async(request, required=True)


async def anyone(request: Request) -> Page:
    """A page anyone may read (signed in or not)."""
    return await _page_async(request, required=False)


SignedIn = Annotated[Page, Depends(signed_in)]
Anyone = Annotated[Page, Depends(anyone)]


def error_page(page: Page, status_code: int, title: str, message: str, **context: Any) -> Response:
    return page.render(
        "error.html", status_code=status_code, title=title, message=message, **context
    )


def login_redirect(_request: Request, _error: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


def csrf_refused(request: Request, error: Exception) -> Response:
    page = _page(request, required=False)
    log.warning("ui_csrf_refused", reason=str(error), path=request.url.path)
    return error_page(
        page,
        403,
        page.t("forbidden"),
        "Formuläret kunde inte tas emot (ogiltig eller saknad csrf_token). Ladda om sidan och"
        " försök igen."
        if page.lang == "sv"
        else "The form could not be accepted (missing or invalid csrf_token). Reload the page"
        " and try again.",
    )


HANDLERS: dict[type[Exception], Callable[[Request, Exception], Response]] = {
    LoginRequiredError: login_redirect,
    CsrfError: csrf_refused,
}
