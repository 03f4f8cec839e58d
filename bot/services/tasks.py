"""Tasks: listing open tasks for a citizen, finding one from words, creating them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from bot.models import CATEGORIES, LANGUAGES, TASK_KINDS, Task, utcnow
from bot.services import occurrences
from bot.services.errors import InvalidInput, TaskClosed, TaskNotFound
from bot.services.text import fold

WORD_MATCH = 85


@dataclass(frozen=True)
class TaskFilter:
    neighbourhood_id: int | None = None
    category: str | None = None


def parse_task_id(value: object) -> int | None:
    """A task id from untrusted input (button payloads, slots); None if it cannot be one."""
    try:
        key = int(str(value))
    except (TypeError, ValueError):
        return None
    return key if 0 < key < 2**31 else None


def _still_running(now: datetime):  # type: ignore[no-untyped-def]
    """Open tasks whose last (or only) session has not ended; recurring ones always are."""
    return (Task.status == "open") & (Task.recurrence.isnot(None) | Task.ends_at.is_(None) | (Task.ends_at > now))


def get_task(session: Session, task_id: object) -> Task:
    """The task with this id, open or not; ids from buttons and commands are untrusted."""
    key = parse_task_id(task_id)
    task = session.get(Task, key) if key is not None else None
    if task is None:
        raise TaskNotFound(task_id)
    return task


def get_open_task(session: Session, task_id: object, now: datetime | None = None) -> Task:
    """The task with this id if it exists and is open."""
    task = get_task(session, task_id)
    running = session.execute(select(Task.id).where(Task.id == task.id, _still_running(now or utcnow()))).first()
    if running is None:
        raise TaskClosed(task_id)
    return task


def list_open_tasks(
    session: Session, wanted: TaskFilter = TaskFilter(), limit: int = 5, now: datetime | None = None
) -> list[Task]:
    """Open tasks, most relevant first: same neighbourhood, same category, then soonest.

    Tasks elsewhere are still listed after the relevant ones so the answer is
    never empty while something is open.
    """
    now = now or utcnow()
    order = []
    if wanted.neighbourhood_id is not None:
        order.append(case((Task.neighbourhood_id == wanted.neighbourhood_id, 0), else_=1))
    if wanted.category is not None:
        order.append(case((Task.category == wanted.category, 0), else_=1))
    order += [case((Task.starts_at.is_(None), 1), else_=0), Task.starts_at, Task.id]
    query = (
        select(Task)
        .where(_still_running(now))
        .order_by(*order)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


STOPWORDS = frozenset(
    "a an and at be can count for from get go i i'm im in into is it join let me my of on "
    "please put sign the this to up want we with would you like take part help task tasks "
    "some any there just me please pls".split()
)


def content_words(text: str) -> set[str]:
    return {word for word in fold(text).split() if len(word) >= 3 and word not in STOPWORDS}


def match_tasks(
    session: Session, words: str, category: str | None = None, now: datetime | None = None
) -> list[Task]:
    """Open tasks a sentence like "count me in for the clean-up on Saturday" names.

    Only content words count ("count me in" names no task); small typos are
    tolerated. Tasks naming the most words come first; ties are all returned,
    so the caller can ask which one was meant.
    """
    wanted = content_words(words)
    if not wanted:
        return []
    scored = []
    for task in list_open_tasks(session, TaskFilter(category=category), limit=50, now=now):
        title = content_words(task.title)
        hits = sum(1 for word in title if any(fuzz.ratio(word, other) >= WORD_MATCH for other in wanted))
        if hits:
            scored.append((hits, task))
    if not scored:
        return []
    best = max(hits for hits, _ in scored)
    return [task for hits, task in scored if hits == best]


def create_task(
    session: Session,
    *,
    title: str,
    kind: str,
    category: str,
    description: str = "",
    place: str = "",
    neighbourhood_id: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    capacity: int | None = None,
    recurrence: str | None = None,
    reminder_minutes: list[int] | None = None,
    feedback_delay_minutes: int = 60,
    tz: ZoneInfo = ZoneInfo("UTC"),
    translations: dict[str, dict[str, str]] | None = None,
) -> Task:
    """A new task with its first sessions. Group tasks need a schedule and a capacity."""
    if kind not in TASK_KINDS or category not in CATEGORIES or not title.strip():
        raise InvalidInput(title)
    if kind == "group" and (starts_at is None or not capacity or capacity < 1):
        raise InvalidInput(title)
    if (starts_at is None) != (ends_at is None) or (starts_at and ends_at and ends_at <= starts_at):
        raise InvalidInput(title)
    if recurrence is not None and starts_at is None:
        raise InvalidInput(recurrence)
    offsets = [1440, 60] if reminder_minutes is None else reminder_minutes
    if any(minutes <= 0 for minutes in offsets) or feedback_delay_minutes < 0:
        raise InvalidInput(offsets)
    task = Task(
        title=title.strip(),
        kind=kind,
        category=category,
        description=description,
        place=place,
        neighbourhood_id=neighbourhood_id,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity if kind == "group" else None,
        recurrence=occurrences.validate_rule(recurrence) if recurrence else None,
        reminder_offsets=",".join(str(minutes) for minutes in sorted(set(offsets), reverse=True)),
        feedback_delay_minutes=feedback_delay_minutes,
        translations=clean_translations(translations),
    )
    session.add(task)
    session.flush()
    occurrences.materialise(session, task, tz)
    return task


def close_task(session: Session, task_id: object) -> Task:
    task = get_task(session, task_id)
    task.status = "closed"
    return task


TRANSLATABLE = {"title": 120, "place": 200, "description": 2000}


def clean_translations(translations: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    """Only known languages and fields, trimmed; an empty field falls back to the original."""
    cleaned: dict[str, dict[str, str]] = {}
    for language, fields in (translations or {}).items():
        if language not in LANGUAGES or not isinstance(fields, dict):
            raise InvalidInput(language)
        kept = {}
        for name, value in fields.items():
            if name not in TRANSLATABLE or not isinstance(value, str) or len(value.strip()) > TRANSLATABLE[name]:
                raise InvalidInput(name)
            if value.strip():
                kept[name] = value.strip()
        if kept:
            cleaned[language] = kept
    return cleaned


def title_in(task: Task, language: str) -> str:
    """The task's title as citizens of `language` see it (the coordinator's words otherwise)."""
    return _translated(task, language, "title") or task.title


def place_in(task: Task, language: str) -> str:
    return _translated(task, language, "place") or task.place


def description_in(task: Task, language: str) -> str:
    return _translated(task, language, "description") or task.description


def _translated(task: Task, language: str, field: str) -> str | None:
    texts = (task.translations or {}).get(language)
    value = texts.get(field) if isinstance(texts, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def set_translations(task: Task, translations: dict[str, dict[str, str]]) -> None:
    """Replace the task's words in other languages (validated as at creation)."""
    task.translations = clean_translations(translations)
