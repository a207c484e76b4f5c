"""Replay (history as it stood, diffs between versions) and decision dossiers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from ruswf.app.audit.dossier import DecisionNotFoundError, build_dossier, render_html
from ruswf.app.audit.ledger import Ledger
from ruswf.app.audit.people import People
from ruswf.app.audit.replay import diff, history_as_of
from ruswf.app.service import RusApp
from ruswf.domain.commands import ActorRef, Propose, RecordPreparation, Reject, Schedule, Submit
from ruswf.domain.errors import ValidationError
from tests.audit.conftest import FIRST_MEETING, SECOND_MEETING, THIRD_MEETING


def test_diff_names_the_changed_fields_who_changed_them_and_why(app: RusApp, decided: str) -> None:
    found = diff(app, decided, 6, 7)
    assert found["fields"] == [
        {"field": "title", "from": "Branschanalys – besöksnäringen", "to": "Branschanalys 2.0"}
    ]
    [event] = found["events"]
    assert (event["version"], event["type"], event["why"]) == (7, "Revised", "Efter återremiss.")
    assert event["actor"] == {"user": "coord-1", "organisation": "sundsvall", "role": "coordinator"}
    assert event["changed"] == ["title"]


def test_diff_over_many_versions_lists_every_event_between(app: RusApp, decided: str) -> None:
    found = diff(app, decided, 1, 10)
    fields = {c["field"] for c in found["fields"]}
    assert {"state", "title", "preparation", "approval_period"} <= fields
    assert [e["version"] for e in found["events"]] == list(range(2, 11))
    deferred = found["events"][3]
    assert (deferred["type"], deferred["why"]) == ("Deferred", "Underlaget saknar budget.")
    assert "agenda" in deferred["changed"]


def test_diff_of_a_version_with_itself_is_empty_and_backwards_is_refused(
    app: RusApp, decided: str
) -> None:
    assert diff(app, decided, 4, 4)["fields"] == []
    with pytest.raises(ValidationError) as raised:
        diff(app, decided, 5, 4)
    assert raised.value.field == "to"


def test_history_as_of_a_moment_stops_at_the_version_of_that_moment(
    app: RusApp, decided: str
) -> None:
    third = app.history(decided)[2]
    view, events = history_as_of(app, decided, as_of=datetime.fromisoformat(third.recorded_at))
    assert view["version"] == 3
    assert [e.version for e in events] == [1, 2, 3]


def test_cli_history_and_diff(run: Callable[..., Any], decided: str) -> None:
    shown = run("audit", "history", decided, "--version", "5")
    assert shown.exit_code == 0, shown.output
    assert "version 5 · decision" in shown.stdout
    assert "Deferred" in shown.stdout
    assert "Revised" not in shown.stdout
    changed = run("audit", "diff", decided, "6", "7")
    assert changed.exit_code == 0, changed.output
    assert 'title: "Branschanalys – besöksnäringen" → "Branschanalys 2.0"' in changed.stdout
    assert "why: Efter återremiss." in changed.stdout
    unknown = run("audit", "diff", "not-an-id", "1", "2")
    assert unknown.exit_code == 1
    assert "no initiative" in unknown.stderr


def test_dossier_holds_the_initiative_as_it_stood_at_the_decision(
    app: RusApp, decided: str
) -> None:
    dossier = build_dossier(app, decided, 3, ledger=Ledger(app), people=People(app))
    assert dossier["decision"]["outcome"] == "approved"
    assert dossier["decision"]["text"] == "RSR ställer sig bakom insatsen."
    assert dossier["initiative"]["title"] == "Branschanalys 2.0"
    assert dossier["initiative"]["version"] == 9
    assert dossier["preparation"]["data"]["memo"] == "PM: andra beredningen."
    assert len(dossier["preparations"]) == 2
    assert [d["outcome"] for d in dossier["earlier_decisions"]] == ["deferred", "referred_back"]
    assert dossier["meeting"]["date"] == THIRD_MEETING
    assert dossier["meeting"]["council_name"].startswith("Regionala")
    assert len(dossier["history"]) == 10


def test_an_earlier_dossier_is_not_changed_by_what_came_after(app: RusApp, decided: str) -> None:
    dossier = build_dossier(app, decided, 1, ledger=Ledger(app), people=People(app))
    assert dossier["decision"]["outcome"] == "deferred"
    assert dossier["decision"]["next_meeting_date"] == SECOND_MEETING
    assert dossier["meeting"]["date"] == FIRST_MEETING
    assert dossier["initiative"]["title"] == "Branschanalys – besöksnäringen"
    assert dossier["preparation"]["data"]["memo"] == "PM: första beredningen."
    assert dossier["earlier_decisions"] == []


def test_dossier_carries_the_decision_events_seal_once_sealed(app: RusApp, decided: str) -> None:
    ledger = Ledger(app)
    assert build_dossier(app, decided, 3, ledger=ledger, people=People(app))["seal"] == {
        "sealed": False
    }
    ledger.seal()
    seal = build_dossier(app, decided, 3, ledger=ledger, people=People(app))["seal"]
    row = ledger.chain(decided)[-1]
    assert (seal["position"], seal["chain_hash"]) == (row.position, row.chain_hash)


def test_a_decision_the_initiative_never_had_is_not_found(app: RusApp, decided: str) -> None:
    with pytest.raises(DecisionNotFoundError, match="has no decision 4"):
        build_dossier(app, decided, 4, ledger=Ledger(app), people=People(app))


def test_printable_dossier_escapes_user_text(
    app: RusApp,
    coordinator: ActorRef,
    preparer: ActorRef,
    secretary: ActorRef,
    content: dict[str, Any],
) -> None:
    hostile = '<script>alert("x")</script>'
    initiative = app.propose(Propose(**{**content, "title": hostile}), coordinator).id
    app.execute(initiative, Submit(), coordinator)
    app.execute(
        initiative, RecordPreparation(memo=f"PM {hostile}", recommendation="reject"), preparer
    )
    app.execute(initiative, Schedule(council="rsr", meeting_date=FIRST_MEETING), preparer)
    app.execute(initiative, Reject(reason=f"Nej & {hostile}"), secretary)
    page = render_html(build_dossier(app, initiative, 1, ledger=Ledger(app), people=People(app)))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "Nej &amp; &lt;script&gt;" in page
    assert "Avslag" in page
