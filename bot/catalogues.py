"""gettext catalogues (`bot/locale/<lang>/LC_MESSAGES/<domain>.po`), compiled by Babel on first use.

The `.po` files are the source of truth that translators edit in any PO editor;
compiling them in memory means there is no `.mo` build step to forget.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from bot.models import LANGUAGES

LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "en"


def po_path(domain: str, language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=None)
def translations(domain: str, language: str) -> NullTranslations:
    """The compiled catalogue of one domain in one language; English falls back to the msgids."""
    path = po_path(domain, language)
    if language not in LANGUAGES or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=domain)
