"""The iCalendar feeds: RFC 5545 as two independent parsers read it, stable UIDs,
SEQUENCE and STATUS for adjustments, a VTIMEZONE equal to zoneinfo's, and secret
subscription URLs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from fastapi.testclient import TestClient

from ruswf.app.service import RusApp
from ruswf.app.store.sql import SqlStore
from ruswf.domain.commands import Approve, Propose, RecordPreparation, Schedule, Submit
from tests.calendar.conftest import MEETING, actor

Auth = Callable[[str], dict[str, str]]
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def feed(client: TestClient, auth: Auth, query: str = "", who: str = "reporter") -> bytes:
    response = client.get(f"/api/v1/calendar.ics{query}", headers=auth(who))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return response.content


def events(body: bytes) -> dict[str, icalendar.Event]:
    parsed = icalendar.Calendar.from_ical(body)
    found = {}
    for event in parsed.walk("VEVENT"):
        uid = str(event["UID"])
        assert uid not in found, f"duplicate UID {uid}"
        found[uid] = event
    return found


def test_the_feed_parses_with_icalendar_and_vobject(client: TestClient, auth: Auth) -> None:
    body = feed(client, auth)
    first = icalendar.Calendar.from_ical(body)
    second = vobject.readOne(body.decode())
    assert len(first.walk("VEVENT")) == len(second.vevent_list) > 100
    assert str(first["METHOD"]) == "PUBLISH"
    assert str(first["VERSION"]) == "2.0"
    assert "X-WR-CALNAME" in first
    assert str(first["REFRESH-INTERVAL"].to_ical().decode()) == "PT1H"
    assert str(first["X-PUBLISHED-TTL"]) == "PT1H"
    for event in first.walk("VEVENT"):
        assert "DTSTAMP" in event
        assert "UID" in event


def test_the_feed_holds_every_meeting_event_and_deadline_of_the_cycle(
    client: TestClient, auth: Auth, app: RusApp
) -> None:
    found = events(feed(client, auth))
    years = list(app.strategy.cycle_years(app.today()))
    assert len(years) >= 4
    for year in years:
        for meeting in app.strategy.meetings(year):
            assert f"{meeting.id}@rus2030.ruswf" in found
        for event, _ in app.strategy.cycle_event_dates(year):
            assert f"{event.id}-{year}@rus2030.ruswf" in found
        for period in app.strategy.reporting_periods(year):
            assert f"deadline-{period.id}@rus2030.ruswf" in found


def test_meetings_are_timed_in_stockholm_and_deadlines_all_day(
    client: TestClient, auth: Auth
) -> None:
    found = events(feed(client, auth))
    meeting = found[f"{MEETING}@rus2030.ruswf"]
    assert meeting["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert meeting.decoded("DTSTART") == datetime(2026, 2, 19, 9, 0, tzinfo=STOCKHOLM)
    assert meeting.decoded("DTEND") == datetime(2026, 2, 19, 12, 0, tzinfo=STOCKHOLM)
    deadline = found["deadline-2026-T1@rus2030.ruswf"]
    assert deadline.decoded("DTSTART") == date(2026, 6, 1)
    assert found["rus_day-2026@rus2030.ruswf"].decoded("DTSTART") == date(2026, 5, 20)


def test_vobject_reads_the_same_instants_as_zoneinfo(client: TestClient, auth: Auth) -> None:
    """The second parser builds its own time zone from the VTIMEZONE: summer and winter
    meetings must land on the instants zoneinfo gives."""
    parsed = vobject.readOne(feed(client, auth).decode())
    checked = 0
    for event in parsed.vevent_list:
        start = event.dtstart.value
        if isinstance(start, datetime):
            local = start.replace(tzinfo=None)
            assert start.astimezone(UTC) == local.replace(tzinfo=STOCKHOLM).astimezone(UTC)
            checked += 1
    assert checked >= 4 * 20  # four years of council meetings


def zoneinfo_transitions(year: int) -> list[tuple[datetime, timedelta]]:
    """Every change of Stockholm's UTC offset in `year` (instant, new offset), found by
    stepping through the year hour by hour."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        after = moment + timedelta(hours=1)
        before_offset, after_offset = (
            moment.astimezone(STOCKHOLM).utcoffset(),
            after.astimezone(STOCKHOLM).utcoffset(),
        )
        if before_offset != after_offset:
            assert after_offset is not None
            found.append((after, after_offset))
        moment = after
    return found


def test_the_vtimezone_transitions_equal_zoneinfos_for_every_year(
    client: TestClient, auth: Auth, app: RusApp
) -> None:
    parsed = icalendar.Calendar.from_ical(feed(client, auth))
    (vtimezone,) = parsed.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Stockholm"
    observed = []
    for observance in vtimezone.subcomponents:
        offset_from = observance["TZOFFSETFROM"].td
        offset_to = observance["TZOFFSETTO"].td
        local_start = observance.decoded("DTSTART")
        instant = (local_start - offset_from).replace(tzinfo=UTC)
        if offset_from != offset_to:
            observed.append((instant, offset_to))
            kind = "DAYLIGHT" if offset_to > offset_from else "STANDARD"
            assert observance.name == kind
    years = list(app.strategy.cycle_years(app.today()))
    expected = [t for year in years for t in zoneinfo_transitions(year)]
    assert len(expected) == 2 * len(years)
    assert observed == expected


def test_uids_are_stable_across_requests(client: TestClient, auth: Auth) -> None:
    assert set(events(feed(client, auth))) == set(events(feed(client, auth, who="admin")))


def test_a_move_keeps_the_uid_changes_dtstart_and_raises_sequence(
    client: TestClient, auth: Auth
) -> None:
    before = events(feed(client, auth))
    uid = f"{MEETING}@rus2030.ruswf"
    assert before[uid]["SEQUENCE"] == 0
    client.post(
        f"/api/v1/meetings/{MEETING}/actions/move",
        json={"date": "2026-02-26", "reason": "Sportlov"},
        headers=auth("admin"),
    )
    after = events(feed(client, auth))
    assert set(after) == set(before)
    assert after[uid]["SEQUENCE"] == 1
    assert after[uid].decoded("DTSTART") == datetime(2026, 2, 26, 9, 0, tzinfo=STOCKHOLM)
    assert str(after[uid]["STATUS"]) == "CONFIRMED"


def test_a_cancellation_is_status_cancelled_not_a_missing_event(
    client: TestClient, auth: Auth
) -> None:
    client.post(
        f"/api/v1/meetings/{MEETING}/actions/cancel",
        json={"reason": "Inga ärenden"},
        headers=auth("admin"),
    )
    event = events(feed(client, auth))[f"{MEETING}@rus2030.ruswf"]
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1


def test_a_council_feed_holds_only_that_councils_meetings(client: TestClient, auth: Auth) -> None:
    found = events(feed(client, auth, "?council=ssr"))
    councils = {uid.split("-")[0] for uid in found if uid[:4] in ("rsr-", "ssr-", "stra")}
    assert councils == {"ssr"}
    assert "rus_day-2026@rus2030.ruswf" in found


def test_an_organisations_feed_names_its_initiatives_at_its_deadlines(
    client: TestClient, auth: Auth, app: RusApp, content: dict[str, Any]
) -> None:
    initiative = app.propose(Propose(**content), actor("coordinator")).id
    app.execute(initiative, Submit(), actor("coordinator"))
    app.execute(
        initiative, RecordPreparation(memo="PM", recommendation="approve"), actor("preparer")
    )
    app.execute(initiative, Schedule(council="rsr", meeting_date="2026-02-19"), actor("preparer"))
    app.execute(initiative, Approve(decision_text="Godkänd."), actor("secretary"))
    found = events(feed(client, auth, "?organisation=sundsvall", who="coordinator"))
    deadline = found["deadline-2026-T1-sundsvall@rus2030.ruswf"]
    assert content["title"] in str(deadline["DESCRIPTION"])
    assert "deadline-2025-T3-sundsvall@rus2030.ruswf" not in found  # before the approval
    assert not events(feed(client, auth, "?organisation=kramfors")).keys() & {
        "deadline-2026-T1-kramfors@rus2030.ruswf"
    }


def test_an_unknown_filter_is_422_naming_it(client: TestClient, auth: Auth) -> None:
    response = client.get("/api/v1/calendar.ics?organisation=nowhere", headers=auth("reporter"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "organisation"


def test_the_feed_needs_a_bearer_token(client: TestClient) -> None:
    assert client.get("/api/v1/calendar.ics").status_code == 401


def subscribe(client: TestClient, auth: Auth, body: dict[str, str] | None = None) -> Any:
    response = client.post("/api/v1/calendar/feeds", json=body or {}, headers=auth("coordinator"))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_subscription_url_works_without_a_bearer_token(client: TestClient, auth: Auth) -> None:
    created = subscribe(client, auth, {"council": "rsr"})
    response = client.get(urlparse(created["url"]).path)
    assert response.status_code == 200
    found = events(response.content)
    assert f"{MEETING}@rus2030.ruswf" in found
    assert not any(uid.startswith("ssr-") for uid in found)


def test_a_revoked_subscription_url_answers_404(client: TestClient, auth: Auth) -> None:
    created = subscribe(client, auth)
    path = urlparse(created["url"]).path
    revoked = client.delete(f"/api/v1/calendar/feeds/{created['id']}", headers=auth("coordinator"))
    assert revoked.status_code == 204
    assert client.get(path).status_code == 404
    assert (
        client.delete(
            f"/api/v1/calendar/feeds/{created['id']}", headers=auth("coordinator")
        ).status_code
        == 404
    )


def test_a_wrong_secret_answers_404(client: TestClient, auth: Auth) -> None:
    created = subscribe(client, auth)
    path = urlparse(created["url"]).path
    assert client.get(path[:-8] + "AAAA.ics").status_code == 404


def test_only_the_creator_or_an_admin_revokes_a_feed(client: TestClient, auth: Auth) -> None:
    created = subscribe(client, auth)
    url = f"/api/v1/calendar/feeds/{created['id']}"
    assert client.delete(url, headers=auth("reporter")).status_code == 403
    assert client.delete(url, headers=auth("admin")).status_code == 204


def test_only_a_hash_of_the_feed_secret_is_stored(
    client: TestClient, auth: Auth, app: RusApp
) -> None:
    created = subscribe(client, auth)
    secret = urlparse(created["url"]).path.rsplit("/", 1)[1].removesuffix(".ics")
    with SqlStore(app).read() as tx:
        rows = tx.execute("SELECT * FROM {ruswf_calendar_feeds}")
    assert len(rows) == 1
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(rows)


@pytest.mark.parametrize("feed_id", ["nope", "0123456789abcdeg", "%00"])
def test_a_malformed_feed_id_is_404(client: TestClient, auth: Auth, feed_id: str) -> None:
    response = client.delete(f"/api/v1/calendar/feeds/{feed_id}", headers=auth("admin"))
    assert response.status_code == 404


def test_a_user_lists_their_own_feeds_without_secrets(client: TestClient, auth: Auth) -> None:
    mine = subscribe(client, auth, {"organisation": "sundsvall"})
    others = client.post("/api/v1/calendar/feeds", json={}, headers=auth("reporter")).json()
    listed = client.get("/api/v1/calendar/feeds", headers=auth("coordinator")).json()
    assert [f["id"] for f in listed["items"]] == [mine["id"]]
    assert listed["items"][0]["feed_organisation"] == "sundsvall"
    assert "secret" not in repr(listed).lower()
    everyone = client.get("/api/v1/calendar/feeds", headers=auth("admin")).json()
    assert {f["id"] for f in everyone["items"]} == {mine["id"], others["id"]}
