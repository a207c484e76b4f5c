"""The web UI in a real browser: the whole path of an initiative through its roles,
accessibility (axe-core, keyboard only), and the safety rules seen from a browser."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import UUID_PATH, Site, shoot

MEETING = "rsr-2026-12-17"  # an RSR meeting after "today" (1 December 2026) in RUS 2030


def propose(page: Page, site: Site, title: str) -> str:
    """Propose an initiative through the form; returns its id."""
    page.goto(f"{site.url}/initiatives/new")
    page.get_by_label("Titel").fill(title)
    page.get_by_label("Sammanfattning").fill("Ett gemensamt program för kompetensförsörjning.")
    page.get_by_label("Målområde").select_option("grow")
    page.get_by_label("Indikatorer").fill("Nya jobb; antal; 0; 20")
    page.get_by_role("button", name="Spara förslaget").click()
    page.wait_for_url(UUID_PATH)
    found = UUID_PATH.search(page.url)
    assert found
    return found.group(1)


def state_of(page: Page) -> str | None:
    return page.locator("[data-current-state]").get_attribute("data-current-state")


def test_an_initiative_goes_the_whole_path_through_the_browser(
    as_user: Callable[..., Page], site: Site
) -> None:
    coordinator = as_user("coordinator")
    shoot(coordinator, "01-att-gora-tom")
    initiative = propose(coordinator, site, "Kompetenslyft i Sundsvall")
    shoot(coordinator, "02-forslag")
    coordinator.locator("#form-submit").get_by_role("button").click()
    coordinator.wait_for_url(f"{site.url}/initiatives/{initiative}")
    assert state_of(coordinator) == "council_preparation"

    preparer = as_user("preparer")
    expect(preparer.get_by_role("link", name="Kompetenslyft i Sundsvall")).to_be_visible()
    shoot(preparer, "03-att-gora-beredare")
    preparer.get_by_role("link", name="Kompetenslyft i Sundsvall").first.click()
    form = preparer.locator("#form-record_preparation")
    form.get_by_label("Beredningspromemoria").fill("Beredd i Strategiska RUS-gruppen.")
    form.get_by_label("Rekommendation").select_option("approve")
    form.get_by_role("button").click()
    schedule = preparer.locator("#form-schedule")
    schedule.get_by_label("Råd").select_option("rsr")
    schedule.get_by_label("Mötesdatum").fill("2026-12-17")
    schedule.get_by_role("button").click()
    preparer.wait_for_url(f"{site.url}/initiatives/{initiative}")
    assert state_of(preparer) == "decision"
    shoot(preparer, "04-till-beslut")

    secretary = as_user("secretary")
    secretary.goto(f"{site.url}/meetings/{MEETING}")
    shoot(secretary, "05-mote")
    item = secretary.locator(".agenda__item", has_text="Kompetenslyft i Sundsvall")
    item.get_by_text("Bifall", exact=True).first.click()  # open the details
    item.get_by_label("Beslutstext").fill("Rådet ställer sig bakom Kompetenslyft i Sundsvall.")
    item.get_by_role("button", name="Bifall").click()
    secretary.wait_for_url(f"{site.url}/initiatives/{initiative}")
    assert state_of(secretary) == "follow_up"
    secretary.goto(f"{site.url}/meetings/{MEETING}/protokoll")
    expect(secretary.get_by_text("Rådet ställer sig bakom")).to_be_visible()
    shoot(secretary, "06-protokoll")

    coordinator.goto(f"{site.url}/")
    shoot(coordinator, "07-att-gora-rapport")
    coordinator.get_by_role("link", name="Kompetenslyft i Sundsvall").first.click()
    report = coordinator.locator("#form-report_progress")
    report.get_by_label("Rapportperiod").select_option("2026-T3")
    report.get_by_label("Status").select_option("on_track")
    report.get_by_label("Lägesbeskrivning").fill("Första kursomgången har startat.")
    report.get_by_label("Nya jobb").fill("4")
    report.get_by_label("Lärdomar").fill("Arbetsgivarna vill vara med från början.")
    report.get_by_role("button").click()
    coordinator.wait_for_url(f"{site.url}/initiatives/{initiative}")
    expect(coordinator.locator("#historik")).to_contain_text("Lägesrapport inlämnad")
    shoot(coordinator, "08-insats-uppfoljning")

    coordinator.goto(f"{site.url}/initiatives")
    expect(coordinator.locator('[data-state="follow_up"]')).to_contain_text(
        "Kompetenslyft i Sundsvall"
    )
    shoot(coordinator, "09-tavla")
    coordinator.goto(f"{site.url}/arshjul?year=2026")
    expect(coordinator.locator(f"tr#{MEETING}")).to_contain_text("1 beslut, 0 på dagordningen")
    shoot(coordinator, "10-arshjul")
    coordinator.goto(f"{site.url}/reports?year=2026")
    row = coordinator.locator("tr#period-2026-T3-grow")
    expect(row.locator("td").nth(2)).to_have_text("1")  # period, proposals, approved
    shoot(coordinator, "11-rapport")
    coordinator.goto(f"{site.url}/lessons?q=arbetsgivarna")
    expect(coordinator.get_by_text("Arbetsgivarna vill vara med från början.")).to_be_visible()
    shoot(coordinator, "12-lardomar")

    auditor = as_user("auditor")
    auditor.goto(f"{site.url}/initiatives/{initiative}")
    timeline = auditor.locator("#historik .timeline__item")
    expect(timeline).to_have_count(6)
    shoot(auditor, "13-granskare-historik")
    auditor.get_by_label("Version").select_option("2")
    auditor.locator("form.as-of").first.get_by_role("button").click()
    auditor.wait_for_url(re.compile(r"version=2"))
    assert state_of(auditor) == "council_preparation"
    expect(auditor.locator("#historik .timeline__item")).to_have_count(2)
    shoot(auditor, "14-granskare-som-det-var")
    auditor.goto(f"{site.url}/initiatives/{initiative}")
    auditor.get_by_role("link", name="Beslutsunderlag").click()
    expect(auditor.get_by_text("Beredning registrerad")).to_be_visible()
    shoot(auditor, "15-beslutsunderlag")


def serious(axe: Axe, page: Page) -> list[tuple[str, list[object]]]:
    """axe-core's serious and critical violations on the page (rule, first targets)."""
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in axe.run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_page_has_no_serious_accessibility_violations(
    as_user: Callable[..., Page], site: Site, browser: Browser
) -> None:
    coordinator = as_user("coordinator")
    initiative = propose(coordinator, site, "Tillgänglighetsprovet")
    secretary = as_user("secretary")
    pages = {
        coordinator: [
            "/",
            "/initiatives",
            "/initiatives?view=table",
            "/initiatives/new",
            f"/initiatives/{initiative}",
            "/meetings",
            f"/meetings/{MEETING}",
            f"/meetings/{MEETING}/protokoll",
            "/arshjul?year=2026",
            "/reports?year=2026",
            "/lessons",
            "/tillganglighet",
            "/initiatives?lang=en",
            "/?lang=sv",
        ],
        secretary: ["/", f"/meetings/{MEETING}"],
    }
    axe = Axe()
    problems: dict[str, object] = {}
    for page, paths in pages.items():
        for path in paths:
            page.goto(f"{site.url}{path}")
            name = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "id", path.lower())
            shoot(page, "axe" + re.sub(r"[^a-z0-9]+", "-", name).rstrip("-"))
            if found := serious(axe, page):
                problems[path] = found
    coordinator.goto(f"{site.url}/initiatives/new")  # a failed submit: summary and messages
    coordinator.get_by_role("button", name="Spara förslaget").click()
    if found := serious(axe, coordinator):
        problems["/initiatives/new (errors)"] = found
    anonymous = browser.new_page()
    try:
        anonymous.goto(f"{site.url}/login")
        shoot(anonymous, "axe-login")
        if found := serious(axe, anonymous):
            problems["/login"] = found
    finally:
        anonymous.close()
    assert problems == {}


def test_the_proposal_form_works_with_the_keyboard_alone(
    as_user: Callable[..., Page], site: Site
) -> None:
    page = as_user("coordinator")
    page.goto(f"{site.url}/initiatives/new")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")

    def tab_to(name: str) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.name") == name:
                outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", f"no visible focus on {name}"
                return
        pytest.fail(f"Tab never reached {name}")

    tab_to("title")
    page.keyboard.type("Tangentbordsinsatsen")
    tab_to("summary")
    page.keyboard.type("Föreslagen utan mus.")
    tab_to("goal_area")
    page.keyboard.press("ArrowDown")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    else:
        pytest.fail("Tab never reached the submit button")
    page.keyboard.press("Enter")
    page.wait_for_url(UUID_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tangentbordsinsatsen")


def test_invalid_input_is_shown_at_the_field_and_the_summary_takes_focus(
    as_user: Callable[..., Page], site: Site
) -> None:
    page = as_user("coordinator")
    page.goto(f"{site.url}/initiatives/new")
    page.get_by_label("Titel").fill("Utan sammanfattning")
    page.get_by_role("button", name="Spara förslaget").click()
    assert page.title().startswith("Fel: ")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Det finns ett problem")
    summary.get_by_role("link").first.click()
    focused = page.evaluate("document.activeElement.name")
    field = page.locator(f'[name="{focused}"]')
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Titel")).to_have_value("Utan sammanfattning")
    shoot(page, "16-felsammanfattning")


def test_a_post_without_the_csrf_token_is_refused(as_user: Callable[..., Page], site: Site) -> None:
    page = as_user("coordinator")
    initiative = propose(page, site, "CSRF-provet")
    answer = page.context.request.post(
        f"{site.url}/initiatives/{initiative}/actions/submit", form={"comment": "utan token"}
    )
    assert answer.status == 403
    page.reload()
    assert state_of(page) == "proposal"


def test_an_action_not_offered_is_refused_when_posted_from_the_page(
    as_user: Callable[..., Page], site: Site
) -> None:
    page = as_user("coordinator")
    initiative = propose(page, site, "Ej erbjuden åtgärd")
    assert page.locator('form[action$="/actions/approve"]').count() == 0
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    answer = page.context.request.post(
        f"{site.url}/initiatives/{initiative}/actions/approve",
        form={"csrf_token": csrf or "", "decision_text": "Bifall på egen hand."},
        headers={"Origin": site.url},
    )
    assert answer.status == 403
    page.reload()
    assert state_of(page) == "proposal"


def test_no_request_leaves_the_servers_origin(as_user: Callable[..., Page], site: Site) -> None:
    """Every request any page of this module made went to the server itself (run last)."""
    page = as_user("auditor")
    for path in ("/", "/initiatives", "/arshjul", "/reports", "/lessons", "/meetings"):
        page.goto(f"{site.url}{path}")
    assert site.requests
    foreign = [u for u in site.requests if not u.startswith(f"{site.url}/")]
    assert foreign == []


def test_pages_fit_a_390_pixel_wide_phone(as_user: Callable[..., Page], site: Site) -> None:
    page = as_user("coordinator", width=390)
    wide = {}
    for path in ("/", "/initiatives", "/initiatives/new", "/meetings", "/arshjul", "/reports"):
        page.goto(f"{site.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[path] = width
    shoot(page, "17-mobil-tavla")
    assert wide == {}


def test_proposing_works_with_javascript_turned_off(browser: Browser, site: Site) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site.url}/login")
        page.get_by_label("Inloggningsnyckel").fill(site.tokens["coordinator"])
        page.get_by_role("button", name="Logga in").click()
        page.wait_for_url(f"{site.url}/")
        initiative = propose(page, site, "Utan JavaScript")
        page.locator("#form-submit").get_by_role("button").click()
        page.wait_for_url(f"{site.url}/initiatives/{initiative}")
        assert state_of(page) == "council_preparation"
    finally:
        context.close()
