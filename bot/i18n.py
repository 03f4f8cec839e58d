"""Per-language formatting and the few labels actions need (the rest is in domain.yml)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "ar": "العربية"}
SUPPORTED_LANGUAGES = ("en",)

CATEGORY_LABELS = {
    "en": {
        "waste": "Waste and dumping",
        "safety": "Safety",
        "lighting": "Street lighting",
        "roads": "Roads and pavements",
        "green_spaces": "Parks and green spaces",
        "water": "Water and drains",
    },
}

STATUS_LABELS = {
    "en": {
        "new": "received",
        "verified": "checked by staff",
        "in_progress": "being worked on",
        "resolved": "fixed",
        "rejected": "not taken up",
        "duplicate": "already reported",
    },
}


def _catalogue(table: dict[str, dict[str, str]], language: str) -> dict[str, str]:
    return table.get(language) or table["en"]


def category_label(category: str | None, language: str = "en") -> str:
    return _catalogue(CATEGORY_LABELS, language).get(category or "", category or "")


def status_label(status: str, language: str = "en") -> str:
    return _catalogue(STATUS_LABELS, language).get(status, status)


def format_when(moment: datetime | None, language: str = "en", tz: str = "UTC") -> str:
    """A local date and time in the citizen's language ("Fri 4 Dec, 20:00")."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment, "EEE d MMM, HH:mm", tzinfo=ZoneInfo(tz), locale=language)
