"""The pages around the initiatives: "Att göra", meetings (agenda, decisions, protocol),
the annual-cycle wheel, the annual report with its charts, lessons learned."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ruswf.api.ui import actions, svg
from ruswf.api.ui.base import Page, SignedIn, error_page
from ruswf.api.ui.forms import build_form
from ruswf.app.csvsafe import write_csv
from ruswf.app.labels import OUTCOME_LABELS, action_label
from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import EARLIEST_YEAR, LATEST_YEAR

router = APIRouter(include_in_schema=False)
Year = Annotated[int | None, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR)]
DECISION_ACTIONS = ("approve", "defer", "refer_back", "reject")
OUTCOME_COLOURS = {
    "approved": "#1b5e20",
    "rejected": "#b71c1c",
    "deferred": "#8a4b08",
    "referred_back": "#1d4f91",
}
UPCOMING_DAYS = 90
Rows = list[dict[str, Any]]


# -- Att göra ------------------------------------------------------------------------------


@router.get("/")
def home(page: SignedIn) -> Response:
    views = page.projections()
    actor = page.actor
    today = page.app.today()
    sections: list[dict[str, Any]] = []
    rows = _board(views)
    if actor.role == "coordinator":
        sections += _coordinator(page, views, rows, today)
    elif actor.role == "preparer":
        sections += _preparer(page, views, rows, today)
    elif actor.role == "secretary":
        sections += _secretary(page, views, today)
    elif actor.role in ("auditor", "admin", "reporter"):
        sections += _recent_decisions(page, views, today)
    return page.render(
        "home.html",
        sections=[s for s in sections if s["items"]],
        today=today,
    )


def _task(
    href: str, title: str, detail: str, due: str | None = None, *, overdue: bool = False
) -> dict[str, Any]:
    """One line of a to-do list: where to act, on what, and when it is due."""
    return {"href": href, "title": title, "detail": detail, "due": due, "overdue": overdue}


def _board(views: Any) -> list[dict[str, Any]]:
    rows, _ = actions.board(views)
    return rows


def _coordinator(page: Page, views: Any, rows: Rows, today: date) -> Rows:
    org = page.actor.organisation
    sv = page.lang == "sv"
    owed = [
        o for o in views.obligations(actor=org, today=today) if o["status"] in ("due", "overdue")
    ]
    seen = {(o["initiative_id"], o["period"]) for o in owed}
    reports = [
        _task(
            f"/initiatives/{o['initiative_id']}#form-report_progress",
            o["title"],
            f"{o['period']}",
            o["due_date"],
            overdue=o["status"] == "overdue",
        )
        for o in sorted(owed, key=lambda o: o["due_date"])
    ]
    for r in rows:
        if r["lead_actor"] != org or r["state"] != "follow_up" or not r["next_report_period"]:
            continue
        if (r["id"], r["next_report_period"]) in seen:
            continue
        due = str(r["next_report_due"])[:10]
        reports.append(
            _task(
                f"/initiatives/{r['id']}#form-report_progress",
                r["title"],
                r["next_report_period"],
                due,
                overdue=due < today.isoformat(),
            )
        )
    reports.sort(key=lambda item: (str(item["due"]), item["title"]))
    returned = [
        _task(
            f"/initiatives/{r['id']}",
            r["title"],
            _proposal_detail(r, sv),
            overdue=r["last_event"] == "ReturnedForRevision",
        )
        for r in rows
        if r["lead_actor"] == org and r["state"] == "proposal"
    ]
    return [
        {
            "title": "Lägesrapporter att lämna" if sv else "Progress reports to submit",
            "items": reports,
        },
        {
            "title": "Förslag att skicka eller komplettera"
            if sv
            else "Proposals to submit or revise",
            "items": returned,
        },
    ]


def _proposal_detail(row: dict[str, Any], sv: bool) -> str:
    if row["last_event"] == "ReturnedForRevision":
        return "Återsänd för komplettering" if sv else "Returned for revision"
    return "Utkast, inte inskickat" if sv else "Draft, not submitted"


def _preparer(page: Page, views: Any, rows: Rows, today: date) -> Rows:
    sv = page.lang == "sv"
    waiting = [r for r in rows if r["state"] == "council_preparation"]

    def to_do(row: dict[str, Any], form: str) -> dict[str, Any]:
        lead = page.actor_name(row["lead_actor"])
        return _task(f"/initiatives/{row['id']}#form-{form}", row["title"], lead)

    prepare = [to_do(r, "record_preparation") for r in waiting if not r["has_preparation"]]
    schedule = [to_do(r, "schedule") for r in waiting if r["has_preparation"]]
    agenda_needed = []
    for m in _upcoming(views, page, today):
        if m["council"] in {c.id for c in page.app.strategy.deciding_councils}:
            count = len(m["agenda"])
            agenda_needed.append(
                _task(
                    f"/meetings/{m['id']}",
                    f"{page.council_name(m['council'])}",
                    f"{count} ärenden på dagordningen" if sv else f"{count} items on the agenda",
                    m["date"],
                )
            )
    return [
        {"title": "Väntar på beredning" if sv else "Waiting for preparation", "items": prepare},
        {
            "title": "Beredda, att sätta upp på ett möte" if sv else "Prepared, to be scheduled",
            "items": schedule,
        },
        {
            "title": "Kommande möten som behöver en dagordning"
            if sv
            else "Coming meetings that need an agenda",
            "items": agenda_needed[:4],
            "due_label": page.t("date"),
        },
    ]


def _upcoming(views: Any, page: Page, today: date) -> list[dict[str, Any]]:
    found = [
        m
        for year in (today.year, today.year + 1)
        for m in views.meetings(year=year)
        if today.isoformat() <= m["date"] <= (today + timedelta(days=UPCOMING_DAYS)).isoformat()
    ]
    return sorted(found, key=lambda m: m["date"])


def undecided(meeting: dict[str, Any]) -> Rows:
    """The meeting's agenda items it has not decided (the agenda keeps decided ones: it is
    the record of what the meeting had before it)."""
    decided = {d["initiative_id"] for d in meeting["decisions"]}
    return [a for a in meeting["agenda"] if a["initiative_id"] not in decided]


def _secretary(page: Page, views: Any, today: date) -> list[dict[str, Any]]:
    sv = page.lang == "sv"
    upcoming = [
        m
        for m in _upcoming(views, page, today)
        if m["council"] in {c.id for c in page.app.strategy.deciding_councils}
    ]
    # Also meetings already held whose agenda still waits for decisions.
    held = [
        m
        for year in (today.year - 1, today.year)
        for m in views.meetings(year=year)
        if m["date"] < today.isoformat() and undecided(m)
    ]
    items = []
    for m in [*held, *upcoming[:1]]:
        for a in undecided(m):
            items.append(
                _task(
                    f"/meetings/{m['id']}",
                    a["title"],
                    f"{page.council_name(m['council'])}",
                    m["date"],
                    overdue=m["date"] < today.isoformat(),
                )
            )
    return [
        {
            "title": "Dagordning som väntar på beslut" if sv else "Agenda awaiting decisions",
            "items": items,
            "due_label": page.t("date"),
        }
    ]


def _recent_decisions(page: Page, views: Any, today: date) -> list[dict[str, Any]]:
    sv = page.lang == "sv"
    decided = [
        (m, d)
        for year in (today.year - 1, today.year)
        for m in views.meetings(year=year)
        for d in m["decisions"]
    ]
    decided.sort(key=lambda md: str(md[1]["recorded_at"]), reverse=True)
    items = [
        _task(
            f"/initiatives/{d['initiative_id']}",
            d["title"],
            f"{page.outcome(d['outcome'])} – {page.council_name(m['council'])}",
            m["date"],
        )
        for m, d in decided[:15]
    ]
    return [
        {
            "title": "Senaste besluten" if sv else "Recent decisions",
            "items": items,
            "due_label": page.t("date"),
        }
    ]


# -- meetings ------------------------------------------------------------------------------


@router.get("/meetings")
def meetings(page: SignedIn, year: Year = None) -> Response:
    chosen = year or page.app.today().year
    found = page.projections().meetings(year=chosen)
    by_council: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in found:
        by_council[m["council"]].append(m)
    councils = [c for c in page.app.strategy.councils if c.id in by_council]
    return page.render(
        "meetings.html",
        year=chosen,
        councils=councils,
        by_council=by_council,
        today=page.app.today().isoformat(),
    )


def _meeting(page: Page, meeting_id: str) -> dict[str, Any] | None:
    council, when = meeting_id[:-11], meeting_id[-10:]
    try:
        day = date.fromisoformat(when)
    except ValueError:
        return None
    if not council or page.app.strategy.council(council) is None:
        return None
    for m in page.projections().meetings(council=council, year=day.year):
        if m["id"] == meeting_id:
            result: dict[str, Any] = m
            return result
    return None


@router.get("/meetings/{meeting_id}")
def meeting(page: SignedIn, meeting_id: str) -> Response:
    found = _meeting(page, meeting_id)
    if found is None:
        return error_page(page, 404, page.t("not_found"), meeting_id)
    agenda = []
    for item in found["agenda"]:
        view = actions.initiative(page.app, item["initiative_id"], page.actor)
        forms = [
            build_form(
                action=a,
                url=f"/initiatives/{view.id}/actions/{a}",
                title=action_label(a, page.lang),
                infos=actions.form_fields(a),
                strategy=page.app.strategy,
                lang=page.lang,
                today_year=page.app.today().year,
                expected_version=view.version,
            )
            for a in DECISION_ACTIONS
            if a in view.allowed_actions
        ]
        for form in forms:  # unique ids on a page with several initiatives
            for f in form.fields:
                f.id = f"{view.id[:8]}-{f.id}"
        agenda.append({"item": item, "view": view, "forms": forms})
    return page.render("meeting.html", m=found, agenda=agenda)


@router.get("/meetings/{meeting_id}/protokoll")
def protocol(page: SignedIn, meeting_id: str) -> Response:
    found = _meeting(page, meeting_id)
    if found is None:
        return error_page(page, 404, page.t("not_found"), meeting_id)
    return page.render("protocol.html", m=found)


# -- årshjulet ---------------------------------------------------------------------------


@router.get("/arshjul")
def arshjul(page: SignedIn, year: Year = None) -> Response:
    today = page.app.today()
    chosen = year or today.year
    wheel = svg.wheel(chosen, today, page.lang)
    rows: list[dict[str, Any]] = []
    held = {m["id"]: m for m in page.projections().meetings(year=chosen)}
    sv = page.lang == "sv"
    for m in actions.calendar_meetings(page.app, chosen):
        href = f"/meetings/{m.id}"
        label = f"{page.council_name(m.council)}"
        if getattr(m, "status", "planned") == "cancelled":  # once the calendar has them
            label += " (inställt)" if sv else " (cancelled)"
        found = held.get(m.id)
        if found and (found["agenda"] or found["decisions"]):
            decided, waiting = len(found["decisions"]), len(undecided(found))
            label += (
                f" ({decided} beslut, {waiting} på dagordningen)"
                if sv
                else f" ({decided} decisions, {waiting} on the agenda)"
            )
        svg.place(
            wheel,
            "meetings",
            m.date,
            label,
            href,
            svg.COUNCIL_COLOURS.get(m.council, svg.OTHER_COLOUR),
        )
        rows.append(
            {"date": m.date, "kind": page.t("meetings"), "what": label, "href": href, "id": m.id}
        )
    for event_id, name, when in actions.cycle_events(page.app, chosen):
        href = f"/arshjul?year={chosen}#{event_id}"
        svg.place(wheel, "events", when, name, href, svg.OTHER_COLOUR)
        rows.append({"date": when, "kind": "RUS", "what": name, "href": href, "id": event_id})
    due_text = "sista dag för lägesrapporter" if sv else "progress reports due"
    for n, p in enumerate(actions.reporting_periods(page.app, chosen)):
        href = f"/reports?year={chosen}#period-{p.id}"
        colour = ("#00695c", "#4527a0", "#ad1457")[n % 3]
        svg.add_arc(wheel, p.start, p.end, p.id, href, colour)
        rows.append(
            {
                "date": p.start,
                "kind": t_period(sv),
                "what": f"{p.name}",
                "href": href,
                "id": f"period-{p.id}",
            }
        )
        if p.due.year == chosen:
            svg.place(wheel, "due", p.due, f"{p.id}: {'sista dag' if sv else 'due'}", href, colour)
        rows.append(
            {
                "date": p.due,
                "kind": page.t("due"),
                "what": f"{p.id} ({due_text})",
                "href": href,
                "id": f"due-{p.id}",
            }
        )
    rows.sort(key=lambda r: r["date"])
    return page.render("arshjul.html", year=chosen, wheel=wheel, rows=rows, today=today)


def t_period(sv: bool) -> str:
    return "Rapportperiod" if sv else "Reporting period"


# -- reports -----------------------------------------------------------------------------


@router.get("/reports")
def reports(page: SignedIn, year: Year = None) -> Response:
    if not page.may_read("reports"):
        return error_page(page, 403, page.t("forbidden"), "reports")
    today = page.app.today()
    chosen = year or today.year
    views = page.projections()
    report = views.annual_cycle(chosen, today=today)
    periods = [p.id for p in actions.reporting_periods(page.app, chosen)]
    obligations = [o for o in views.obligations(today=today) if o["period"] in periods]
    per_actor: dict[str, Counter[str]] = defaultdict(Counter)
    for o in obligations:
        per_actor[o["actor"]][o["period"] + ":owed"] += 1
        if o["status"] == "submitted":
            per_actor[o["actor"]][o["period"] + ":sent"] += 1
    completeness: list[dict[str, Any]] = []
    for actor in sorted(per_actor, key=page.actor_name):
        counts = per_actor[actor]
        cells = []
        for p in periods:
            owed, sent = counts[p + ":owed"], counts[p + ":sent"]
            cells.append(
                {"period": p, "owed": owed, "sent": sent, "share": sent / owed if owed else None}
            )
        completeness.append({"actor": actor, "cells": cells})
    sv = page.lang == "sv"
    outcomes = list(OUTCOME_LABELS)
    decision_rows: list[tuple[str, float | None, str, str]] = []
    for g in page.app.strategy.goal_areas:
        decision_rows.append((g.name, None, "", ""))
        for outcome in outcomes:
            value = sum(r.get(outcome, 0) or 0 for r in report["rows"] if r["goal_area"] == g.id)
            decision_rows.append(
                (page.outcome(outcome), float(value), str(value), OUTCOME_COLOURS[outcome])
            )
    decisions_chart = svg.bar_chart(
        "Beslut per målområde och utfall" if sv else "Decisions per goal area and outcome",
        (
            "Antal beslut under året per målområde, uppdelat på bifall, avslag, bordläggning och"
            " återremiss. Samma siffror finns i tabellen nedan."
        )
        if sv
        else (
            "Decisions in the year per goal area and outcome; the same figures are in the table"
            " below."
        ),
        decision_rows,
        label_width=140,
        legend=[(page.outcome(o), OUTCOME_COLOURS[o]) for o in outcomes],
    )
    completeness_rows: list[tuple[str, float | None, str, str]] = []
    for row in completeness:
        completeness_rows.append((page.actor_name(row["actor"]), None, "", ""))
        for c in row["cells"]:
            if c["owed"]:
                share = c["sent"] / c["owed"]
                completeness_rows.append(
                    (
                        c["period"],
                        share,
                        f"{round(share * 100)} % ({c['sent']}/{c['owed']})",
                        "#1d4f91",
                    )
                )
    completeness_chart = svg.bar_chart(
        "Rapporteringsgrad per aktör och period"
        if sv
        else "Reporting completeness per actor and period",
        (
            "Andel inlämnade av skyldiga lägesrapporter per aktör och rapportperiod; samma"
            " siffror finns i tabellen nedan."
        )
        if sv
        else (
            "Share of owed progress reports submitted per actor and reporting period; the"
            " same figures are in the table below."
        ),
        completeness_rows,
        maximum=1.0,
        label_width=140,
    )
    late = [o for o in obligations if o["status"] == "overdue"]
    har = views.har_och_nu(today=today)
    return page.render(
        "reports.html",
        year=chosen,
        report=report,
        periods=periods,
        completeness=completeness,
        decisions_chart=decisions_chart,
        completeness_chart=completeness_chart,
        late=late,
        har=har,
        outcomes=outcomes,
    )


@router.get("/reports.csv")
def reports_csv(page: SignedIn, year: Year = None) -> Response:
    if not page.may_read("reports"):
        return error_page(page, 403, page.t("forbidden"), "reports")
    chosen = year or page.app.today().year
    report = page.projections().annual_cycle(chosen, today=page.app.today())
    rows = report["rows"]
    header = list(rows[0]) if rows else ["goal_area", "period"]
    body = write_csv(header, ([r.get(c) for c in header] for r in rows))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="arsrapport-{chosen}.csv"'},
    )


# -- lessons -------------------------------------------------------------------------------


@router.get("/lessons")
def lessons(
    page: SignedIn,
    q: Annotated[str | None, Query(max_length=200)] = None,
    goal_area: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    if not page.may_read("reports"):
        return error_page(page, 403, page.t("forbidden"), "lessons")
    try:
        items, total = page.projections().lessons(
            q=q or None, goal_area=goal_area or None, limit=100
        )
    except ValidationError as bad:
        return error_page(page, 422, page.t("problem"), f"{bad.field}: {bad.reason}")
    return page.render(
        "lessons.html", items=items, total=total, q=q or "", goal_area_id=goal_area or ""
    )
