"""The annual cycle as iCalendar (RFC 5545), with the maintained `icalendar` library.

Council meetings are timed events in the strategy's time zone (`TZID`, with a
VTIMEZONE written here from `zoneinfo`'s own transitions: `icalendar`'s
`add_missing_timezones` writes Europe/Stockholm's daylight-saving onset an hour late).
RUS-dagen, "Här och nu" and reporting deadlines are all-day events. Every VEVENT's
`UID` is stable (a meeting's is its id); a move changes `DTSTART` and raises
`SEQUENCE`; a cancellation is `STATUS:CANCELLED`, never a missing event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from ruswf.app.authorization import ROLE_READS, Role
from ruswf.domain.calendar import MeetingCalendar
from ruswf.domain.errors import ValidationError
from ruswf.domain.strategy import Meeting, ReportingPeriod, Strategy

if TYPE_CHECKING:
    from ruswf.app.service import RusApp

FollowedUp = Sequence[tuple[str, date, date | None]]
"""An organisation's approved initiatives: (title, approval period's start, closing
period's start or None); the read models know them (`Projections.followed_up`)."""

PRODID = "-//ruswf//Årshjul//SV"
REFRESH = timedelta(hours=1)


@dataclass(frozen=True)
class Deadline:
    """A reporting deadline; with `organisation`, that organisation's own, naming the
    initiatives that owe the report."""

    period: ReportingPeriod
    organisation: str | None = None
    initiatives: tuple[str, ...] = ()


def uid(strategy: Strategy, key: str) -> str:
    """A UID that is the same in every feed and every request."""
    return f"{key}@{strategy.id}.ruswf"


def build_feed(
    strategy: Strategy,
    calendar: MeetingCalendar,
    years: Iterable[int],
    *,
    name: str,
    council: str | None = None,
    deadlines: Sequence[Deadline] = (),
    include_meetings: bool = True,
    now: datetime | None = None,
) -> bytes:
    """The VCALENDAR of `years`: council meetings (of `council`, or all), RUS-dagen and
    "Här och nu" of each year, and `deadlines`."""
    years = sorted(set(years))
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    zone = ZoneInfo(strategy.timezone)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", strategy.timezone)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")  # the same duration, as calendar programs expect it
    if years:
        cal.add_component(vtimezone(strategy.timezone, years[0], years[-1]))
    for year in years:
        if include_meetings:
            for meeting in calendar.meetings(year, council):
                cal.add_component(_meeting_event(strategy, meeting, zone, stamp))
        for cycle_event, day in strategy.cycle_event_dates(year):
            event = _all_day(uid(strategy, f"{cycle_event.id}-{year}"), cycle_event.name, day)
            event.add("dtstamp", stamp)
            event.add("categories", ["årshjul"])
            cal.add_component(event)
    for deadline in deadlines:
        cal.add_component(_deadline_event(strategy, deadline, stamp))
    data: bytes = cal.to_ical()
    return data


def feed_for(
    app: RusApp,
    role: str,
    council: str | None,
    organisation: str | None,
    followed_up: Callable[[str], FollowedUp],
) -> bytes:
    """The annual cycle's feed for a reader in `role` (what that role may read): every
    year the cycle covers, `council`'s meetings (or all), and every reporting deadline
    or, with `organisation`, that organisation's own deadlines naming its initiatives."""
    strategy = app.strategy
    if council is not None and strategy.council(council) is None:
        known = ", ".join(c.id for c in strategy.councils)
        raise ValidationError("council", f"unknown council {council!r} (known: {known})")
    if organisation is not None and strategy.actor(organisation) is None:
        raise ValidationError("organisation", f"unknown organisation {organisation!r}")
    try:
        reads = ROLE_READS[Role(role)]
    except ValueError:
        reads = frozenset()
    years = strategy.cycle_years(app.today())
    chosen: list[Deadline] = []
    if "reports" in reads:
        chosen = (
            deadlines(strategy, years)
            if organisation is None
            else organisation_deadlines(strategy, years, organisation, followed_up(organisation))
        )
    name = f"{strategy.name.split(' — ')[0]} årshjul"
    for part in (council, organisation):
        if part is not None:
            name += f" — {part}"
    return build_feed(
        strategy,
        app.calendar,
        years,
        name=name,
        council=council,
        deadlines=chosen,
        include_meetings="meetings" in reads,
    )


def deadlines(strategy: Strategy, years: Iterable[int]) -> list[Deadline]:
    """Every reporting deadline of `years` (periods ending in them)."""
    return [Deadline(p) for year in sorted(set(years)) for p in strategy.reporting_periods(year)]


def organisation_deadlines(
    strategy: Strategy,
    years: Iterable[int],
    organisation: str,
    followed_up: Sequence[tuple[str, date, date | None]],
) -> list[Deadline]:
    """The deadlines `organisation` owes a report for: `followed_up` lists its approved
    initiatives as (title, start of the approval's period, start of the closing period
    or None); one is owed each period from approval until the period it was closed in."""
    found = []
    for deadline in deadlines(strategy, years):
        start = deadline.period.start
        titles = tuple(
            sorted(
                title
                for title, first, closing in followed_up
                if first <= start and (closing is None or start < closing)
            )
        )
        if titles:
            found.append(Deadline(deadline.period, organisation, titles))
    return found


def vtimezone(zone_name: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE with one observance per transition `zoneinfo` has in the years (and
    the offset in force at their start), no recurrence rules to get wrong."""
    zone = ZoneInfo(zone_name)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    tz = Timezone()
    tz.add("tzid", zone_name)
    initial = start.astimezone(zone)
    tz.add_component(_observance(initial, initial, initial))
    for moment in transitions(zone, start, end):
        before = (moment - timedelta(seconds=1)).astimezone(zone)
        tz.add_component(_observance(before, moment.astimezone(zone), moment))
    return tz


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants (UTC) in [start, end) at which `zone`'s UTC offset changes."""
    found = []
    step = timedelta(hours=6)
    moment = start
    while moment < end:
        later = min(moment + step, end)
        if moment.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
        moment = later
    return found


def _observance(
    before: datetime, after: datetime, at: datetime
) -> TimezoneStandard | TimezoneDaylight:
    observance = TimezoneDaylight() if after.dst() else TimezoneStandard()
    offset_from, offset_to = before.utcoffset(), after.utcoffset()
    assert offset_from is not None
    assert offset_to is not None
    # DTSTART is the local time, in the offset before the change, at which it happens.
    observance.add("dtstart", (at.astimezone(UTC) + offset_from).replace(tzinfo=None))
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    observance.add("tzname", after.tzname() or "")
    return observance


def _meeting_event(strategy: Strategy, meeting: Meeting, zone: ZoneInfo, stamp: datetime) -> Event:
    council = strategy.council(meeting.council)
    title = council.name if council else meeting.council
    event = Event()
    event.add("uid", uid(strategy, meeting.id))
    event.add("dtstamp", stamp)
    event.add("dtstart", datetime.combine(meeting.date, meeting.start, zone))
    event.add("dtend", datetime.combine(meeting.date, meeting.end, zone))
    event.add("sequence", meeting.sequence)
    event.add("summary", f"{title} ({meeting.format})" if meeting.format else title)
    event.add("status", "CANCELLED" if meeting.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    lines = [f"Möte {meeting.id}"]
    if meeting.moved_from is not None:
        lines.append(f"Flyttat från {meeting.moved_from.isoformat()}")
    if meeting.cancelled:
        lines.append("Inställt")
    event.add("description", "\n".join(lines))
    event.add("categories", [meeting.council])
    return event


def _all_day(key: str, summary: str, day: date) -> Event:
    event = Event()
    event.add("uid", key)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("transp", "TRANSPARENT")
    return event


def _deadline_event(strategy: Strategy, deadline: Deadline, stamp: datetime) -> Event:
    period = deadline.period
    key = f"deadline-{period.id}" + (f"-{deadline.organisation}" if deadline.organisation else "")
    summary = f"Sista dag för lägesrapport {period.id} ({period.name})"
    event = _all_day(uid(strategy, key), summary, period.due)
    event.add("dtstamp", stamp)
    event.add("categories", ["rapportering"])
    if deadline.initiatives:
        actor = strategy.actor(deadline.organisation or "")
        who = actor.name if actor else deadline.organisation
        event.add(
            "description",
            f"{who} rapporterar för:\n" + "\n".join(f"- {t}" for t in deadline.initiatives),
        )
    return event
