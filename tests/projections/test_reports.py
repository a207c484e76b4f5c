"""The reports on the demo's year of the annual cycle: numbers a council would believe."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from projections import Projections, render_annual
from projections.annual_cycle import ROW_KEYS
from ruswf.app.audit.ledger import Ledger
from ruswf.app.demo.walk import run_demo
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef
from ruswf.domain.errors import ValidationError

YEAR = 2025
TODAY = date(2026, 11, 26)  # after every due date of 2025


@pytest.fixture
def demo(app: RusApp, projections: Projections) -> Projections:
    """The demo's walk through 2025 (every 2025 report is due by now), caught up."""
    run_demo(app, Ledger(app), seed=1, year=YEAR)
    projections.catch_up()
    return projections


def test_annual_report_on_the_demo_has_sensible_numbers(demo: Projections) -> None:
    report = demo.annual_cycle(YEAR, today=TODAY)
    rows = report["rows"]
    assert report["year"] == YEAR
    assert [(r["goal_area"], r["period"]) for r in rows] == [
        (g, f"{YEAR}-{t}") for g in ("place", "live", "grow") for t in ("T1", "T2", "T3")
    ]
    assert all(list(r)[: len(ROW_KEYS)] == list(ROW_KEYS) for r in rows)
    total = {key: sum(r[key] for r in rows) for key in ROW_KEYS[2:-1]}
    assert total["proposals"] == 25  # the seed's agenda items
    assert total["approved"] >= 12  # followed up and closed ones
    assert total["rejected"] == 2
    assert total["deferred"] == 3
    assert total["withdrawn"] == 2
    assert total["closed"] == 3
    assert total["reports_overdue"] > 0  # the demo leaves some reports missing
    assert total["reports_submitted"] + total["reports_overdue"] == total["reports_due"]
    completeness = [r["completeness"] for r in rows if r["completeness"] is not None]
    assert completeness
    assert min(completeness) < 1
    assert all(0 <= c <= 1 for c in completeness)
    assert total["reports_submitted"] / total["reports_due"] < 1
    assert (
        sum(r["on_track"] + r["at_risk"] + r["off_track"] for r in rows)
        == total["reports_submitted"]
    )
    assert any(r["median_lead_time_days"] for r in rows)
    assert all(r["median_lead_time_days"] > 0 for r in rows if r["median_lead_time_days"])


def test_reports_are_not_owed_before_their_period_ends(demo: Projections) -> None:
    """Asked on the last day of T1, nothing is owed yet; only reports sent count."""
    early = demo.annual_cycle(YEAR, today=date(YEAR, 4, 30))
    assert all(r["reports_overdue"] == 0 for r in early["rows"])
    assert all(r["reports_due"] == r["reports_submitted"] for r in early["rows"])


def test_annual_report_renders_as_csv_markdown_and_json(demo: Projections) -> None:
    report = demo.annual_cycle(YEAR, today=TODAY)
    table = list(csv.reader(io.StringIO(render_annual(report, "csv"))))
    assert table[0][: len(ROW_KEYS)] == list(ROW_KEYS)
    assert len(table) == 1 + len(report["rows"])
    assert table[1][:2] == ["place", f"{YEAR}-T1"]
    markdown = render_annual(report, "md")
    assert markdown.startswith(f"# Annual cycle {YEAR}\n")
    assert markdown.count("\n| ") == 1 + len(report["rows"])
    assert json.loads(render_annual(report, "json")) == report
    with pytest.raises(ValidationError, match="format"):
        render_annual(report, "xml")


def test_every_meeting_of_the_cycle_is_listed_with_agenda_and_minutes(demo: Projections) -> None:
    meetings = demo.meetings(year=YEAR)
    rsr = [m for m in meetings if m["council"] == "rsr"]
    assert len(rsr) == 11  # monthly except July
    assert any(not m["agenda"] and not m["decisions"] for m in meetings)  # empty ones too
    decided = [d for m in meetings for d in m["decisions"]]
    assert {d["outcome"] for d in decided} == {"approved", "rejected", "deferred", "referred_back"}
    for m in meetings:
        on_agenda = {a["initiative_id"] for a in m["agenda"]}
        assert {d["initiative_id"] for d in m["decisions"]} <= on_agenda
    deferred = next(d for d in decided if d["outcome"] == "deferred")
    later = next(m for m in meetings if m["date"] == deferred["next_meeting_date"])
    assert deferred["initiative_id"] in {a["initiative_id"] for a in later["agenda"]}
    assert demo.meetings(council="ssr", year=YEAR) == [m for m in meetings if m["council"] == "ssr"]
    with pytest.raises(ValidationError, match="council"):
        demo.meetings(council="nope", year=YEAR)


def test_obligations_say_who_owes_which_report(demo: Projections) -> None:
    found = demo.obligations(today=TODAY)
    assert {o["status"] for o in found} == {"submitted", "overdue"}
    overdue = demo.obligations(status="overdue", today=TODAY)
    assert overdue == [o for o in found if o["status"] == "overdue"]
    actor = overdue[0]["actor"]
    assert demo.obligations(actor=actor, status="overdue", today=TODAY) == [
        o for o in overdue if o["actor"] == actor
    ]
    assert all(
        o["period"] == f"{YEAR}-T2" for o in demo.obligations(period=f"{YEAR}-T2", today=TODAY)
    )
    assert [o["due_date"] for o in found] == sorted(o["due_date"] for o in found)
    # Before T3's due date its missing reports are still only due.
    assert {
        o["status"] for o in demo.obligations(period=f"{YEAR}-T3", today=date(YEAR + 1, 1, 2))
    } <= {
        "due",
        "submitted",
    }
    with pytest.raises(ValidationError, match="period"):
        demo.obligations(period="2025-Q9")
    with pytest.raises(ValidationError, match="status"):
        demo.obligations(status="late")


def test_har_och_nu_reports_in_flight_at_risk_and_decided(demo: Projections) -> None:
    report = demo.har_och_nu(today=date(YEAR, 12, 1))
    assert report["since"] == f"{YEAR}-06-27"  # the spring "Här och nu" (last Friday of June)
    assert [r["goal_area"] for r in report["in_flight"]] == ["place", "live", "grow"]
    assert sum(r["total"] for r in report["in_flight"]) > 0
    assert all(r["last_report_status"] in ("at_risk", "off_track") for r in report["at_risk"])
    assert all(f"{YEAR}-06-27" < d["meeting_date"] <= f"{YEAR}-12-01" for d in report["decided"])
    assert report["overdue_reports"] == demo.obligations(status="overdue", today=date(YEAR, 12, 1))


def test_lessons_are_searchable_in_any_case(demo: Projections) -> None:
    everything, total = demo.lessons()
    assert total == len(everything) > 0
    found, count = demo.lessons(q="FÖRANKRING kommunerna")
    assert count == len(found) > 0
    assert all("förankring" in f["lesson"].casefold() for f in found)
    assert demo.lessons(q="100%")[1] == 0
    page, _ = demo.lessons(limit=2, offset=1)
    assert page == everything[1:3]
    assert {f["source"] for f in everything} == {"progress_report", "final_report"}


def test_audit_trail_filters_by_initiative_actor_type_and_time(
    demo: Projections, app: RusApp, secretary: ActorRef
) -> None:
    everything, total = demo.audit_events(limit=1000)
    assert total == len(everything)
    assert [e["position"] for e in everything] == sorted(e["position"] for e in everything)
    approvals, count = demo.audit_events(type="Approved", user="demo-secretary", limit=1000)
    assert count == len(approvals) > 0
    assert all(e["actor"]["role"] == "secretary" for e in approvals)
    one = everything[0]["initiative_id"]
    history = app.history(one)
    trail, _ = demo.audit_events(initiative_id=one, limit=1000)
    assert [(e["version"], e["type"], e["recorded_at"], e["payload"]) for e in trail] == [
        (h.version, h.type, h.recorded_at, h.data) for h in history
    ]
    middle = everything[len(everything) // 2]["recorded_at"]
    since, n_since = demo.audit_events(since=middle, limit=1000)
    until, n_until = demo.audit_events(until=middle, limit=1000)
    assert n_since + n_until == total
    assert all(e["recorded_at"] >= middle for e in since)
    assert all(e["recorded_at"] < middle for e in until)
    assert demo.audit_events(until=date(2000, 1, 1))[1] == 0
    with pytest.raises(ValidationError, match="initiative_id"):
        demo.audit_events(initiative_id="not-a-uuid")
    with pytest.raises(ValidationError, match="limit"):
        demo.audit_events(limit=0)
