"""The UI's pages through the ASGI app: what each shows, the forms it offers, and what a
submitted form does."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Callable

import pytest

from ruswf.app.service import RusApp
from ruswf.domain.commands import Close, ReportProgress, Revise, Schedule
from ruswf.domain.lifecycle import State
from tests.api.conftest import FIRST_MEETING, actor
from tests.ui.conftest import Browser

FORM_ACTION = re.compile(r'<form method="post" action="/initiatives/[^"]+/actions/([a-z_]+)"')


def test_the_board_has_one_column_per_state(signed_in: Callable[[str], Browser]) -> None:
    html = signed_in("coordinator").http.get("/initiatives").text
    for state in State:
        assert f'data-state="{state.value}"' in html


def test_the_board_filters_by_query_parameters(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    ready_for("submit")
    browser = signed_in("reporter")
    assert "Branschanalys" in browser.http.get("/initiatives?goal_area=grow").text
    assert "Branschanalys" not in browser.http.get("/initiatives?goal_area=live").text
    assert "Branschanalys" in browser.http.get("/initiatives?q=branschANALYS").text
    assert "Branschanalys" not in browser.http.get("/initiatives?q=filmfond").text
    assert "Branschanalys" not in browser.http.get("/initiatives?lead_actor=kramfors").text
    table = browser.http.get("/initiatives?view=table&goal_area=grow&sort=title&order=asc")
    assert 'href="/initiatives?goal_area=grow&view=table' in table.text.replace("&amp;", "&")


def test_the_csv_download_holds_the_filtered_rows_neutralised(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("submit")
    app.execute(initiative, Revise(changes={"title": '=HYPERLINK("x")'}), actor("coordinator"))
    answer = signed_in("auditor").http.get("/initiatives.csv?goal_area=grow")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:3] == ["id", "title", "state"]
    assert rows[1][1] == '\'=HYPERLINK("x")'
    empty = signed_in("auditor").http.get("/initiatives.csv?goal_area=live")
    assert len(list(csv.reader(io.StringIO(empty.text)))) == 1


@pytest.mark.parametrize(
    ("who", "ready", "offered"),
    [
        ("coordinator", "submit", {"submit", "revise", "withdraw"}),
        ("other_coordinator", "submit", set()),
        ("preparer", "record_preparation", {"return_for_revision", "record_preparation"}),
        ("secretary", "approve", {"approve", "reject", "defer", "refer_back"}),
        ("auditor", "approve", set()),
    ],
)
def test_the_page_offers_a_form_for_exactly_the_allowed_actions(
    signed_in: Callable[[str], Browser],
    ready_for: Callable[[str], str],
    app: RusApp,
    who: str,
    ready: str,
    offered: set[str],
) -> None:
    initiative = ready_for(ready)
    html = signed_in(who).http.get(f"/initiatives/{initiative}").text
    assert set(FORM_ACTION.findall(html)) == offered
    assert html.count('method="post"') == len(offered)  # no other form posts
    assert set(app.get_initiative(initiative, actor(who)).allowed_actions) == offered


def test_an_action_not_offered_is_refused_if_posted_anyway(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("record_preparation")
    coordinator = signed_in("coordinator")
    refused = coordinator.post(
        f"/initiatives/{initiative}/actions/approve", {"decision_text": "Ja"}
    )
    assert refused.status_code == 403
    preparer = signed_in("preparer")
    too_early = preparer.post(
        f"/initiatives/{initiative}/actions/schedule",
        {"council": "rsr", "meeting_date": FIRST_MEETING},
    )
    assert too_early.status_code == 409
    assert app.get_initiative(initiative).version == 2


def test_invalid_input_is_shown_at_the_field(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("reject")
    answer = signed_in("secretary").post(
        f"/initiatives/{initiative}/actions/reject", {"reason": ""}
    )
    assert answer.status_code == 422
    html = answer.text
    assert "<title>Fel: " in html
    assert "Det finns ett problem" in html
    assert '<a href="#reject-reason">Fyll i motivering</a>' in html
    field = re.search(r"<textarea[^>]*id=\"reject-reason\"[^>]*>", html)
    assert field is not None
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="reject-reason-error"' in field.group(0)
    assert 'id="reject-reason-error"' in html
    assert app.get_initiative(initiative).state == "decision"


def test_invalid_input_keeps_what_was_typed(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("defer")
    answer = signed_in("secretary").post(
        f"/initiatives/{initiative}/actions/defer",
        {"reason": "Mer underlag.", "meeting_date": "2026-02-20"},
    )
    assert answer.status_code == 422
    assert ">Mer underlag.</textarea>" in answer.text
    assert 'aria-invalid="true"' in answer.text


def test_proposing_posts_to_new_and_redirects_to_the_initiative(
    signed_in: Callable[[str], Browser], app: RusApp
) -> None:
    browser = signed_in("coordinator")
    form = browser.http.get("/initiatives/new").text
    assert '<form method="post" action="/initiatives/new"' in form
    for name in ("title", "summary", "goal_area", "lead_actor"):
        assert f'name="{name}"' in form
    answer = browser.post(
        "/initiatives/new",
        {
            "title": "Filmfond",
            "summary": "En regional filmfond.",
            "goal_area": "grow",
            "lead_actor": "sundsvall",
            "principles": ["try_and_learn"],
            "lessons": "",
        },
    )
    assert answer.status_code == 303
    initiative = answer.headers["location"].rsplit("/", 1)[1]
    view = app.get_initiative(initiative)
    assert (view.title, view.principles, view.proposed_by["user"]) == (
        "Filmfond",
        ["try_and_learn"],
        "anna",
    )


def test_after_an_action_the_next_pages_already_show_it(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("approve")
    browser = signed_in("secretary")
    answer = browser.post(
        f"/initiatives/{initiative}/actions/approve", {"decision_text": "Rådet bifaller."}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/initiatives/{initiative}"
    page = browser.http.get(answer.headers["location"]).text
    assert 'data-current-state="follow_up"' in page
    board = browser.http.get("/initiatives").text
    column = board.split('data-state="follow_up"', 1)[1].split("</section>", 1)[0]
    assert initiative in column
    meeting = browser.http.get(f"/meetings/rsr-{FIRST_MEETING}").text
    assert "Rådet bifaller." in meeting
    assert "Uppdateras" not in page + board + meeting


def test_the_timeline_lists_every_event_with_who_and_why(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("close")  # proposed, submitted, prepared, scheduled, approved
    html = signed_in("auditor").http.get(f"/initiatives/{initiative}").text
    history = html.split('id="historik"', 1)[1]
    assert history.count('class="timeline__item"') == 5
    for label in ("Förslag registrerat", "Beredning registrerad", "Bifall"):
        assert label in history
    assert "per (beredare, Region Västernorrland)" in history
    assert f'href="/meetings/rsr-{FIRST_MEETING}"' in history
    assert f'href="/initiatives/{initiative}/beslut/1"' in history


def test_the_as_of_view_shows_that_state_and_the_timeline_up_to_then(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("close")
    browser = signed_in("auditor")
    html = browser.http.get(f"/initiatives/{initiative}?version=2").text
    assert 'data-current-state="council_preparation"' in html
    assert html.split('id="historik"', 1)[1].count('class="timeline__item"') == 2
    assert not FORM_ACTION.findall(html)
    dated = browser.http.get(f"/initiatives/{initiative}?as_of=2000-01-01")
    assert dated.status_code == 404


def test_a_role_without_history_may_not_see_the_past(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("close")
    browser = signed_in("reporter")
    assert browser.http.get(f"/initiatives/{initiative}?version=1").status_code == 403
    page = browser.http.get(f"/initiatives/{initiative}").text
    assert 'id="historik"' in page
    assert 'class="timeline__item"' not in page


def test_the_decision_dossier_is_a_page_in_swedish(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("close")
    html = signed_in("auditor").http.get(f"/initiatives/{initiative}/beslut/1").text
    assert "Beslutsunderlag" in html
    assert "Beredning registrerad" in html  # the event's Swedish label
    assert re.search(
        r"\d{1,2} (januari|februari|mars|april|maj|juni|juli|augusti|september|"
        r"oktober|november|december) \d{4} \d\d:\d\d",
        html,
    )
    assert '<link rel="stylesheet" href="/static/ui/dossier.css">' in html
    assert "<style>" not in html
    assert f'href="/initiatives/{initiative}"' in html


def test_the_secretary_records_decisions_from_the_meeting_page(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    initiative = ready_for("approve")
    html = signed_in("secretary").http.get(f"/meetings/rsr-{FIRST_MEETING}").text
    actions = set(re.findall(rf'action="/initiatives/{initiative}/actions/([a-z_]+)"', html))
    assert actions == {"approve", "reject", "defer", "refer_back"}
    reader = signed_in("reporter").http.get(f"/meetings/rsr-{FIRST_MEETING}").text
    assert "/actions/" not in reader
    protocol = signed_in("reporter").http.get(f"/meetings/rsr-{FIRST_MEETING}/protokoll")
    assert protocol.status_code == 200


def test_an_unknown_meeting_is_not_found(signed_in: Callable[[str], Browser]) -> None:
    browser = signed_in("reporter")
    assert browser.http.get("/meetings/rsr-2026-02-20").status_code == 404
    assert browser.http.get("/meetings/nothing").status_code == 404


def test_att_gora_says_when_there_is_nothing_to_do(signed_in: Callable[[str], Browser]) -> None:
    assert "Inget att göra just nu" in signed_in("coordinator").http.get("/").text


def test_att_gora_lists_each_roles_work(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    ready_for("record_preparation")
    scheduled = ready_for("approve")
    assert "Väntar på beredning" in signed_in("preparer").http.get("/").text
    secretary = signed_in("secretary").http.get("/").text
    assert f"/meetings/rsr-{FIRST_MEETING}" in secretary
    assert scheduled
    followed = ready_for("report_progress")
    coordinator = signed_in("coordinator").http.get("/").text
    assert f"/initiatives/{followed}#form-report_progress" in coordinator


def test_the_arshjul_draws_every_meeting_and_period_and_lists_them(
    signed_in: Callable[[str], Browser], app: RusApp
) -> None:
    html = signed_in("reporter").http.get("/arshjul?year=2026").text
    assert "<svg" in html
    for meeting in app.strategy.meetings(2026):
        assert html.count(f'href="/meetings/{meeting.id}"') == 2  # wheel and table
    for period in app.strategy.reporting_periods(2026):
        assert f"#period-{period.id}" in html
    assert "RUS-dagen" in html


def test_the_report_has_charts_with_text_alternatives_and_a_csv(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    ready_for("close")
    browser = signed_in("reporter")
    html = browser.http.get("/reports?year=2026").text
    assert html.count('role="img"') == 2  # decisions; completeness (T1 and T2 are owed)
    assert html.count("<desc") == 2
    assert "Rapporteringsgrad per aktör och period" in html
    assert "0 % (0/1)" in html  # nothing reported for 2026-T1 yet
    assert 'href="/reports.csv?year=2026"' in html
    csv_text = browser.http.get("/reports.csv?year=2026").text
    assert csv_text.startswith("goal_area,period")


def test_lessons_are_searchable_and_link_to_their_initiative(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("close")
    app.execute(
        initiative, Close(final_report="Klart.", lessons=["Förankra tidigt."]), actor("coordinator")
    )
    browser = signed_in("reporter")
    found = browser.http.get("/lessons?q=förankra").text
    assert "Förankra tidigt." in found
    assert f'href="/initiatives/{initiative}"' in found
    assert "Förankra tidigt." not in browser.http.get("/lessons?q=budget").text


def test_a_page_says_it_is_updating_when_the_read_models_lag(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str]
) -> None:
    """A catch-up held up elsewhere (here: its lock held) is waited for a bounded time,
    then the page says "uppdateras…" instead of showing old data as current."""
    browser = signed_in("reporter")
    browser.http.get("/initiatives")  # caught up
    views = browser.http.app.state.ruswf.projections  # type: ignore[attr-defined]  # our FastAPI app
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with views._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(5)
        initiative = ready_for("submit")  # a new event the views cannot have seen
        started = time.monotonic()
        board = browser.http.get("/initiatives").text
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join(10)
    assert "Uppdateras…" in board
    assert initiative not in board
    assert initiative in browser.http.get("/initiatives").text


def test_the_council_filter_keeps_the_initiatives_on_its_agenda(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    on_agenda = ready_for("approve")
    drafted = ready_for("submit")
    browser = signed_in("reporter")
    rsr = browser.http.get("/initiatives?council=rsr").text
    assert on_agenda in rsr
    assert drafted not in rsr
    assert on_agenda not in browser.http.get("/initiatives?council=ssr").text


def test_a_board_larger_than_a_page_is_read_per_column_and_page_by_page(
    signed_in: Callable[[str], Browser],
    ready_for: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ruswf.api.ui import actions as ui_actions

    monkeypatch.setattr(ui_actions, "BOARD_PAGE", 1)  # every store is "large" now
    drafted, scheduled, other = ready_for("submit"), ready_for("approve"), ready_for("submit")
    browser = signed_in("reporter")
    board = browser.http.get("/initiatives").text
    proposals = board.split('data-state="proposal"', 1)[1].split("</section>", 1)[0]
    decisions = board.split('data-state="decision"', 1)[1].split("</section>", 1)[0]
    assert drafted in proposals
    assert other in proposals
    assert scheduled not in proposals
    assert scheduled in decisions
    table = browser.http.get("/initiatives?view=table").text
    assert all(i in table for i in (drafted, scheduled, other))


def test_the_as_of_view_takes_a_moment_with_its_offset(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("close")
    second = app.history(initiative)[1].recorded_at  # e.g. 2026-12-01T19:16:00.123456+00:00
    html = signed_in("auditor").http.get(f"/initiatives/{initiative}?as_of={second}").text
    assert 'data-current-state="council_preparation"' in html
    assert html.split('id="historik"', 1)[1].count('class="timeline__item"') == 2


def test_proposing_for_another_organisation_is_refused_at_the_lead_actor_field(
    signed_in: Callable[[str], Browser],
) -> None:
    answer = signed_in("coordinator").post(
        "/initiatives/new",
        {"title": "Annans", "summary": "Inte vår.", "goal_area": "grow", "lead_actor": "kramfors"},
    )
    assert answer.status_code == 403
    assert '<a href="#propose-lead_actor">' in answer.text
    assert "Annans" not in signed_in("coordinator").http.get("/initiatives").text


def test_submitting_the_same_form_twice_records_it_once(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("report_progress")
    browser = signed_in("coordinator")
    form = {
        "idempotency_key": "form-1",
        "period": "2026-T1",
        "status": "on_track",
        "narrative": "Enligt plan.",
    }
    path = f"/initiatives/{initiative}/actions/report_progress"
    assert browser.post(path, form).status_code == 303
    assert browser.post(path, form).status_code == 303
    assert app.get_initiative(initiative).version == 6
    changed = browser.post(path, {**form, "narrative": "Annat."})
    assert changed.status_code == 409
    assert app.get_initiative(initiative).version == 6


def test_the_meetings_page_lists_the_years_meetings_per_council(
    signed_in: Callable[[str], Browser], app: RusApp
) -> None:
    html = signed_in("reporter").http.get("/meetings?year=2026").text
    for council in app.strategy.councils:
        assert f'id="council-{council.id}"' in html
    for meeting in app.strategy.meetings(2026):
        assert f'href="/meetings/{meeting.id}"' in html


def test_a_revision_records_only_what_was_changed_in_the_form(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("revise")
    browser = signed_in("coordinator")
    html = browser.http.get(f"/initiatives/{initiative}").text
    assert 'value="Branschanalys – besöksnäringen"' in html  # the form starts from the content
    view = app.get_initiative(initiative)
    answer = browser.post(
        f"/initiatives/{initiative}/actions/revise",
        {
            "title": "Branschanalys 2027",
            "summary": view.summary,
            "goal_area": view.goal_area,
            "lead_actor": view.lead_actor,
            "priorities": view.priorities,
            "partner_actors": [],  # emptied
            "principles": view.principles,
            "arena": str(view.arena),
            "indicators": "Nya företag; antal; 0; 20",
        },
    )
    assert answer.status_code == 303
    revised = app.history(initiative)[-1]
    assert revised.type == "Revised"
    assert revised.data["changes"] == {"title": "Branschanalys 2027", "partner_actors": []}


def test_user_text_is_escaped_everywhere_it_is_shown(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    hostile = '<script>alert("x")</script>'
    initiative = ready_for("schedule")
    app.execute(initiative, Revise(changes={"title": hostile}), actor("coordinator"))
    app.execute(initiative, Schedule(council="rsr", meeting_date=FIRST_MEETING), actor("preparer"))
    browser = signed_in("auditor")
    for path in (
        f"/initiatives/{initiative}",
        "/initiatives",
        "/initiatives?view=table",
        f"/meetings/rsr-{FIRST_MEETING}",
    ):
        html = browser.http.get(path).text
        assert "<script" not in html, path
        assert "&lt;script&gt;" in html, path


OBLIGATION = re.compile(r'<tr><td>(\d{4}-T\d)</td><td>[^<]*</td><td><span class="tag tag--(\w+)">')


def test_the_obligations_shown_follow_a_report_made_elsewhere(
    signed_in: Callable[[str], Browser], ready_for: Callable[[str], str], app: RusApp
) -> None:
    initiative = ready_for("report_progress")  # approved: reports are owed
    browser = signed_in("coordinator")
    before = dict(OBLIGATION.findall(browser.http.get(f"/initiatives/{initiative}").text))
    assert before["2026-T1"] != "submitted"
    assert dict(OBLIGATION.findall(browser.http.get(f"/initiatives/{initiative}").text)) == before

    # Reported through another application on the same store (another process).
    report = ReportProgress(period="2026-T1", status="on_track", narrative="Enligt plan.")
    app.execute(initiative, report, actor("coordinator"))

    after = dict(OBLIGATION.findall(browser.http.get(f"/initiatives/{initiative}").text))
    assert after["2026-T1"] == "submitted"
    assert {p: s for p, s in after.items() if p != "2026-T1"} == {
        p: s for p, s in before.items() if p != "2026-T1"
    }
