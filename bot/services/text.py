"""Text helpers shared by services: normalising for tolerant matching, length caps."""
from __future__ import annotations

import json
import unicodedata

MAX_TEXT = 4096


def fold(value: str) -> str:
    """Lower-case, strip accents and punctuation-like separators for fuzzy comparison."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = "".join(ch if ch.isalnum() else " " for ch in stripped.casefold())
    return " ".join(cleaned.split())


# Invisible characters that right-to-left text and emoji need: joiners, direction marks, isolates
# (Arabic texts wrap Latin words and numbers in U+2068 … U+2069). Overrides (U+202A-U+202E) still go.
KEPT_FORMAT = "\n\t\u200c\u200d\u200e\u200f\u061c\u2066\u2067\u2068\u2069"


def clean_text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """Trim, drop control characters, cap the length; None for nothing left."""
    if value is None:
        return None
    kept = "".join(ch for ch in value if ch in KEPT_FORMAT or unicodedata.category(ch)[0] != "C")
    kept = kept.strip()
    return kept[:limit] or None


def rasa_payload(intent: str, **entities: object) -> str:
    """A button payload Rasa parses back into this intent and entities."""
    return f"/{intent}{json.dumps({k: str(v) for k, v in entities.items()}, separators=(',', ':'))}"
