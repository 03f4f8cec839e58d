"""Weekly group progress: each member sees that the others take part too."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.models import Contribution, Occurrence, SeriesSignup, Signup, Task, utcnow
from bot.services import notifications
from bot.services.notifications import Rules
from bot.services.timing import to_local

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)


def week_label(now: datetime, rules: Rules) -> str:
    year, week, _ = to_local(now, rules.quiet.tz).isocalendar()
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
    """Plan this week's note for every group task that had shifts; safe to run twice."""
    now = now or utcnow()
    week = week_label(now, rules)
    planned = 0
    for task in session.execute(select(Task).where(Task.kind == "group", Task.status == "open")).scalars().all():
        stats, members = team_week(session, task, now - WEEK, now)
        if stats["shifts"] and members:
            planned += notifications.plan_progress(session, task, week, stats, members, rules, now)
    logger.info("planned %s weekly progress notes for %s", planned, week)
    return planned
