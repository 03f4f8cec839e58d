"""Messages the assistant sends on its own: planned as rows, sent at most once.

Planning inserts one `Notification` row per (kind, citizen, subject) key, so
planning twice is harmless. Sending goes pending → sending (committed before
the Telegram call) → sent; a row left `sending` by a crash becomes `unknown`
and is never retried, so a citizen never gets the same reminder twice. The
price is that a message in flight during a crash may be lost; the README
states the window.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import Citizen, Contribution, Notification, Occurrence, Signup, Task, utcnow
from bot.services import tasks
from bot.services.timing import QuietHours

logger = logging.getLogger(__name__)

FEEDBACK_GRACE = timedelta(hours=24)
FOLLOWUP_GRACE = timedelta(days=7)
PROGRESS_GRACE = timedelta(days=2)
REMIND_LATER = timedelta(hours=2)
RETRY_DELAY = timedelta(seconds=30)
ANSWERABLE = ("reminder", "feedback_prompt", "report_followup")
ANSWER_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class Rules:
    """The human rules for timing: quiet hours, follow-up delay."""

    quiet: QuietHours
    followup_days: int = 14

    @classmethod
    def from_settings(cls, settings: Any) -> "Rules":
        return cls(QuietHours.parse(settings.quiet_hours, settings.timezone), settings.followup_days)


def _insert_or_revive(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert planned rows; a key that exists stays as it is unless it was skipped
    (a citizen who cancelled and signed up again gets their reminders back)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(Notification)
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={"status": "pending", "due_at": statement.excluded.due_at, "expires_at": statement.excluded.expires_at},
        where=Notification.status == "skipped",
    )
    now = utcnow()
    for row in rows:
        row.setdefault("detail", "{}")
        row.setdefault("created_at", now)
        row.setdefault("status", "pending")
    session.execute(statement, rows)


def plan_signup(session: Session, signup: Signup, rules: Rules, now: datetime | None = None) -> int:
    """Reminders before the occurrence and a feedback prompt after it; returns how many."""
    now = now or utcnow()
    occurrence = signup.occurrence
    if occurrence is None or signup.citizen_id is None:
        return 0
    task = occurrence.task
    rows = []
    for minutes in task.reminder_minutes:
        due = rules.quiet.before_event(occurrence.starts_at - timedelta(minutes=minutes), occurrence.starts_at)
        if due <= now:
            continue
        rows.append(
            {
                "key": f"reminder:{minutes}:{occurrence.id}:{signup.citizen_id}",
                "kind": "reminder",
                "citizen_id": signup.citizen_id,
                "task_id": task.id,
                "occurrence_id": occurrence.id,
                "due_at": due,
                "expires_at": occurrence.starts_at,
            }
        )
    due = rules.quiet.after(occurrence.ends_at + timedelta(minutes=task.feedback_delay_minutes))
    rows.append(
        {
            "key": f"feedback:{occurrence.id}:{signup.citizen_id}",
            "kind": "feedback_prompt",
            "citizen_id": signup.citizen_id,
            "task_id": task.id,
            "occurrence_id": occurrence.id,
            "due_at": due,
            "expires_at": due + FEEDBACK_GRACE,
        }
    )
    _insert_or_revive(session, rows)
    return len(rows)


def plan_group(session: Session, occurrence: Occurrence, rules: Rules, now: datetime | None = None) -> int:
    """Reminders posted in the task's linked Telegram group (no buttons: answers are personal)."""
    now = now or utcnow()
    task = occurrence.task
    if not task.group_chat_id:
        return 0
    rows = []
    for minutes in task.reminder_minutes:
        due = rules.quiet.before_event(occurrence.starts_at - timedelta(minutes=minutes), occurrence.starts_at)
        if due > now:
            rows.append(
                {
                    "key": f"group-reminder:{minutes}:{occurrence.id}:{task.group_chat_id}",
                    "kind": "reminder",
                    "group_chat_id": task.group_chat_id,
                    "citizen_id": None,
                    "task_id": task.id,
                    "occurrence_id": occurrence.id,
                    "due_at": due,
                    "expires_at": occurrence.starts_at,
                }
            )
    _insert_or_revive(session, rows)
    return len(rows)


def unplan_signup(session: Session, signup: Signup) -> None:
    """A cancelled sign-up's pending messages are skipped (kept, to revive on re-joining)."""
    if signup.occurrence_id is None or signup.citizen_id is None:
        return
    session.execute(
        update(Notification)
        .where(
            Notification.occurrence_id == signup.occurrence_id,
            Notification.citizen_id == signup.citizen_id,
            Notification.status == "pending",
        )
        .values(status="skipped")
        .execution_options(synchronize_session=False)
    )


def plan_resolution(session: Session, contribution: Contribution, rules: Rules, now: datetime | None = None) -> None:
    """Tell the reporter now that it is fixed; ask in N days whether it still is."""
    now = now or utcnow()
    if contribution.citizen_id is None:
        return
    followup = rules.quiet.after(now + timedelta(days=rules.followup_days))
    resolved_at = now.isoformat(timespec="seconds")
    base = {"citizen_id": contribution.citizen_id, "contribution_id": contribution.id, "task_id": None}
    _insert_or_revive(
        session,
        [
            {
                **base,
                "key": f"resolved:{contribution.id}:{resolved_at}",
                "kind": "report_resolved",
                "due_at": rules.quiet.after(now),
                "expires_at": now + FOLLOWUP_GRACE,
            },
            {
                **base,
                "key": f"followup:{contribution.id}:{resolved_at}",
                "kind": "report_followup",
                "due_at": followup,
                "expires_at": followup + FOLLOWUP_GRACE,
            },
        ],
    )


def plan_status_update(session: Session, contribution: Contribution, rules: Rules, now: datetime | None = None) -> None:
    """Staff wrote a public note: tell the reporter (in the morning if it is night)."""
    now = now or utcnow()
    due = rules.quiet.after(now)
    _insert_or_revive(
        session,
        [
            {
                "key": f"status:{contribution.id}:{now.isoformat(timespec='microseconds')}",
                "kind": "status_update",
                "citizen_id": contribution.citizen_id,
                "contribution_id": contribution.id,
                "due_at": due,
                "expires_at": due + FOLLOWUP_GRACE,
            }
        ],
    )


def plan_progress(
    session: Session,
    task: Task,
    week: str,
    stats: dict[str, int],
    member_ids: list[int],
    rules: Rules,
    now: datetime,
    week_end: datetime,
) -> int:
    """One weekly note per member of a group task (opted-out members are skipped when due),
    and one in the task's linked group, if any."""
    due = rules.quiet.after(now)
    common = {
        "kind": "group_progress",
        "task_id": task.id,
        "due_at": due,
        "expires_at": week_end + PROGRESS_GRACE,
        "detail": json.dumps(stats),
    }
    rows = [
        {**common, "key": f"progress:{task.id}:{week}:{citizen_id}", "citizen_id": citizen_id, "group_chat_id": None}
        for citizen_id in member_ids
    ]
    if task.group_chat_id:
        rows.append(
            {**common, "key": f"progress:{task.id}:{week}:group", "citizen_id": None, "group_chat_id": task.group_chat_id}
        )
    _insert_or_revive(session, rows)
    return len(rows)


# sending -----------------------------------------------------------------


@dataclass
class Claimed:
    """A notification ready to go out: who, and what to say (rendered by the caller)."""

    id: int
    kind: str
    channel: str
    address: str | None
    language: str
    values: dict[str, Any] = field(default_factory=dict)
    group: bool = False


def due_ids(session: Session, now: datetime, limit: int = 500, exclude: set[int] | None = None) -> list[int]:
    """Pending notifications that are due, oldest first."""
    query = (
        select(Notification.id)
        .where(Notification.status == "pending", Notification.due_at <= now)
        .order_by(Notification.due_at, Notification.id)
        .limit(limit + len(exclude or ()))
    )
    found = [row for row in session.execute(query).scalars() if row not in (exclude or ())]
    return found[:limit]


def next_due_at(session: Session, after: datetime) -> datetime | None:
    """When the next pending notification after `after` falls due (the scheduler wakes then)."""
    query = (
        select(Notification.due_at)
        .where(Notification.status == "pending", Notification.due_at > after)
        .order_by(Notification.due_at)
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


def _why_not(session: Session, notice: Notification, now: datetime) -> str | None:
    """The reason a due notification must not be sent any more, or None to send it."""
    citizen = notice.citizen
    if notice.expires_at is not None and notice.expires_at <= now:
        return "expired"
    if notice.group_chat_id is not None:
        task = notice.task
        linked = task is not None and task.status == "open" and task.group_chat_id == notice.group_chat_id
        cancelled = notice.occurrence is not None and notice.occurrence.status != "scheduled"
        return None if linked and not cancelled else "skipped"
    if citizen.consented_at is None or not citizen.notifications or citizen.blocked_at is not None:
        return "skipped"
    if notice.kind == "group_progress" and not citizen.progress_notes:
        return "skipped"
    if notice.occurrence_id is not None:
        occurrence = notice.occurrence
        if occurrence.status != "scheduled":
            return "skipped"
        if notice.kind == "reminder" and occurrence.task.status != "open":
            return "skipped"
        active = session.execute(
            select(Signup.id).where(
                Signup.occurrence_id == occurrence.id,
                Signup.citizen_id == citizen.id,
                Signup.status == "active",
            )
        ).first()
        if active is None:
            return "skipped"
    if notice.kind == "report_followup" and notice.contribution.status != "resolved":
        return "skipped"
    return None


def claim(session: Session, notice_id: int, now: datetime | None = None) -> Claimed | None:
    """Mark one due notification `sending` and return what to send; None if it must not go.

    The caller commits before calling Telegram: from then on the row is never
    sent again, whatever happens.
    """
    now = now or utcnow()
    notice = session.get(Notification, notice_id)
    if notice is None or notice.status != "pending":
        return None
    reason = _why_not(session, notice, now)
    if reason is not None:
        notice.status = reason
        return None
    taken = session.execute(
        update(Notification)
        .where(Notification.id == notice_id, Notification.status == "pending")
        .values(status="sending")
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    if notice.group_chat_id is not None:
        return Claimed(notice.id, notice.kind, "telegram", notice.group_chat_id, "en", _values(notice), group=True)
    citizen = notice.citizen
    language = citizen.language
    return Claimed(notice.id, notice.kind, citizen.channel, citizen.address, language, _values(notice, language))


def _values(notice: Notification, language: str = "en") -> dict[str, Any]:
    values: dict[str, Any] = {"notice": notice.id, **json.loads(notice.detail or "{}")}
    if notice.occurrence is not None:
        values.update(
            title=tasks.title_in(notice.occurrence.task, language),
            starts_at=notice.occurrence.starts_at,
            place=tasks.place_in(notice.occurrence.task, language),
            taken=notice.occurrence.taken,
            capacity=notice.occurrence.capacity or "",
        )
    elif notice.task is not None:
        values.update(title=tasks.title_in(notice.task, language))
    if notice.contribution is not None:
        values.update(
            reference=notice.contribution.reference,
            category=notice.contribution.category,
            status=notice.contribution.status,
            public_note=notice.contribution.public_note or "",
        )
    return values


def record(session: Session, notice_id: int, outcome: str, message_id: object = None, now: datetime | None = None) -> None:
    """After the send: `sent` with the channel's message id; `unknown` when the channel
    may have got it; back to `pending` a little later when it certainly did not (so a
    retry cannot duplicate); `unreachable` when the citizen's channel cannot write to
    them now; `failed` when it refused (blocked, bad request) or broke."""
    now = now or utcnow()
    status = {"sent": "sent", "retry": "pending", "unknown": "unknown", "unreachable": "unreachable"}.get(outcome, "failed")
    values: dict[str, Any] = {"status": status}
    if status == "sent":
        values.update(sent_at=now, message_id=str(message_id) if message_id is not None else None)
    if status == "pending":
        values.update(due_at=now + RETRY_DELAY)
    session.execute(
        update(Notification)
        .where(Notification.id == notice_id, Notification.status == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def recover_interrupted(session: Session) -> int:
    """At start-up: rows left `sending` by a crash may or may not have reached the
    citizen; they become `unknown` and are not sent again."""
    result = session.execute(
        update(Notification)
        .where(Notification.status == "sending")
        .values(status="unknown")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        logger.warning("%s notifications were being sent during a crash; not resending them", result.rowcount)
    return int(result.rowcount or 0)


def forget_citizen(session: Session, citizen_id: int) -> None:
    """Erasure: nothing more is sent to this citizen, and their answers go too."""
    session.query(Notification).filter(Notification.citizen_id == citizen_id).delete(synchronize_session=False)


# answers -----------------------------------------------------------------


def open_notice(
    session: Session, citizen: Citizen, notice_id: object = None, now: datetime | None = None
) -> Notification | None:
    """The question the citizen is answering: the one named by a button, else the
    latest unanswered one sent in the last 48 hours."""
    now = now or utcnow()
    query = select(Notification).where(
        Notification.citizen_id == citizen.id,
        Notification.kind.in_(ANSWERABLE),
        Notification.status == "sent",
    )
    if notice_id is not None:
        try:
            key = int(str(notice_id))
        except ValueError:
            return None
        return session.execute(query.where(Notification.id == key)).scalar_one_or_none()
    query = query.where(Notification.answered_at.is_(None), Notification.sent_at >= now - ANSWER_WINDOW)
    return session.execute(query.order_by(Notification.sent_at.desc(), Notification.id.desc()).limit(1)).scalar_one_or_none()


def mark_answered(notice: Notification, answer: str, now: datetime | None = None) -> bool:
    """Store the answer; False if this question was answered already (a second tap)."""
    if notice.answered_at is not None:
        return False
    notice.answer = answer
    notice.answered_at = now or utcnow()
    return True


def remind_later(
    session: Session, notice: Notification, rules: Rules, at: datetime | None = None, now: datetime | None = None
) -> datetime | None:
    """Ask the same question again later (2 h, or when the citizen said); None if too late."""
    now = now or utcnow()
    wanted = at if at is not None and at > now else now + REMIND_LATER
    if notice.kind == "reminder" and notice.occurrence is not None:
        due = rules.quiet.before_event(wanted, notice.occurrence.starts_at)
        deadline = notice.occurrence.starts_at
    else:
        due = rules.quiet.after(wanted)
        deadline = (notice.expires_at or due) + REMIND_LATER
    if due >= deadline or due <= now:
        return None
    notice.answer = "later"
    notice.answered_at = now
    _insert_or_revive(
        session,
        [
            {
                "key": f"{notice.key.split(':later:')[0]}:later:{now.isoformat(timespec='seconds')}",
                "kind": notice.kind,
                "citizen_id": notice.citizen_id,
                "task_id": notice.task_id,
                "occurrence_id": notice.occurrence_id,
                "contribution_id": notice.contribution_id,
                "due_at": due,
                "expires_at": deadline,
                "detail": notice.detail,
            }
        ],
    )
    return due
