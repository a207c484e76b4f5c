"""Words for people: one mapping of event types and actions to Swedish and English
labels, used by the web UI's timeline and the decision dossier."""

from __future__ import annotations

import functools
from datetime import date, datetime
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Stockholm")
"""Times are shown in Swedish time."""

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "Proposed": ("Förslag registrerat", "Proposed"),
    "Submitted": ("Skickat till beredning", "Submitted for preparation"),
    "Revised": ("Ändrat", "Revised"),
    "ReturnedForRevision": ("Återsänt för komplettering", "Returned for revision"),
    "PreparationRecorded": ("Beredning registrerad", "Preparation recorded"),
    "Scheduled": ("Uppsatt på dagordning", "Scheduled for a council meeting"),
    "Approved": ("Bifall", "Approved"),
    "Rejected": ("Avslag", "Rejected"),
    "Deferred": ("Bordlagt", "Deferred"),
    "ReferredBack": ("Återremitterat", "Referred back"),
    "ProgressReported": ("Lägesrapport inlämnad", "Progress reported"),
    "Closed": ("Avslutat med slutrapport", "Closed with a final report"),
    "Withdrawn": ("Återtaget", "Withdrawn"),
}
"""Each event `type` (as in `/history`) → (Swedish, English)."""

ACTION_LABELS: dict[str, tuple[str, str]] = {
    "propose": ("Föreslå en insats", "Propose an initiative"),
    "submit": ("Skicka till beredning", "Submit for preparation"),
    "revise": ("Ändra innehållet", "Revise the content"),
    "return_for_revision": ("Återsänd för komplettering", "Return for revision"),
    "record_preparation": ("Registrera beredning", "Record the preparation"),
    "schedule": ("Sätt upp på dagordning", "Schedule for a council meeting"),
    "approve": ("Bifall", "Approve"),
    "reject": ("Avslå", "Reject"),
    "defer": ("Bordlägg", "Defer"),
    "refer_back": ("Återremittera", "Refer back"),
    "report_progress": ("Lämna lägesrapport", "Report progress"),
    "close": ("Avsluta med slutrapport", "Close with a final report"),
    "withdraw": ("Återta insatsen", "Withdraw the initiative"),
}
"""Each action (and `propose`) → (Swedish, English), as a heading or button text."""

ROLE_LABELS: dict[str, tuple[str, str]] = {
    "coordinator": ("samordnare", "coordinator"),
    "preparer": ("beredare", "preparer"),
    "secretary": ("sekreterare", "secretary"),
    "auditor": ("granskare", "auditor"),
    "reporter": ("rapportläsare", "reporter"),
    "admin": ("administratör", "administrator"),
}

MONTHS_SV = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def label(table: dict[str, tuple[str, str]], key: str, lang: str = "sv") -> str:
    """The label of `key` in `lang` (the key itself when the table has none)."""
    found = table.get(key)
    if found is None:
        return key
    return found[1] if lang == "en" else found[0]


def event_label(event_type: str, lang: str = "sv") -> str:
    return label(EVENT_LABELS, event_type, lang)


def action_label(action: str, lang: str = "sv") -> str:
    return label(ACTION_LABELS, action, lang)


# Both formatters are pure: a page shows the same dates and times again and again
# (every event of a history, every reporting period), so their words are kept.
@functools.lru_cache(maxsize=16384)
def format_date(value: date | str | None, lang: str = "sv") -> str:
    """'1 december 2026' (or 'December 1, 2026' in English)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        day = value.astimezone(ZONE).date() if value.tzinfo else value.date()
    else:
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if lang == "en":
        return f"{MONTHS_EN[day.month - 1]} {day.day}, {day.year}"
    return f"{day.day} {MONTHS_SV[day.month - 1]} {day.year}"


@functools.lru_cache(maxsize=16384)
def format_time(value: datetime | str | None, lang: str = "sv") -> str:
    """'1 december 2026 19:16' in Europe/Stockholm."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    local = moment.astimezone(ZONE)
    return f"{format_date(local.date(), lang)} {local:%H:%M}"
