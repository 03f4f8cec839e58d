"""What a coordinator types as a schedule: "every Friday 20:00-22:00", "Sat 5 Dec 9:00-12:00",
"every tue and thu 6pm-7:30pm". One-off dates go through dateparser; recurring ones
become an RRULE that `occurrences` expands in local time."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from bot.services.timing import to_local, to_utc

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = {
    name: code
    for code, names in zip(DAYS, (
        ("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"), ("thursday", "thu", "thur", "thurs"),
        ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun"),
    ))
    for name in names
}
CLOCK = r"(\d{1,2})(?:[:h.](\d{2})|h)?\s*(am|pm)?"
RANGE = re.compile(CLOCK + r"\s*(?:-|–|to|until)\s*" + CLOCK, re.IGNORECASE)
EVERY = re.compile(r"\b(every|each)\b", re.IGNORECASE)
DAILY = re.compile(r"\b(every|each)\s+day\b|\bdaily\b", re.IGNORECASE)


@dataclass(frozen=True)
class Schedule:
    """The first session (naive UTC) and, for a recurring task, its RRULE."""

    starts_at: datetime
    ends_at: datetime
    recurrence: str | None = None


def _clock(hours: str, minutes: str | None, half: str | None) -> time | None:
    hour, minute = int(hours), int(minutes or 0)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_schedule(text: str, tz: ZoneInfo, now: datetime) -> Schedule | None:
    """The schedule the text describes, or None if it has no time range or no day."""
    found = RANGE.search(text or "")
    if found is None:
        return None
    start_half = found.group(3) or found.group(6)
    start = _clock(found.group(1), found.group(2), start_half)
    end = _clock(found.group(4), found.group(5), found.group(6))
    if start is None or end is None:
        return None
    rest = (text[: found.start()] + " " + text[found.end():]).strip()
    local_now = to_local(now, tz)
    if DAILY.search(rest):
        return _first(local_now, start, end, tz, DAYS, "FREQ=DAILY")
    if EVERY.search(rest):
        days = sorted({DAY_NAMES[w] for w in re.findall(r"[a-z]+", rest.lower()) if w in DAY_NAMES}, key=DAYS.index)
        if not days:
            return None
        return _first(local_now, start, end, tz, tuple(days), "FREQ=WEEKLY;BYDAY=" + ",".join(days))
    day = _date(rest, local_now)
    return None if day is None else _session(day, start, end, tz)


def _session(day: date, start: time, end: time, tz: ZoneInfo, rule: str | None = None) -> Schedule:
    begins = datetime.combine(day, start, tz)
    ends = datetime.combine(day + timedelta(days=1) if end <= start else day, end, tz)
    return Schedule(to_utc(begins), to_utc(ends), rule)


def _first(local_now: datetime, start: time, end: time, tz: ZoneInfo, days: tuple[str, ...], rule: str) -> Schedule:
    """The first matching day whose session has not started yet."""
    for offset in range(8):
        day = local_now.date() + timedelta(days=offset)
        if DAYS[day.weekday()] in days and datetime.combine(day, start, tz) > local_now:
            return _session(day, start, end, tz, rule)
    raise AssertionError("a weekly rule always matches within 8 days")


def _date(words: str, local_now: datetime) -> date | None:
    words = re.sub(r"\b(next|this|on|from)\b", " ", words, flags=re.IGNORECASE).strip()
    if not words:
        return None
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": local_now.replace(tzinfo=None)}
    found = dateparser.parse(words, languages=["en", "fr"], settings=settings)
    return found.date() if found is not None else None
