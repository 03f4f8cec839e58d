"""Coordinator services: roles, schedules typed by people, audiences, the outbox state machine."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.db import Database
from bot.models import AuditEntry, Broadcast, Delivery, Neighbourhood, Occurrence, Signup, Task
from bot.services import broadcasts, citizens, coordination, roles, signups, tasks
from bot.services.broadcasts import Audience
from bot.services.contributions import ContributionInput, create_contribution
from bot.services.coordination import Draft
from bot.services.errors import InvalidInput
from bot.services.privacy import erase_citizen
from bot.services.schedules import parse_schedule
from tests.conftest import RULES, make_citizen, make_collective_task, make_group_task

PARIS = ZoneInfo("Europe/Paris")
SUNDAY = datetime(2026, 11, 29, 9, 0)  # naive UTC, 10:00 in Paris


def test_roles_are_granted_once_revoked_and_bootstrapped(db: Database) -> None:
    with db.session() as session:
        assert roles.bootstrap(session, ["111", "222"]) == 2
        assert roles.bootstrap(session, ["111"]) == 0
        assert roles.is_coordinator(session, "111") and not roles.is_coordinator(session, "333")
        assert roles.revoke(session, "111", by="admin") and not roles.revoke(session, "111")
        assert not roles.is_coordinator(session, "111")
        assert roles.bootstrap(session, ["111", "222"]) == 0, "COORDINATOR_IDS does not undo a revocation"
        assert not roles.is_coordinator(session, "111") and roles.holders(session) == ["222"]
        assert roles.grant(session, "111", by="admin") and roles.is_coordinator(session, "111")
        actions = [(e.actor, e.action) for e in session.query(AuditEntry).order_by(AuditEntry.id)]
        assert actions == [("COORDINATOR_IDS", "role.grant"), ("COORDINATOR_IDS", "role.grant"),
                           ("admin", "role.revoke"), ("admin", "role.grant")]
        for bad in ("abc", "1; DROP TABLE roles", ""):
            with pytest.raises(InvalidInput):
                roles.grant(session, bad)


@pytest.mark.parametrize(
    ("typed", "start", "end", "rule"),
    [
        ("every Friday 20:00-22:00", "2026-12-04T19:00", "2026-12-04T21:00", "FREQ=WEEKLY;BYDAY=FR"),
        ("every tue and thu 6pm-7:30pm", "2026-12-01T17:00", "2026-12-01T18:30", "FREQ=WEEKLY;BYDAY=TU,TH"),
        ("Sat 5 Dec 9:00-12:00", "2026-12-05T08:00", "2026-12-05T11:00", None),
        ("tomorrow 18h-20h", "2026-11-30T17:00", "2026-11-30T19:00", None),
        ("next monday 9-11am", "2026-11-30T08:00", "2026-11-30T10:00", None),
        ("every day 23:00-01:00", "2026-11-29T22:00", "2026-11-30T00:00", "FREQ=DAILY"),
        ("every sunday 9:00-10:00", "2026-12-06T08:00", "2026-12-06T09:00", "FREQ=WEEKLY;BYDAY=SU"),
    ],
)
def test_schedules_typed_by_coordinators(typed: str, start: str, end: str, rule: str | None) -> None:
    parsed = parse_schedule(typed, PARIS, SUNDAY)
    assert parsed is not None
    assert (parsed.starts_at, parsed.ends_at, parsed.recurrence) == (
        datetime.fromisoformat(start), datetime.fromisoformat(end), rule
    )


@pytest.mark.parametrize("typed", ["sometime next week", "every 20:00-22:00", "Friday 25:00-26:00", "", "every blursday 9-10"])
def test_schedules_that_say_too_little_are_refused(typed: str) -> None:
    assert parse_schedule(typed, PARIS, SUNDAY) is None


def test_a_new_task_draft_validates_each_answer_and_creates_a_recurring_task(db: Database) -> None:
    draft = Draft("newtask", "title")
    with db.session() as session:
        for field, value in [("title", "Evening litter walk"), ("kind", "group"), ("category", "waste"),
                             ("neighbourhood", "all"), ("place", "Old Town fountain"),
                             ("schedule", "every wednesday 18:00-19:00"), ("capacity", "8"), ("reminders", "1h")]:
            assert coordination.next_field(draft) == field
            for bad in {"title": "x", "kind": "solo", "category": "fun", "neighbourhood": "999", "place": "",
                        "schedule": "soon", "capacity": "0", "reminders": "always"}[field], :
                with pytest.raises(InvalidInput):
                    coordination.set_task_field(session, draft, field, bad, PARIS, SUNDAY)
            coordination.set_task_field(session, draft, field, value, PARIS, SUNDAY)
        assert coordination.next_field(draft) == "summary"
        task = coordination.create_task_from(session, draft, "111", PARIS)
        assert (task.recurrence, task.reminder_offsets, task.created_by, task.capacity) == (
            "FREQ=WEEKLY;BYDAY=WE", "60", "111", 8)
        assert session.query(Occurrence).filter_by(task_id=task.id).count() >= 8


def test_collective_tasks_skip_capacity_and_may_have_no_schedule(db: Database) -> None:
    draft = Draft("newtask", "title", {"title": "Map broken benches", "kind": "collective", "category": "roads",
                                        "neighbourhood": None, "place": "Anywhere"})
    with db.session() as session:
        coordination.set_task_field(session, draft, "schedule", "none", PARIS, SUNDAY)
        assert coordination.next_field(draft) == "reminders"
        draft.data["kind"] = "group"
        with pytest.raises(InvalidInput):
            coordination.set_task_field(session, draft, "schedule", "none", PARIS, SUNDAY)


def _town(db: Database, media_dir: Path) -> dict[str, int]:
    """Citizens spread over areas, tasks and categories, plus the ones who must never be reached."""
    names = ["ana", "ben", "cleo", "dan", "eve", "fay", "gus"]
    for name in names:
        make_citizen(db, name)
    patrol = make_group_task(db, capacity=10)
    dumping = make_collective_task(db)
    with db.session() as session:
        citizens.set_neighbourhood(session, "ana", "Riverside")
        citizens.set_neighbourhood(session, "ben", "Riverside")
        citizens.set_neighbourhood(session, "cleo", "Hillcrest")
        signups.sign_up(session, "ana", patrol, RULES)
        signups.sign_up(session, "dan", patrol, RULES)
        create_contribution(session, "eve", ContributionInput(category="waste", description="Bags"), media_dir, 10)
        signups.sign_up(session, "fay", dumping, RULES)
        citizens.set_neighbourhood(session, "gus", "Riverside")
        signups.sign_up(session, "gus", patrol, RULES)
        citizens.set_notifications(session, "gus", False)  # opted out
        citizens.set_neighbourhood(session, "dan", "Riverside")
        citizens.mark_blocked(session, "dan")
        session.get(Task, patrol).group_chat_id = "-100"
    with db.session() as session:
        erase_citizen(session, "ben")
        riverside = session.query(Neighbourhood).filter_by(name="Riverside").one().id
    return {"patrol": patrol, "dumping": dumping, "riverside": riverside}


def _who(db: Database, audience: Audience) -> list[str]:
    with db.session() as session:
        return sorted(address for _, _, address in session.execute(broadcasts.recipients(audience)))


def test_audiences_pick_exactly_the_right_citizens(db: Database, media_dir: Path) -> None:
    town = _town(db, media_dir)
    assert _who(db, Audience("all")) == ["ana", "cleo", "eve", "fay"]
    assert _who(db, Audience("neighbourhood", str(town["riverside"]))) == ["ana"]
    assert _who(db, Audience("category", "waste")) == ["eve", "fay"]
    assert _who(db, Audience("category", "safety")) == ["ana"]
    assert _who(db, Audience("task", str(town["patrol"]))) == ["ana"]
    assert _who(db, Audience("group", "-100")) == ["ana"]
    with db.session() as session:
        assert broadcasts.count(session, Audience("all")) == 4
        for bad in (Audience("everyone"), Audience("category", "fun"), Audience("task", "999"), Audience("all", "1")):
            with pytest.raises(InvalidInput):
                bad.check(session)


def test_the_outbox_sends_each_recipient_once_and_skips_who_opted_out_since(db: Database, media_dir: Path) -> None:
    _town(db, media_dir)
    with db.session() as session:
        broadcast = broadcasts.start(session, "111", Audience("all"), "Clean-up on Saturday!")
        key = broadcast.id
        assert broadcast.total == 4
    with db.session() as session:
        citizens.set_notifications(session, "fay", False)
        due = [key for key, _ in broadcasts.due(session, datetime.utcnow(), 10, set(), quiet=False)]
        assert len(due) == 4
    outcomes = {}
    for delivery_id in due:
        with db.session() as session:
            job = broadcasts.claim(session, delivery_id)
        if job is None:
            continue
        with db.session() as session:
            assert broadcasts.claim(session, delivery_id) is None  # a second claim gets nothing
            outcome = {"ana": "sent", "cleo": "retry", "eve": "blocked"}[job.chat_id]
            broadcasts.record(session, delivery_id, outcome, message_id=7, retry_in=0)
            outcomes[job.chat_id] = outcome
    assert outcomes == {"ana": "sent", "cleo": "retry", "eve": "blocked"}
    with db.session() as session:
        progress = broadcasts.progress(session, key)
        assert (progress.sent, progress.blocked, progress.skipped, progress.waiting) == (1, 1, 1, 1)
        assert not citizens.may_notify(session, "eve")
        assert not broadcasts.finish_if_done(session, key)
        ((again, _),) = broadcasts.due(session, datetime.utcnow(), 10, set(), quiet=False)
        job = broadcasts.claim(session, again)
        assert job.chat_id == "cleo"
    with db.session() as session:
        assert broadcasts.recover_interrupted(session) == 1  # a crash while cleo's was in flight
        assert broadcasts.finish_if_done(session, key)
        assert session.get(Broadcast, key).status == "done"
        sent = session.query(Delivery).filter_by(status="sent").one()
        assert sent.message_id == "7"


def test_quiet_hours_hold_broadcasts_that_ask_for_it(db: Database, media_dir: Path) -> None:
    _town(db, media_dir)
    with db.session() as session:
        broadcasts.start(session, "111", Audience("all"), "Night news", hold_quiet_hours=True)
        urgent = broadcasts.start(session, "111", Audience("all"), "Water cut tonight", hold_quiet_hours=False).id
        quiet = broadcasts.due(session, datetime.utcnow(), 20, set(), quiet=True)
        assert {session.get(Delivery, d).broadcast_id for d, _ in quiet} == {urgent}
        assert len(broadcasts.due(session, datetime.utcnow(), 20, set(), quiet=False)) == 8


def test_cancel_skips_what_is_not_yet_sent(db: Database, media_dir: Path) -> None:
    _town(db, media_dir)
    with db.session() as session:
        key = broadcasts.start(session, "111", Audience("all"), "Hello").id
        first, channel = broadcasts.due(session, datetime.utcnow(), 1, set(), quiet=False)[0]
        assert channel == "telegram"
        broadcasts.claim(session, first)
    with db.session() as session:
        broadcasts.cancel(session, key)
        broadcasts.record(session, first, "sent", 9)
        progress = broadcasts.progress(session, key)
        assert (progress.sent, progress.skipped, progress.status) == (1, 3, "cancelled")
        assert broadcasts.due(session, datetime.utcnow(), 10, set(), quiet=False) == []


def test_erasure_removes_the_chat_id_from_the_outbox(db: Database, media_dir: Path) -> None:
    _town(db, media_dir)
    with db.session() as session:
        broadcasts.start(session, "111", Audience("all"), "Hello")
    with db.session() as session:
        erase_citizen(session, "ana")
    with db.session() as session:
        assert session.query(Delivery).filter_by(chat_id="ana").count() == 0
        assert session.query(Delivery).filter(Delivery.chat_id.like("erased-%"), Delivery.status == "skipped").count() == 1


def test_a_broadcast_needs_words_and_an_existing_task(db: Database) -> None:
    make_citizen(db, "ana")
    with db.session() as session:
        for text, task in [("", None), ("x" * 4001, None), ("Join us", 999)]:
            with pytest.raises(InvalidInput):
                broadcasts.start(session, "111", Audience("all"), text, signup_task_id=task)
        with pytest.raises(InvalidInput):
            broadcasts.start(session, "111", Audience("all"), "y" * 1025, photo="file-id")


def test_closing_a_task_calls_off_its_future_sessions_only(db: Database) -> None:
    now = datetime.utcnow()
    with db.session() as session:
        task = tasks.create_task(
            session, title="Daily patrol", kind="group", category="safety", starts_at=now - timedelta(days=2),
            ends_at=now - timedelta(days=2) + timedelta(hours=1), capacity=3, recurrence="FREQ=DAILY",
        )
        session.add(Occurrence(task_id=task.id, starts_at=now - timedelta(days=1), ends_at=now - timedelta(hours=23), capacity=3))
        key = task.id
    with db.session() as session:
        closed, was_open = coordination.close_task(session, key)
        assert was_open and closed.status == "closed"
        statuses = {o.starts_at < now: o.status for o in session.query(Occurrence).filter_by(task_id=key)}
        assert statuses == {True: "scheduled", False: "cancelled"}
        assert coordination.close_task(session, key)[1] is False


def test_linking_a_group_plans_team_reminders_in_the_group(db: Database) -> None:
    from bot.models import Notification
    from bot.services import notifications, occurrences

    task_id = make_group_task(db)
    with db.session() as session:
        with pytest.raises(InvalidInput):
            coordination.link_group(session, task_id, "12345")  # a private chat is not a group
        task = coordination.link_group(session, task_id, "-100200")
        for occurrence in occurrences.upcoming(session, task.id):
            notifications.plan_group(session, occurrence, RULES)
        rows = session.query(Notification).filter_by(group_chat_id="-100200").all()
        assert {row.kind for row in rows} == {"reminder"} and len(rows) == 2
        assert all(row.citizen_id is None for row in rows)
        claimed = notifications.claim(session, rows[0].id, rows[0].due_at)
        assert claimed.group and (claimed.channel, claimed.address) == ("telegram", "-100200")
        assert session.query(Signup).count() == 0
