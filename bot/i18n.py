"""Per-language words and formatting for what Python composes (the rest is in domain.yml).

The English is in bot.messages; its French and Arabic are in the gettext catalogues
(bot/locale/<lang>/LC_MESSAGES/coprod.po, see bot.catalogues). A language without a
catalogue, or a text not translated yet, reads in English.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

from bot import messages
from bot.catalogues import translations

DOMAIN = "coprod"
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "ar": "العربية"}
SUPPORTED_LANGUAGES = ("en", "fr", "ar")

# The Babel locale of each language: dates, numbers, day names. Algeria's Arabic (ar_DZ)
# writes Latin digits (1.234, 20:00), as Algerians do.
LOCALES = {"en": "en", "fr": "fr_DZ", "ar": "ar_DZ"}
# format_when's pattern per language ("Fri 4 Dec, 20:00", "ven. 4 déc. à 20:00", "الجمعة 4 ديسمبر، 20:00").
WHEN_PATTERNS = {"en": "EEE d MMM, HH:mm", "fr": "EEE d MMM 'à' HH:mm", "ar": "EEEE d MMMM، HH:mm"}


def _language(language: str | None) -> str:
    return language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def babel_locale(language: str | None) -> str:
    """The Babel locale for a language code ("ar" → "ar_DZ"); English for any other."""
    return LOCALES[_language(language)]


def _translate(english: str, language: str) -> str:
    return translations(DOMAIN, _language(language)).gettext(english)


def _text(table: dict[str, str], key: str, language: str, values: dict[str, object]) -> str:
    return _translate(table[key], language).format(**values)


def coordinator_text(key: str, language: str = "en", **values: object) -> str:
    """Words of the coordinators' conversations (/newtask, /broadcast, …)."""
    return _text(messages.COORDINATOR_TEXTS, key, language, values)


def notice_text(key: str, language: str = "en", **values: object) -> str:
    """A scheduled message's words (reminders, prompts, follow-ups), in the citizen's language."""
    return _text(messages.NOTICE_TEXTS, key, language, values)


def channel_text(key: str, language: str = "en", **values: object) -> str:
    """A channel-level message (the bridge's own words), in the citizen's language."""
    return _text(messages.CHANNEL_TEXTS, key, language, values)


def webchat_strings(language: str = "en") -> dict[str, str]:
    """Every word of the web chat page, for the browser."""
    return {key: _translate(english, language) for key, english in messages.WEBCHAT_TEXTS.items()}


def plural_text(key: str, count: int, language: str = "en", **values: object) -> str:
    """A text that counts something, in the form the language uses for `count`
    (Arabic has six). `{count}` is the number written the language's way unless given."""
    singular, plural = messages.PLURAL_TEXTS[key]
    values.setdefault("count", format_number(count, language))
    return translations(DOMAIN, _language(language)).ngettext(singular, plural, count).format(**values)


def category_label(category: str | None, language: str = "en") -> str:
    english = messages.CATEGORY_LABELS.get(category or "")
    return _translate(english, language) if english else category or ""


def status_label(status: str, language: str = "en") -> str:
    english = messages.STATUS_LABELS.get(status)
    return _translate(english, language) if english else status


def format_number(value: int, language: str = "en") -> str:
    return format_decimal(value, locale=babel_locale(language))


def format_when(moment: datetime | None, language: str = "en", tz: str = "UTC") -> str:
    """A local date and time in the citizen's language ("Fri 4 Dec, 20:00")."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    language = _language(language)
    return format_datetime(moment, WHEN_PATTERNS[language], tzinfo=ZoneInfo(tz), locale=LOCALES[language])
