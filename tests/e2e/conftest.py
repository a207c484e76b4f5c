"""Browser tests: headless Chromium (Debian's, /usr/bin/chromium) driven by Playwright
against a real `ruswf serve` on 127.0.0.1. Screenshots go to test-artifacts/ui/
(git-ignored). `playwright install` is never run: the system's Chromium is used."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from ruswf.app.strategy_loader import load_strategy
from tests.conftest import store_url
from tests.reliability.conftest import make_tokens
from tests.servers import Server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
TIMEOUT_MS = 15_000


@dataclass
class Site:
    """The running server, its users' tokens and every request its pages made."""

    url: str
    tokens: dict[str, str]
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`ruswf serve` on a fresh SQLite store (one per test module)."""
    directory = tmp_path_factory.mktemp("e2e")
    with store_url("sqlite", directory) as url:
        tokens = make_tokens(url, load_strategy())
        server = Server(url, directory / "serve.log")
        server.start()
        try:
            yield Site(server.url, tokens)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def as_user(browser: Browser, site: Site) -> Iterator[Callable[..., Page]]:
    """A signed-in page for one of the users (its own browser context, so its own
    cookies); every request the page makes is recorded in `site.requests`."""
    contexts: list[BrowserContext] = []

    def open_as(who: str, *, width: int = 1280) -> Page:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="sv-SE")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("request", lambda request: site.requests.append(request.url))
        page.goto(f"{site.url}/login")
        page.get_by_label("Inloggningsnyckel").fill(site.tokens[who])
        page.get_by_role("button", name="Logga in").click()
        page.wait_for_url(f"{site.url}/")
        return page

    yield open_as
    for context in contexts:
        context.close()


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot kept as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


UUID_PATH = re.compile(r"/initiatives/([0-9a-f-]{36})$")
