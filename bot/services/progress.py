"""Weekly group progress: each member sees that the others take part too."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.models import Contribution, Occurrence, SeriesSignup, Signup, Task, utcnow
from bot.services import notifications
from bot.services.notifications import Rules
from bot.services.timing import to_local, to_utc

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)


NOTE_DAY, NOTE_HOUR = 6, 18  # Sunday 18:00 local: the week is over, the evening is free


def last_week_end(now: datetime, rules: Rules) -> datetime:
    """The latest Sunday 18:00 (local) at or before `now`, as naive UTC."""
    local = to_local(now, rules.quiet.tz)
    days_back = (local.weekday() - NOTE_DAY) % 7
    end = (local - timedelta(days=days_back)).replace(hour=NOTE_HOUR, minute=0, second=0, microsecond=0)
    if end > local:
        end -= WEEK
    return to_utc(end.replace(tzinfo=rules.quiet.tz))


def week_label(week_end: datetime, rules: Rules) -> str:
    year, week, _ = to_local(week_end - timedelta(hours=1), rules.quiet.tz).isocalendar()
    return f"{year}-W{week:02d}"


def team_week(session: Session, task: Task, since: datetime, until: datetime) -> tuple[dict[str, int], list[int]]:
    """Shifts covered (someone signed up and not absent), shifts held, reports sent by
    the team, and the members to tell."""
    shifts = session.execute(
        select(Occurrence.id).where(
            Occurrence.task_id == task.id,
            Occurrence.status == "scheduled",
            Occurrence.starts_at >= since,
            Occurrence.starts_at < until,
        )
    ).scalars().all()
    covered = session.execute(
        select(func.count(func.distinct(Signup.occurrence_id))).where(
            Signup.occurrence_id.in_(shifts),
            Signup.status == "active",
            or_(Signup.attendance.is_(None), Signup.attendance != "absent"),
        )
    ).scalar_one()
    members = set(
        session.execute(
            select(Signup.citizen_id)
            .join(Occurrence, Signup.occurrence_id == Occurrence.id)
            .where(
                Occurrence.task_id == task.id,
                Signup.status == "active",
                Signup.citizen_id.isnot(None),
                Occurrence.starts_at >= since,
            )
        ).scalars()
    )
    members |= set(
        session.execute(
            select(SeriesSignup.citizen_id).where(SeriesSignup.task_id == task.id, SeriesSignup.status == "active")
        ).scalars()
    )
    reports = session.execute(
        select(func.count(Contribution.id)).where(
            Contribution.created_at >= since,
            Contribution.created_at < until,
            or_(Contribution.task_id == task.id, Contribution.citizen_id.in_(members or {-1})),
        )
    ).scalar_one()
    stats = {"covered": int(covered), "shifts": len(shifts), "reports": int(reports)}
    return stats, sorted(members)


def plan_weekly_notes(session: Session, rules: Rules, now: datetime | None = None) -> int:
    """Plan the note for the week that ended last Sunday evening, for every group task
    that had shifts. Safe to run twice or late (at start-up after downtime): the
    rows are keyed by week, and a week more than two days old is not told any more."""
    now = now or utcnow()
    week_end = last_week_end(now, rules)
    if now - week_end > notifications.PROGRESS_GRACE:
        return 0
    week = week_label(week_end, rules)
    planned = 0
    for task in session.execute(select(Task).where(Task.kind == "group", Task.status == "open")).scalars().all():
        stats, members = team_week(session, task, week_end - WEEK, week_end)
        if stats["shifts"] and members:
            planned += notifications.plan_progress(session, task, week, stats, members, rules, now, week_end)
    logger.info("planned %s weekly progress notes for %s", planned, week)
    return planned
