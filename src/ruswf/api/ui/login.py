"""/login, /logout, /tillganglighet."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from ruswf.api.ui.base import Anyone, SignedIn, log, remember_language
from ruswf.api.ui.forms import FormField
from ruswf.api.ui.session import (
    COOKIE,
    SESSION_HOURS,
    CsrfError,
    check_csrf,
    is_secure,
    same_origin,
)

router = APIRouter(include_in_schema=False)


def _token_field(page: Anyone, error: str | None = None) -> FormField:
    return FormField(
        name="token",
        id="token",
        label=page.t("token"),
        hint=page.t("token_hint"),
        widget="password",
        required=True,
        error=error,
    )


@router.get("/login")
def login_form(page: Anyone) -> Response:
    return page.render("login.html", field=_token_field(page), errors=[])


@router.post("/login")
async def login(request: Request, page: Anyone) -> Response:
    if not same_origin(request):
        raise CsrfError("the login form was posted from another origin")
    client = request.client.host if request.client else "unknown"
    wait = page.ui.login_failures.retry_after(client)
    if wait is not None:
        field = _token_field(page, page.t("too_many").format(seconds=wait))
        refused = page.render("login.html", status_code=429, field=field, errors=[field])
        refused.headers["Retry-After"] = str(wait)
        return refused
    form = await request.form()
    token = str(form.get("token") or "").strip()
    started = await run_in_threadpool(page.ui.sessions.start, token) if token else None
    if started is None:
        page.ui.login_failures.failed(client)
        field = _token_field(page, page.t("token_invalid"))
        return page.render("login.html", status_code=422, field=field, errors=[field])
    session_id, holder = started
    log.info("ui_login", user=holder.user, organisation=holder.organisation, role=holder.role)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )
    remember_language(request, response)
    return response


@router.get("/logout")
def logout_form(page: SignedIn) -> Response:
    """Signing out is a POST (with the session's csrf_token) from this page, so the other
    pages carry no form but their actions'."""
    return page.render("logout.html")


@router.post("/logout")
async def logout(request: Request, page: Anyone) -> Response:
    form = await request.form()

    session_id = request.cookies.get(COOKIE)
    check_csrf(request, session_id, form.get("csrf_token"))
    await run_in_threadpool(page.ui.sessions.end, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/tillganglighet")
def accessibility(page: Anyone) -> Response:
    return page.render("tillganglighet.html")
