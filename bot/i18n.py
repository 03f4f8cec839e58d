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


CHANNEL_TEXTS = {
    "en": {
        "unavailable": "The assistant is temporarily unavailable. Your message is saved and I'll answer as soon as I can.",
        "failed": "Sorry, I couldn't handle that message. Please try again in a different way, or tap /help.",
        "expired": "That option has expired. Here is what you can do now:",
        "already_chosen": "You already chose this.",
        "unsupported": "Sorry, I can't read voice messages, videos or stickers yet. Please write to me, or send a photo or your location.",
        "too_big": "That file is too big. Please send a photo under {megabytes} MB.",
        "slow_down": "You're sending messages very fast. I'll read them all, just a little more slowly.",
        "group_hint": "Let's talk in private: tap the button below.",
        "open_chat": "Open Coprod",
        "chosen": "✓ {title}",
        "commands.start": "Start",
        "commands.help": "What I can do",
        "commands.tasks": "Tasks you can join",
        "commands.report": "Report a problem",
        "commands.mytasks": "My tasks",
        "commands.myreports": "My reports",
        "commands.stop": "Stop notifications",
        "commands.language": "Change language",
        "commands.deleteme": "Erase my data",
    },
}


NOTICE_TEXTS = {
    "en": {
        "reminder": "⏰ Reminder: {title}\n🗓 {when}\n📍 {place}\n\nWill you be there?",
        "feedback_prompt": "Thank you for signing up for {title} ({when}). Did you take part?",
        "report_resolved": "✅ Good news: your report {reference} ({category}) has been fixed.",
        "report_resolved_note": "✅ Good news: your report {reference} ({category}) has been fixed.\nThe city says: {public_note}",
        "report_followup": "Some time ago your report {reference} ({category}) was fixed. Is it still fixed?",
        "group_progress": "👥 This week your team for {title} covered {covered} of {shifts} shifts and sent {reports} reports. Thank you for taking part!",
        "button.coming": "I'll be there",
        "button.not_coming": "I can't make it",
        "button.later": "Remind me later",
        "button.took_part": "Yes, I took part",
        "button.missed": "No",
        "button.still_fixed": "Yes, still fixed",
        "button.broken_again": "No, it's broken again",
        "button.no_progress": "Stop weekly notes",
        "button.series": "All dates from now on",
    },
}


def notice_text(key: str, language: str = "en", **values: object) -> str:
    """A scheduled message's words (reminders, prompts, follow-ups), in the citizen's language."""
    return _catalogue(NOTICE_TEXTS, language)[key].format(**values)


def channel_text(key: str, language: str = "en", **values: object) -> str:
    """A channel-level message (the bridge's own words), in the citizen's language."""
    return _catalogue(CHANNEL_TEXTS, language)[key].format(**values)


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
