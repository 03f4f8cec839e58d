"""Coordinators' guided conversations (/newtask, /broadcast): drafts that survive restarts,
field by field validation, and the coordinator's view of a task."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, coordinator_text
from bot.models import CATEGORIES, TASK_KINDS, CoordinatorDraft, Neighbourhood, Occurrence, Signup, Task, utcnow
from bot.services import broadcasts, occurrences, tasks
from bot.services.errors import InvalidInput
from bot.services.schedules import parse_schedule
from bot.services.text import clean_text

NEWTASK_FIELDS = ("title", "kind", "category", "neighbourhood", "place", "schedule", "capacity", "reminders")
BROADCAST_FIELDS = ("audience", "audience_value", "text", "translations", "signup_task", "confirm")
REMINDER_CHOICES = {"24h+1h": [1440, 60], "1h": [60], "none": []}
MAX_CAPACITY = 500


@dataclass
class Draft:
    kind: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


def load(session: Session, telegram_id: str) -> Draft | None:
    row = session.get(CoordinatorDraft, telegram_id)
    return None if row is None else Draft(row.kind, row.step, json.loads(row.data))


def save(session: Session, telegram_id: str, draft: Draft) -> None:
    row = session.get(CoordinatorDraft, telegram_id)
    if row is None:
        row = CoordinatorDraft(telegram_id=telegram_id, kind=draft.kind, step=draft.step)
        session.add(row)
    row.kind, row.step, row.data = draft.kind, draft.step, json.dumps(draft.data)


def clear(session: Session, telegram_id: str) -> None:
    row = session.get(CoordinatorDraft, telegram_id)
    if row is not None:
        session.delete(row)


def drafters(session: Session) -> set[str]:
    """Who is in the middle of a guided conversation."""
    return set(session.execute(select(CoordinatorDraft.telegram_id)).scalars())


def next_field(draft: Draft) -> str:
    """The first field still to ask; "summary" when all are filled."""
    fields = NEWTASK_FIELDS if draft.kind == "newtask" else BROADCAST_FIELDS
    if draft.kind == "broadcast" and draft.data.get("translating"):
        return "translation_text"
    for name in fields:
        if name == "capacity" and draft.data.get("kind") == "collective":
            continue
        if name == "audience_value" and draft.data.get("audience") == "all":
            continue
        if name not in draft.data:
            return name
    return "summary"


def set_task_field(session: Session, draft: Draft, name: str, raw: str, tz: ZoneInfo, now: datetime) -> None:
    """Validate one answer of /newtask and store it; InvalidInput if it does not fit."""
    value = (clean_text(raw) or "").strip()
    if name == "title":
        if not 3 <= len(value) <= 120:
            raise InvalidInput(value)
        draft.data["title"] = value
    elif name == "kind":
        if value not in TASK_KINDS:
            raise InvalidInput(value)
        draft.data["kind"] = value
    elif name == "category":
        if value not in CATEGORIES:
            raise InvalidInput(value)
        draft.data["category"] = value
    elif name == "neighbourhood":
        if value != "all" and session.get(Neighbourhood, _number(value)) is None:
            raise InvalidInput(value)
        draft.data["neighbourhood"] = None if value == "all" else int(value)
    elif name == "place":
        if not 2 <= len(value) <= 200:
            raise InvalidInput(value)
        draft.data["place"] = value
    elif name == "schedule":
        draft.data["schedule"] = _schedule(value, draft.data.get("kind"), tz, now)
    elif name == "capacity":
        number = _number(value)
        if not 1 <= number <= MAX_CAPACITY:
            raise InvalidInput(value)
        draft.data["capacity"] = number
    elif name == "reminders":
        if value not in REMINDER_CHOICES:
            raise InvalidInput(value)
        draft.data["reminders"] = value
    else:
        raise InvalidInput(name)


def _number(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 9:  # "²".isdigit(), yet int("²") fails
        raise InvalidInput(value)
    return int(value)


def _schedule(value: str, kind: str | None, tz: ZoneInfo, now: datetime) -> dict[str, str] | None:
    if value == "none":
        if kind == "group":
            raise InvalidInput(value)
        return None
    parsed = parse_schedule(value, tz, now)
    if parsed is None:
        raise InvalidInput(value)
    return {
        "starts_at": parsed.starts_at.isoformat(),
        "ends_at": parsed.ends_at.isoformat(),
        "recurrence": parsed.recurrence or "",
    }


def create_task_from(session: Session, draft: Draft, coordinator: str, tz: ZoneInfo) -> Task:
    data = draft.data
    schedule = data.get("schedule") or {}
    task = tasks.create_task(
        session,
        title=data["title"],
        kind=data["kind"],
        category=data["category"],
        place=data["place"],
        neighbourhood_id=data.get("neighbourhood"),
        starts_at=datetime.fromisoformat(schedule["starts_at"]) if schedule else None,
        ends_at=datetime.fromisoformat(schedule["ends_at"]) if schedule else None,
        capacity=data.get("capacity"),
        recurrence=schedule.get("recurrence") or None,
        reminder_minutes=REMINDER_CHOICES[data.get("reminders", "24h+1h")],
        tz=tz,
    )
    task.created_by = coordinator
    return task


def tasks_of(session: Session, coordinator: str) -> list[Task]:
    query = select(Task).where(Task.created_by == coordinator).order_by(Task.status, Task.id.desc()).limit(20)
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class SessionLine:
    starts_at: datetime
    signed_up: int
    spots_left: int | None
    attendance: dict[str, int] = field(default_factory=dict)


def overview(
    session: Session, task_id: object, now: datetime, limit: int = 5, past: int = 0
) -> tuple[Task, list[SessionLine], int]:
    """A task, its sessions (the last `past` ones and the next `limit`) with sign-ups, spots
    left and attendance (confirmed before, attended or absent after), and its sign-ups
    outside sessions."""
    task = tasks.get_task(session, task_id)
    earlier = session.execute(
        select(Occurrence).where(Occurrence.task_id == task.id, Occurrence.starts_at <= now)
        .order_by(Occurrence.starts_at.desc()).limit(past)
    ).scalars().all() if past else []
    shown = list(reversed(earlier)) + occurrences.upcoming(session, task.id, now, limit)
    marks: dict[int, dict[str, int]] = {}
    for occurrence_id, attendance, count in session.execute(
        select(Signup.occurrence_id, Signup.attendance, func.count(Signup.id))
        .where(Signup.occurrence_id.in_([o.id for o in shown]), Signup.attendance.isnot(None))
        .group_by(Signup.occurrence_id, Signup.attendance)
    ):
        marks.setdefault(occurrence_id, {})[attendance] = count
    lines = [SessionLine(o.starts_at, o.taken, o.spots_left, marks.get(o.id, {})) for o in shown]
    unscheduled = session.execute(
        select(func.count(Signup.id)).where(
            Signup.task_id == task.id, Signup.status == "active", Signup.occurrence_id.is_(None)
        )
    ).scalar_one()
    return task, lines, int(unscheduled)


def close_task(session: Session, task_id: object) -> tuple[Task, bool]:
    """Close a task; returns it and whether it was open. Future sessions are called off."""
    was_open = tasks.get_task(session, task_id).status == "open"
    task = tasks.close_task(session, task_id)
    session.query(Occurrence).filter(
        Occurrence.task_id == task.id, Occurrence.status == "scheduled", Occurrence.starts_at > utcnow()
    ).update({"status": "cancelled"}, synchronize_session=False)
    return task, was_open


def close_and_tell(session: Session, task_id: object, actor: str) -> tuple[Task, bool, int]:
    """Close a task and tell everyone signed up (a broadcast); returns the task, whether it
    was open, and how many citizens will be told. Telegram's /close and the dashboard share it."""
    task, was_open = close_task(session, task_id)
    audience = broadcasts.Audience("task", str(task.id))
    told = 0
    if was_open and broadcasts.count(session, audience):
        notices = {lang: coordinator_text("close.notice", lang, title=tasks.title_in(task, lang)) for lang in SUPPORTED_LANGUAGES}
        told = broadcasts.start(session, actor, audience, notices[DEFAULT_LANGUAGE], texts=notices).total
    return task, was_open, told


def change_capacity(session: Session, task: Task, capacity: int, now: datetime) -> None:
    """New places per session for a group task and its coming sessions; refused (InvalidInput)
    if a coming session already has more sign-ups than that."""
    coming = session.query(Occurrence).filter(Occurrence.task_id == task.id, Occurrence.starts_at > now)
    if any(occurrence.taken > capacity for occurrence in coming):
        raise InvalidInput(capacity)
    task.capacity = capacity
    coming.update({"capacity": capacity}, synchronize_session=False)


def link_group(session: Session, task_id: object, chat_id: str) -> Task:
    """Tie a group task to a Telegram group: its reminders and weekly notes are posted there too."""
    task = tasks.get_task(session, task_id)
    if task.kind != "group" or not chat_id.startswith("-"):
        raise InvalidInput(task_id)
    task.group_chat_id = chat_id
    return task
