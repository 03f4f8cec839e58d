"""Local time rules: quiet hours in the municipality's time zone, DST-safe.

Everything is stored as naive UTC; these helpers convert to the local zone
only to apply human rules ("not after 21:00"), then convert back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

EARLY_MARGIN = timedelta(minutes=15)


def to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(tz)


def to_utc(moment: datetime) -> datetime:
    """An aware local time as naive UTC (the storage form)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _clock(value: str) -> time:
    hours, _, minutes = value.strip().partition(":")
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class QuietHours:
    """A nightly window in local time (start > end wraps past midnight); None = never quiet."""

    start: time | None
    end: time | None
    tz: ZoneInfo

    @classmethod
    def parse(cls, spec: str, tz_name: str) -> "QuietHours":
        """`"21:00-08:00"`; an empty spec or "off" switches quiet hours off."""
        tz = ZoneInfo(tz_name)
        if not spec.strip() or spec.strip().lower() == "off":
            return cls(None, None, tz)
        start, _, end = spec.partition("-")
        return cls(_clock(start), _clock(end), tz)

    def window_around(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The quiet window (naive UTC start, end) containing `moment`, if any."""
        if self.start is None or self.end is None or self.start == self.end:
            return None
        local = to_local(moment, self.tz)
        for day in (local.date() - timedelta(days=1), local.date()):
            start = datetime.combine(day, self.start, self.tz)
            end_day = day + timedelta(days=1) if self.end <= self.start else day
            end = datetime.combine(end_day, self.end, self.tz)
            start_utc, end_utc = to_utc(start), to_utc(end)
            if start_utc <= moment < end_utc:
                return start_utc, end_utc
        return None

    def is_quiet(self, moment: datetime) -> bool:
        return self.window_around(moment) is not None

    def before_event(self, due: datetime, event_start: datetime) -> datetime:
        """When to send a reminder due at `due` for an event at `event_start`.

        Inside quiet hours it moves to the end of them, unless the event starts
        before they end: then it moves earlier, to just before they begin.
        """
        window = self.window_around(due)
        if window is None:
            return due
        start, end = window
        if event_start <= end:
            return start - EARLY_MARGIN
        return end

    def after(self, due: datetime) -> datetime:
        """Prompts and follow-ups have no deadline: inside quiet hours they wait for morning."""
        window = self.window_around(due)
        return due if window is None else window[1]
