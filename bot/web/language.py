"""The dashboard's language: which one a request gets, and the gettext callables of its templates.

Staff read the dashboard in the language stored on their account; the login page
(no account yet) follows the `lang` query parameter, then the `coprod_lang` cookie
that the switcher sets, then the browser's Accept-Language. The words are in the
`dashboard` gettext domain (bot/locale/<lang>/LC_MESSAGES/dashboard.po).

The Jinja2 environment is shared by all requests, so its gettext callables read
the language from the context of the template being rendered (`language`, set by
Dashboard.page) instead of from anything global.
"""
from __future__ import annotations

from typing import Any, Callable

from jinja2 import pass_context
from jinja2.runtime import Context

from bot.catalogues import DEFAULT_LANGUAGE, translations
from bot.i18n import LANGUAGE_NAMES, category_label, format_number, format_when, status_label

DOMAIN = "dashboard"
LANGUAGES = ("ar", "fr", "en")  # in the switcher's order
COOKIE = "coprod_lang"
RIGHT_TO_LEFT = {"ar"}
SWITCHER = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# Codes stored in the database, shown with words.
LABELS: dict[str, dict[str, str]] = {
    "kind": {"group": N_("group"), "collective": N_("collective")},
    "task_status": {"open": N_("open"), "closed": N_("closed")},
    "broadcast_status": {"sending": N_("sending"), "done": N_("done"), "cancelled": N_("cancelled")},
    "audience": {
        "all": N_("everyone"), "neighbourhood": N_("neighbourhood"), "category": N_("category"),
        "task": N_("task"), "group": N_("linked group"),
    },
    "sort": {"newest": N_("newest"), "oldest": N_("oldest"), "status": N_("status"), "category": N_("category")},
    "role": {"staff": N_("staff"), "coordinator": N_("coordinator"), "admin": N_("admin")},
    "channel": {"telegram": N_("Telegram"), "web": N_("web chat"), "terminal": N_("terminal (cannot be reached)")},
}

# Starlette's own error details (the reason phrases), shown on the error page.
REASONS = (N_("Bad Request"), N_("Forbidden"), N_("Not Found"), N_("Method Not Allowed"), N_("Internal Server Error"))


def base(code: str | None) -> str | None:
    """"fr", "fr_DZ", "ar-DZ", "AR" → the supported base language; None for anything else."""
    if not code:
        return None
    head = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return head if head in LANGUAGES else None


def from_accept_language(header: str | None) -> str:
    """The best supported language of an Accept-Language header (English without one)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = base(tag)
        if language and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def gettext(language: str) -> Callable[[str], str]:
    return translations(DOMAIN, language).gettext


def ngettext(language: str) -> Callable[[str, str, int], str]:
    return translations(DOMAIN, language).ngettext


def _language(context: Context) -> str:
    return context.get("language") or DEFAULT_LANGUAGE


def install(env: Any, timezone: str) -> None:
    """The i18n extension, and filters and globals that follow the page's language."""

    @pass_context
    def context_gettext(context: Context, message: str) -> str:
        return translations(DOMAIN, _language(context)).gettext(message)

    @pass_context
    def context_ngettext(context: Context, singular: str, plural: str, count: int) -> str:
        return translations(DOMAIN, _language(context)).ngettext(singular, plural, count)

    @pass_context
    def context_pgettext(context: Context, where: str, message: str) -> str:
        return translations(DOMAIN, _language(context)).pgettext(where, message)

    @pass_context
    def context_npgettext(context: Context, where: str, singular: str, plural: str, count: int) -> str:
        return translations(DOMAIN, _language(context)).npgettext(where, singular, plural, count)

    @pass_context
    def when(context: Context, moment: Any) -> str:
        return format_when(moment, _language(context), timezone)

    @pass_context
    def number(context: Context, value: int) -> str:
        return format_number(value, _language(context))

    @pass_context
    def category(context: Context, code: str | None) -> str:
        return category_label(code, _language(context))

    @pass_context
    def status(context: Context, code: str) -> str:
        return status_label(code, _language(context))

    @pass_context
    def label(context: Context, kind: str, code: str | None) -> str:
        words = LABELS[kind].get(code or "")
        return translations(DOMAIN, _language(context)).gettext(words) if words else (code or "")

    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        context_gettext, context_ngettext, newstyle=True, pgettext=context_pgettext, npgettext=context_npgettext
    )
    env.filters.update(when=when, number=number)
    env.globals.update(category_label=category, status_label=status, label=label, languages=SWITCHER)
