"""Swedish first, English on request: the UI's words, and dates as people read them
(Swedish format, Europe/Stockholm)."""

from __future__ import annotations

from ruswf.app.labels import ROLE_LABELS, ZONE, format_date, format_time, label

__all__ = ["LANGS", "LANG_COOKIE", "ZONE", "format_date", "format_time", "role_label", "t"]

LANGS = ("sv", "en")
LANG_COOKIE = "ruswf_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "app_name": ("RUS-ärenden", "RUS initiatives"),
    "skip": ("Hoppa till innehållet", "Skip to content"),
    "nav": ("Huvudmeny", "Main menu"),
    "todo": ("Att göra", "To do"),
    "board": ("Insatser", "Initiatives"),
    "new": ("Ny insats", "New initiative"),
    "meetings": ("Möten", "Meetings"),
    "arshjul": ("Årshjul", "Annual cycle"),
    "reports": ("Rapporter", "Reports"),
    "lessons": ("Lärdomar", "Lessons learned"),
    "a11y": ("Tillgänglighet", "Accessibility"),
    "logout": ("Logga ut", "Sign out"),
    "login": ("Logga in", "Sign in"),
    "token": ("Inloggningsnyckel", "Access token"),
    "token_hint": (
        "Klistra in nyckeln (token) du fått, den börjar med ruswf_.",
        "Paste the token you were given; it starts with ruswf_.",
    ),
    "token_invalid": (
        "Nyckeln är ogiltig eller återkallad",
        "The token is invalid or revoked",
    ),
    "too_many": (
        "För många misslyckade inloggningar; försök igen om {seconds} sekunder",
        "Too many failed sign-ins; try again in {seconds} seconds",
    ),
    "signed_in_as": ("Inloggad som", "Signed in as"),
    "problem": ("Det finns ett problem", "There is a problem"),
    "error_prefix": ("Fel: ", "Error: "),
    "optional": ("(valfritt)", "(optional)"),
    "nothing_to_do": ("Inget att göra just nu", "Nothing to do right now"),
    "updating": (
        "Uppdateras… sidan visar kanske inte de allra senaste ändringarna än.",
        "Updating… this page may not show the very latest changes yet.",
    ),
    "language": ("In English", "På svenska"),
    "state": ("Status", "State"),
    "next_step": ("Nästa steg", "Next step"),
    "owner": ("Ansvarig", "Owner"),
    "history": ("Historik", "History"),
    "obligations": ("Rapporteringsskyldigheter", "Reporting obligations"),
    "actions": ("Det här kan du göra nu", "What you can do now"),
    "no_actions": (
        "Du kan inte göra något med insatsen just nu.",
        "You cannot act on this initiative right now.",
    ),
    "as_of": ("Visa som den var", "Show as it was"),
    "version": ("Version", "Version"),
    "moment": ("Tidpunkt", "Moment"),
    "show": ("Visa", "Show"),
    "filter": ("Filtrera", "Filter"),
    "search": ("Sök", "Search"),
    "all": ("Alla", "All"),
    "table_view": ("Tabell", "Table"),
    "board_view": ("Tavla", "Board"),
    "download_csv": ("Ladda ned som CSV", "Download as CSV"),
    "due": ("Förfaller", "Due"),
    "overdue": ("Försenad", "Overdue"),
    "submitted": ("Inlämnad", "Submitted"),
    "period": ("Period", "Period"),
    "goal_area": ("Målområde", "Goal area"),
    "lead_actor": ("Ansvarig aktör", "Lead actor"),
    "council": ("Råd", "Council"),
    "title": ("Titel", "Title"),
    "changed": ("Senast ändrad", "Last changed"),
    "count": ("Antal", "Count"),
    "agenda": ("Dagordning", "Agenda"),
    "decisions": ("Beslut", "Decisions"),
    "no_decisions": ("Inga beslut registrerade.", "No decisions recorded."),
    "protocol": ("Protokoll", "Minutes"),
    "print": ("Skriv ut", "Print"),
    "date": ("Datum", "Date"),
    "what": ("Vad", "What"),
    "kind": ("Slag", "Kind"),
    "today": ("I dag", "Today"),
    "year": ("År", "Year"),
    "dossier": ("Beslutsunderlag", "Decision dossier"),
    "empty": ("Inga", "None"),
    "forbidden": ("Du saknar behörighet", "You are not allowed to do this"),
    "conflict": ("Det gick inte att genomföra", "This could not be done"),
    "not_found": ("Sidan finns inte", "Page not found"),
    "back": ("Tillbaka till insatsen", "Back to the initiative"),
}


def t(key: str, lang: str) -> str:
    """The UI text `key` in `lang`."""
    return label(MESSAGES, key, lang)


def role_label(role: str, lang: str) -> str:
    return label(ROLE_LABELS, role, lang)
