"""Swedish first, English on request: the UI's words, and dates as people read them
(Swedish format, Europe/Stockholm)."""

from __future__ import annotations

from ruswf.app.labels import (
    CATALOGUE,
    ROLE_LABELS,
    ZONE,
    format_date,
    format_time,
    label,
    pairs,
)

__all__ = ["LANGS", "LANG_COOKIE", "ZONE", "format_date", "format_time", "role_label", "t"]

LANGS = ("sv", "en")
LANG_COOKIE = "ruswf_lang"

MESSAGES = pairs(CATALOGUE["ui"])
"""The UI's texts by key → (Swedish, English), from the catalogue (`labels.toml`)."""


def t(key: str, lang: str) -> str:
    """The UI text `key` in `lang`."""
    return label(MESSAGES, key, lang)


def role_label(role: str, lang: str) -> str:
    return label(ROLE_LABELS, role, lang)
