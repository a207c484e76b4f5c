"""Sessions and safety: login, logout, revocation, cookies, CSRF and origin checks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from ruswf.api.ui.session import SessionStore
from ruswf.app.service import RusApp
from ruswf.app.settings import Settings
from ruswf.app.store.sql import SqlStore
from ruswf.app.store.tokens import TokenStore
from ruswf.domain.strategy import Strategy
from tests.ui.conftest import Browser

PAGES = [
    "/",
    "/initiatives",
    "/initiatives/new",
    "/initiatives/00000000-0000-0000-0000-000000000000",
    "/meetings",
    "/meetings/rsr-2026-02-19",
    "/arshjul?year=2026",
    "/reports?year=2026",
    "/lessons?q=x",
    "/initiatives.csv",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_redirects_to_login_without_a_session(
    asgi: Callable[[], TestClient], path: str
) -> None:
    answer = asgi().get(path)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"


@pytest.mark.parametrize("path", ["/login", "/tillganglighet", "/static/ui/ui.css"])
def test_login_the_accessibility_statement_and_assets_are_public(
    asgi: Callable[[], TestClient], path: str
) -> None:
    assert asgi().get(path).status_code == 200


def test_login_form_has_one_field_named_token(asgi: Callable[[], TestClient]) -> None:
    html = asgi().get("/login").text
    assert html.count("<input") == 1
    assert 'name="token"' in html
    assert '<label for="token">' in html


def test_login_sets_an_httponly_samesite_session_cookie_and_redirects_home(
    asgi: Callable[[], TestClient], tokens: dict[str, str]
) -> None:
    answer = asgi().post("/login", data={"token": tokens["coordinator"]})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "ruswf_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # served over plain HTTP here


def test_login_over_https_marks_the_cookie_secure(
    settings: Settings, tokens: dict[str, str]
) -> None:
    from ruswf.api.main import create_app

    with TestClient(create_app(settings), base_url="https://testserver") as client:
        answer = client.post(
            "/login", data={"token": tokens["coordinator"]}, follow_redirects=False
        )
    assert "secure" in answer.headers["set-cookie"].lower()


def test_a_bad_token_is_shown_at_the_field(asgi: Callable[[], TestClient]) -> None:
    answer = asgi().post("/login", data={"token": "ruswf_000000000000_nottherightsecretatall"})
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    assert 'aria-describedby="token-hint token-error"' in answer.text
    assert "Det finns ett problem" in answer.text
    assert "<title>Fel: " in answer.text
    assert "set-cookie" not in answer.headers


def test_the_store_keeps_only_a_hash_of_the_session_id(
    asgi: Callable[[], TestClient], tokens: dict[str, str], app: RusApp
) -> None:
    client = asgi()
    client.post("/login", data={"token": tokens["coordinator"]})
    session_id = client.cookies["ruswf_session"]
    with SqlStore(app).read() as tx:
        rows = tx.execute("SELECT session_hash, sealed_token FROM {ruswf_ui_sessions}")
    assert [r["session_hash"] for r in rows] == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert session_id not in str(rows)
    assert tokens["coordinator"] not in str(rows)


def test_revoking_the_token_ends_its_sessions(
    signed_in: Callable[[str], Browser],
    tokens: dict[str, str],
    settings: Settings,
    strategy: Strategy,
) -> None:
    browser = signed_in("coordinator")
    assert browser.http.get("/").status_code == 200
    store = TokenStore(settings, strategy)
    try:
        assert store.revoke(tokens["coordinator"].split("_")[1])
    finally:
        store.close()
    answer = browser.http.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"


def test_logout_ends_the_session(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("coordinator")
    assert 'action="/logout"' in browser.http.get("/logout").text
    cookie = browser.http.cookies["ruswf_session"]
    answer = browser.post("/logout", {})
    assert answer.status_code == 303
    browser.http.cookies.set("ruswf_session", cookie)  # even a kept copy of the cookie
    assert browser.http.get("/").status_code == 303


def test_logout_without_the_csrf_token_is_refused(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("coordinator")
    assert browser.http.post("/logout").status_code == 403
    assert browser.http.get("/").status_code == 200


def test_a_post_without_a_valid_csrf_token_is_refused_and_records_nothing(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("submit")
    browser = signed_in("coordinator")
    path = f"/initiatives/{initiative}/actions/submit"
    assert browser.http.post(path, data={"comment": "x"}).status_code == 403
    assert browser.http.post(path, data={"csrf_token": "0" * 64}).status_code == 403
    other = signed_in("coordinator")  # another session's token is not this one's
    assert browser.http.post(path, data={"csrf_token": other.csrf}).status_code == 403
    assert app.get_initiative(initiative).version == 1


def test_a_post_from_another_origin_is_refused_even_with_the_token(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("submit")
    browser = signed_in("coordinator")
    path = f"/initiatives/{initiative}/actions/submit"
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = browser.http.post(path, data={"csrf_token": browser.csrf}, headers=headers)
        assert answer.status_code == 403
    assert app.get_initiative(initiative).version == 1
    same = browser.http.post(
        path, data={"csrf_token": browser.csrf}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 303


def test_english_is_chosen_by_query_and_kept_in_a_cookie(
    signed_in: Callable[[str], Browser],
) -> None:
    browser = signed_in("coordinator")
    assert '<html lang="sv">' in browser.http.get("/").text
    assert '<html lang="en">' in browser.http.get("/?lang=en").text
    assert '<html lang="en">' in browser.http.get("/initiatives").text
    assert '<html lang="sv">' in browser.http.get("/?lang=sv").text


def test_the_ui_is_not_in_the_openapi_schema(asgi: Callable[[], TestClient]) -> None:
    paths = asgi().get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/api/", "/healthz", "/readyz"))]


def test_too_many_failed_logins_are_refused_for_a_while(
    settings: Settings, tokens: dict[str, str]
) -> None:
    from ruswf.api.main import create_app

    limited = settings.model_copy(update={"auth_failures_per_minute": 3})
    with TestClient(create_app(limited), follow_redirects=False) as client:
        for _ in range(3):
            assert client.post("/login", data={"token": "ruswf_x"}).status_code == 422
        refused = client.post("/login", data={"token": tokens["coordinator"]})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "set-cookie" not in refused.headers


def test_the_language_link_keeps_the_page_and_its_filters(
    signed_in: Callable[[str], Browser],
) -> None:
    html = signed_in("coordinator").http.get("/initiatives?goal_area=grow&q=fond").text
    assert 'href="/initiatives?goal_area=grow&amp;q=fond&amp;lang=en"' in html


def test_signed_in_pages_are_not_stored_by_the_browser(
    signed_in: Callable[[str], Browser],
) -> None:
    assert signed_in("coordinator").http.get("/").headers["cache-control"] == "no-store"


def test_a_session_pointing_at_another_token_row_is_refused(
    signed_in: Callable[[str], Browser], tokens: dict[str, str], app: RusApp
) -> None:
    browser = signed_in("coordinator")
    assert browser.http.get("/").status_code == 200
    other_token_id = tokens["auditor"].split("_")[1]
    with SqlStore(app).write() as tx:
        tx.execute("UPDATE {ruswf_ui_sessions} SET token_id = ?", (other_token_id,))

    answer = browser.http.get("/")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"


def test_a_sessions_table_from_before_token_ids_gains_the_column_and_its_sessions_end(
    app: RusApp, settings: Settings, strategy: Strategy
) -> None:
    sql = SqlStore(app)
    with sql.write() as tx:
        tx.execute(
            "CREATE TABLE {ruswf_ui_sessions} (session_hash TEXT PRIMARY KEY,"
            " sealed_token TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL)"
        )
        tx.execute(
            "INSERT INTO {ruswf_ui_sessions} VALUES (?, ?, ?, ?)",
            (hashlib.sha256(b"old-session").hexdigest(), "AAAA", "2026-12-01", "2999-01-01"),
        )
    tokens = TokenStore(settings, strategy)
    try:
        sessions = SessionStore(app, tokens)
        SessionStore(app, tokens)  # a second process starting: nothing more to add
        _, token = tokens.create("anna", "coordinator", "sundsvall")
        started = sessions.start(token)
        assert started is not None
        session_id, _ = started

        assert sessions.user("old-session") is None  # not even sealed: refused, no error
        user = sessions.user(session_id)
        assert user is not None
        assert user.actor.user == "anna"
        with sql.write() as tx:  # as a session started before token ids were kept
            tx.execute("UPDATE {ruswf_ui_sessions} SET token_id = NULL")
        assert sessions.user(session_id) is None
    finally:
        tokens.close()
