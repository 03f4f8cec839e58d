"""Sign-ups. Capacity is enforced by one conditional UPDATE, so races cannot overbook."""
from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Signup, Task, utcnow
from bot.services.citizens import require_consented
from bot.services.errors import AlreadySignedUp, NotSignedUp, TaskFull
from bot.services.tasks import get_open_task, parse_task_id

logger = logging.getLogger(__name__)


def _active_signup(session: Session, citizen_id: int, task_id: int) -> Signup | None:
    query = select(Signup).where(
        Signup.citizen_id == citizen_id, Signup.task_id == task_id, Signup.status == "active"
    )
    return session.execute(query).scalar_one_or_none()


def sign_up(session: Session, sender_id: str, task_id: object) -> Signup:
    """Take a spot in a task.

    The spot is claimed with `UPDATE tasks SET taken = taken + 1 WHERE taken <
    capacity`: the database decides who gets the last spot, and a CHECK
    constraint backs it up. A unique partial index stops double sign-ups.
    """
    citizen = require_consented(session, sender_id)
    task = get_open_task(session, task_id)
    if _active_signup(session, citizen.id, task.id) is not None:
        raise AlreadySignedUp(task.id)
    claim = update(Task).where(Task.id == task.id, Task.status == "open")
    if task.capacity is not None:
        claim = claim.where(Task.taken < Task.capacity)
    result = session.execute(claim.values(taken=Task.taken + 1).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise TaskFull(task.id)
    signup = Signup(task_id=task.id, citizen_id=citizen.id)
    session.add(signup)
    try:
        session.flush()
    except IntegrityError:
        raise AlreadySignedUp(task.id) from None
    session.refresh(task)
    logger.info("citizen %s signed up for task %s", citizen.id, task.id)
    return signup


def _release(session: Session, signup: Signup) -> None:
    signup.status = "cancelled"
    signup.cancelled_at = utcnow()
    session.execute(
        update(Task)
        .where(Task.id == signup.task_id, Task.taken > 0)
        .values(taken=Task.taken - 1)
        .execution_options(synchronize_session=False)
    )


def cancel_signup(session: Session, sender_id: str, task_id: object) -> Task:
    """Give the spot back; the task may be closed meanwhile, cancelling still works."""
    citizen = require_consented(session, sender_id)
    key = parse_task_id(task_id)
    signup = _active_signup(session, citizen.id, key) if key is not None else None
    if signup is None:
        raise NotSignedUp(task_id)
    _release(session, signup)
    session.flush()
    task = session.get(Task, key)
    session.refresh(task)
    return task


def active_signups(session: Session, sender_id: str) -> list[Signup]:
    citizen = require_consented(session, sender_id)
    query = (
        select(Signup)
        .join(Task)
        .where(Signup.citizen_id == citizen.id, Signup.status == "active")
        .order_by(Task.starts_at.is_(None), Task.starts_at, Signup.id)
    )
    return list(session.execute(query).scalars())


def release_all(session: Session, citizen_id: int) -> int:
    """Cancel every active sign-up of a citizen (used when they erase their data)."""
    signups = session.execute(
        select(Signup).where(Signup.citizen_id == citizen_id, Signup.status == "active")
    ).scalars()
    count = 0
    for signup in signups:
        _release(session, signup)
        count += 1
    return count
