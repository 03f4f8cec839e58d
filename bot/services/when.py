"""A time the citizen names ("tomorrow evening", "at 18:00", "in 3 hours"), via dateparser."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import dateparser
from dateparser.search import search_dates

from bot.services.timing import to_local, to_utc

# dateparser knows dates and clock times, not parts of the day.
PARTS_OF_DAY = {
    "morning": "09:00",
    "noon": "12:00",
    "lunchtime": "12:00",
    "afternoon": "15:00",
    "evening": "18:00",
    "tonight": "today 19:00",
}
PARTS = re.compile(r"\b(" + "|".join(PARTS_OF_DAY) + r")\b", re.IGNORECASE)
FILLER = re.compile(r"\b(remind me|ask me|again|later|please|in the|this|at|not now)\b", re.IGNORECASE)


def parse_when(text: str, tz: ZoneInfo, now: datetime, language: str = "en") -> datetime | None:
    """The future moment (naive UTC) the text names, or None if it names none."""
    wording = PARTS.sub(lambda m: PARTS_OF_DAY[m.group(1).lower()], text or "")
    wording = re.sub(r"\s+", " ", FILLER.sub(" ", wording)).strip()
    if not wording:
        return None
    local_now = to_local(now, tz).replace(tzinfo=None)
    options = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": local_now,
        "TIMEZONE": str(tz),
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    found = dateparser.parse(wording, languages=[language], settings=options)
    if found is None:
        hits = search_dates(wording, languages=[language], settings=options) or []
        found = hits[0][1] if hits else None
    if found is None:
        return None
    moment = to_utc(found.replace(tzinfo=tz))
    return moment if moment > now else None
