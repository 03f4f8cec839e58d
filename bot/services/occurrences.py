"""Occurrences: the concrete sessions of a task, materialised from its schedule.

A one-off task has one occurrence. A recurring task (an RRULE such as
`FREQ=WEEKLY;BYDAY=FR`) gets rows up to `HORIZON` ahead; a daily job extends
the horizon. Recurrence is expanded in local time, so "every Friday 20:00"
stays at 20:00 when the clocks change.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Occurrence, Task, utcnow
from bot.services.errors import InvalidInput
from bot.services.timing import to_local, to_utc

logger = logging.getLogger(__name__)

HORIZON = timedelta(days=56)
MAX_PER_TASK = 60


def validate_rule(rule: str) -> str:
    """An RRULE the scheduler can expand, or InvalidInput (a coordinator typed it)."""
    try:
        rrulestr(rule, dtstart=datetime(2026, 1, 1, 12))
    except (ValueError, TypeError):
        raise InvalidInput(rule) from None
    return rule


def planned_starts(task: Task, tz: ZoneInfo, until: datetime) -> list[datetime]:
    """Start times (naive UTC) of the task's sessions up to `until`."""
    if task.starts_at is None:
        return []
    if not task.recurrence:
        return [task.starts_at] if task.starts_at <= until else []
    first_local = to_local(task.starts_at, tz)
    rule = rrulestr(task.recurrence, dtstart=first_local)
    until_local = to_local(until, tz)
    starts = []
    for local in rule.between(first_local, until_local, inc=True):
        starts.append(to_utc(local))
        if len(starts) >= MAX_PER_TASK:
            break
    return starts


def materialise(session: Session, task: Task, tz: ZoneInfo, now: datetime | None = None) -> list[Occurrence]:
    """Create the task's missing occurrences within the horizon; returns the new ones."""
    now = now or utcnow()
    if task.starts_at is None or task.ends_at is None or task.status != "open":
        return []
    duration = task.ends_at - task.starts_at
    existing = set(
        session.execute(select(Occurrence.starts_at).where(Occurrence.task_id == task.id)).scalars()
    )
    created = []
    for start in planned_starts(task, tz, now + HORIZON):
        if start in existing or start + duration <= now:
            continue
        occurrence = Occurrence(
            task_id=task.id, starts_at=start, ends_at=start + duration, capacity=task.capacity
        )
        session.add(occurrence)
        created.append(occurrence)
    session.flush()
    if created:
        logger.info("task %s: %s new occurrences", task.id, len(created))
    return created


def upcoming(session: Session, task_id: int, now: datetime | None = None, limit: int = 10) -> list[Occurrence]:
    """Scheduled occurrences of a task that have not started yet, soonest first."""
    now = now or utcnow()
    query = (
        select(Occurrence)
        .where(Occurrence.task_id == task_id, Occurrence.status == "scheduled", Occurrence.starts_at > now)
        .order_by(Occurrence.starts_at)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def next_occurrence(session: Session, task_id: int, now: datetime | None = None) -> Occurrence | None:
    found = upcoming(session, task_id, now, limit=1)
    return found[0] if found else None


def cancel_occurrence(session: Session, occurrence_id: int) -> Occurrence:
    """Call off one session; its sign-ups stay for the record, its reminders stop being sent."""
    occurrence = session.get(Occurrence, occurrence_id)
    if occurrence is None:
        raise InvalidInput(occurrence_id)
    occurrence.status = "cancelled"
    return occurrence
