"""Sign-ups to occurrences. Capacity is enforced by one conditional UPDATE, so races cannot overbook."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Citizen, Occurrence, SeriesSignup, Signup, Task, utcnow
from bot.services import notifications, occurrences
from bot.services.citizens import require_consented
from bot.services.errors import AlreadySignedUp, ChooseOccurrence, NotSignedUp, TaskClosed, TaskFull
from bot.services.notifications import Rules
from bot.services.tasks import get_open_task, parse_task_id

logger = logging.getLogger(__name__)


@dataclass
class Joined:
    """What a sign-up produced: one occurrence, every upcoming one (series), or none (open task)."""

    task: Task
    signups: list[Signup] = field(default_factory=list)
    series: bool = False
    full: int = 0

    @property
    def first(self) -> Occurrence | None:
        return self.signups[0].occurrence if self.signups else None


def _active(session: Session, citizen_id: int, task_id: int, occurrence_key: int) -> Signup | None:
    query = select(Signup).where(
        Signup.citizen_id == citizen_id,
        Signup.task_id == task_id,
        Signup.occurrence_key == occurrence_key,
        Signup.status == "active",
    )
    return session.execute(query).scalar_one_or_none()


def _claim(session: Session, citizen: Citizen, task: Task, occurrence: Occurrence | None, rules: Rules, now: datetime) -> Signup:
    """Take one spot: `UPDATE … SET taken = taken + 1 WHERE taken < capacity` lets the
    database decide who gets the last one; a CHECK constraint backs it up and a
    unique partial index stops double sign-ups."""
    key = occurrence.id if occurrence is not None else 0
    if _active(session, citizen.id, task.id, key) is not None:
        raise AlreadySignedUp(task.id)
    if occurrence is not None:
        claim = update(Occurrence).where(
            Occurrence.id == occurrence.id, Occurrence.status == "scheduled", Occurrence.starts_at > now
        )
        if occurrence.capacity is not None:
            claim = claim.where(Occurrence.taken < Occurrence.capacity)
        result = session.execute(
            claim.values(taken=Occurrence.taken + 1).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise TaskFull(task.id)
    signup = Signup(task_id=task.id, citizen_id=citizen.id, occurrence_id=key or None, occurrence_key=key)
    session.add(signup)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AlreadySignedUp(task.id) from None
    if occurrence is not None:
        session.refresh(occurrence)
        notifications.plan_signup(session, signup, rules, now)
    return signup


def sign_up(
    session: Session,
    sender_id: str,
    task_id: object,
    rules: Rules,
    *,
    occurrence_id: object = None,
    series: bool = False,
    now: datetime | None = None,
) -> Joined:
    """Join a task: its next session, a chosen one, or (recurring tasks) the whole series.

    A recurring task with no choice made raises ChooseOccurrence with the next dates.
    """
    now = now or utcnow()
    citizen = require_consented(session, sender_id)
    task = get_open_task(session, task_id, now)
    if task.starts_at is None:
        return Joined(task, [_claim(session, citizen, task, None, rules, now)])
    occurrences.materialise(session, task, rules.quiet.tz, now)
    options = occurrences.upcoming(session, task.id, now)
    if not options:
        raise TaskClosed(task.id)
    if occurrence_id is not None:
        chosen = [o for o in options if o.id == parse_task_id(occurrence_id)]
        if not chosen:
            raise TaskClosed(task.id)
        return Joined(task, [_claim(session, citizen, task, chosen[0], rules, now)])
    if not task.recurrence:
        return Joined(task, [_claim(session, citizen, task, options[0], rules, now)])
    if not series:
        raise ChooseOccurrence(task.id, [o.id for o in options[:3]])
    return _join_series(session, citizen, task, options, rules, now)


def _join_series(
    session: Session, citizen: Citizen, task: Task, options: list[Occurrence], rules: Rules, now: datetime
) -> Joined:
    active = select(SeriesSignup).where(
        SeriesSignup.task_id == task.id, SeriesSignup.citizen_id == citizen.id, SeriesSignup.status == "active"
    )
    if session.execute(active).first() is not None:
        raise AlreadySignedUp(task.id)
    session.add(SeriesSignup(task_id=task.id, citizen_id=citizen.id))
    joined = Joined(task, series=True)
    for occurrence in options:
        try:
            with session.begin_nested():
                joined.signups.append(_claim(session, citizen, task, occurrence, rules, now))
        except TaskFull:
            joined.full += 1
        except AlreadySignedUp:
            continue
    if not joined.signups and joined.full:
        raise TaskFull(task.id)
    logger.info("citizen %s joined the series of task %s (%s sessions)", citizen.id, task.id, len(joined.signups))
    return joined


def extend_series(session: Session, rules: Rules, now: datetime | None = None) -> int:
    """Create the next occurrences of recurring tasks and sign their series members up."""
    now = now or utcnow()
    added = 0
    recurring = select(Task).where(Task.status == "open", Task.recurrence.isnot(None))
    for task in session.execute(recurring).scalars().all():
        new = occurrences.materialise(session, task, rules.quiet.tz, now)
        if not new:
            continue
        for occurrence in new:
            notifications.plan_group(session, occurrence, rules, now)
        members = session.execute(
            select(Citizen).join(SeriesSignup, SeriesSignup.citizen_id == Citizen.id).where(
                SeriesSignup.task_id == task.id, SeriesSignup.status == "active"
            )
        ).scalars().all()
        for occurrence in new:
            for citizen in members:
                try:
                    with session.begin_nested():
                        _claim(session, citizen, task, occurrence, rules, now)
                        added += 1
                except (TaskFull, AlreadySignedUp):
                    continue
    return added


def _release(session: Session, signup: Signup) -> None:
    signup.status = "cancelled"
    signup.cancelled_at = utcnow()
    if signup.occurrence_id is not None:
        session.execute(
            update(Occurrence)
            .where(Occurrence.id == signup.occurrence_id, Occurrence.taken > 0)
            .values(taken=Occurrence.taken - 1)
            .execution_options(synchronize_session=False)
        )
    notifications.unplan_signup(session, signup)


def _end_series(session: Session, citizen_id: int, task_id: int | None = None) -> None:
    query = update(SeriesSignup).where(SeriesSignup.citizen_id == citizen_id, SeriesSignup.status == "active")
    if task_id is not None:
        query = query.where(SeriesSignup.task_id == task_id)
    session.execute(query.values(status="cancelled").execution_options(synchronize_session=False))


def cancel_signup(session: Session, sender_id: str, task_id: object, now: datetime | None = None) -> Task:
    """Leave a task: every future session of it, and its series. Works on closed tasks too."""
    now = now or utcnow()
    citizen = require_consented(session, sender_id)
    key = parse_task_id(task_id)
    found = [
        signup
        for signup in session.execute(
            select(Signup).where(Signup.citizen_id == citizen.id, Signup.task_id == key, Signup.status == "active")
        ).scalars()
        if signup.occurrence is None or signup.occurrence.ends_at > now
    ]
    if key is None or not found:
        raise NotSignedUp(task_id)
    for signup in found:
        _release(session, signup)
    _end_series(session, citizen.id, key)
    session.flush()
    return session.get(Task, key)


def cancel_occurrence_signup(session: Session, citizen_id: int, occurrence_id: int) -> Signup | None:
    """ "I can't make it": give back the spot in one session only (the series stays)."""
    signup = session.execute(
        select(Signup).where(
            Signup.citizen_id == citizen_id, Signup.occurrence_id == occurrence_id, Signup.status == "active"
        )
    ).scalar_one_or_none()
    if signup is not None:
        _release(session, signup)
        session.flush()
    return signup


def set_attendance(session: Session, citizen_id: int, occurrence_id: int, attendance: str) -> Signup | None:
    signup = session.execute(
        select(Signup)
        .where(Signup.citizen_id == citizen_id, Signup.occurrence_id == occurrence_id)
        .order_by(Signup.status == "active", Signup.id.desc())
    ).scalars().first()
    if signup is not None:
        signup.attendance = attendance
    return signup


def active_signups(session: Session, sender_id: str, now: datetime | None = None) -> list[Signup]:
    """What the citizen is signed up for and has not yet done, soonest first."""
    now = now or utcnow()
    citizen = require_consented(session, sender_id)
    query = (
        select(Signup)
        .outerjoin(Occurrence, Signup.occurrence_id == Occurrence.id)
        .where(Signup.citizen_id == citizen.id, Signup.status == "active")
        .where((Occurrence.id.is_(None)) | (Occurrence.ends_at > now))
        .order_by(Occurrence.starts_at.is_(None), Occurrence.starts_at, Signup.id)
    )
    return list(session.execute(query).scalars())


def release_all(session: Session, citizen_id: int) -> int:
    """Free a citizen's spots in sessions still to come (used when they erase their data);
    past sign-ups stay, anonymised, as attendance figures."""
    now = utcnow()
    signups = [
        signup
        for signup in session.execute(
            select(Signup).where(Signup.citizen_id == citizen_id, Signup.status == "active")
        ).scalars()
        if signup.occurrence is None or signup.occurrence.ends_at > now
    ]
    for signup in signups:
        _release(session, signup)
    _end_series(session, citizen_id)
    return len(signups)
