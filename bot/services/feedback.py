"""Feedback: task ratings and free comments on the service."""
from __future__ import annotations

import re
import unicodedata

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Citizen, Feedback, Occurrence, Signup, Task, utcnow
from bot.services.citizens import find_citizen
from bot.services.errors import InvalidInput, NotAParticipant, TaskNotFound
from bot.services.text import clean_text


# "4", "4/5", "4 stars", "4 étoiles", "4 نجوم"; any script's digits ("٤") count (see parse_rating).
RATING = re.compile(r"^\s*([1-5])\s*(?:/\s*5|sur 5|stars?|étoiles?|etoiles?|نجوم|نجمات|نجمة|out of 5)?\s*$", re.IGNORECASE)


def parse_rating(value: object) -> int | None:
    """1-5 from a button payload or typed text ("4", "4/5", "4 stars", "⭐⭐⭐"); else None."""
    if value is None:
        return None
    text = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in str(value)).strip()
    stars = text.count("⭐") + text.count("★")
    if stars and not text.replace("⭐", "").replace("★", "").strip():
        return stars if stars <= 5 else None
    found = RATING.match(text)
    return int(found.group(1)) if found else None


def record_feedback(
    session: Session,
    sender_id: str,
    rating: int | None,
    comment: str | None,
    task_id: int | None = None,
    idempotency_key: str | None = None,
    occurrence_id: int | None = None,
    now: datetime | None = None,
) -> Feedback:
    """Store feedback once per key; without consent it is kept anonymous (no citizen link).

    Feedback on a task is taken only from a citizen who took part in one of its
    sessions, and once per session: rating it again replaces the earlier answer,
    so nobody can stuff a task's ratings. Feedback on the service is open to all."""
    if idempotency_key:
        existing = session.execute(
            select(Feedback).where(Feedback.idempotency_key == idempotency_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    comment = clean_text(comment)
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput(rating)
    if rating is None and comment is None:
        raise InvalidInput("empty feedback")
    occurrence = session.get(Occurrence, occurrence_id) if occurrence_id is not None else None
    if occurrence_id is not None and occurrence is None:
        raise TaskNotFound(occurrence_id)
    if occurrence is not None:
        task_id = occurrence.task_id
    if task_id is not None and session.get(Task, task_id) is None:
        raise TaskNotFound(task_id)
    citizen = find_citizen(session, sender_id)
    linked = citizen if citizen is not None and citizen.consented_at is not None else None
    if task_id is not None:
        occurrence = _session_taken_part(session, linked, task_id, occurrence, now or utcnow())
        earlier = session.execute(
            select(Feedback).where(Feedback.citizen_id == linked.id, Feedback.occurrence_id == occurrence.id)
        ).scalars().first()
        if earlier is not None:
            earlier.rating, earlier.comment = rating, comment  # a repeat of this message sets the same
            return earlier
    feedback = Feedback(
        citizen_id=linked.id if linked else None,
        task_id=task_id,
        occurrence_id=occurrence.id if occurrence is not None else None,
        rating=rating,
        comment=comment,
        idempotency_key=idempotency_key,
    )
    session.add(feedback)
    session.flush()
    return feedback


def _session_taken_part(
    session: Session, citizen: Citizen | None, task_id: int, occurrence: Occurrence | None, now: datetime
) -> Occurrence:
    """The session (the one named, else the latest) that this citizen signed up for, did not
    say they missed, and that has begun; NotAParticipant if there is none."""
    if citizen is None:
        raise NotAParticipant(task_id)
    query = (
        select(Occurrence)
        .join(Signup, Signup.occurrence_id == Occurrence.id)
        .where(
            Signup.citizen_id == citizen.id,
            Signup.task_id == task_id,
            Signup.status == "active",
            (Signup.attendance.is_(None)) | (Signup.attendance != "absent"),
            Occurrence.starts_at <= now,
        )
        .order_by(Occurrence.starts_at.desc())
    )
    if occurrence is not None:
        query = query.where(Occurrence.id == occurrence.id)
    taken = session.execute(query).scalars().first()
    if taken is None:
        raise NotAParticipant(task_id)
    return taken
