"""Reminders, prompts and follow-ups: right instant, right people, never twice.

Time is controlled with time-machine; nothing sleeps for real.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.db import Database
from bot.models import Contribution, Feedback, Notification, Occurrence, Signup
from bot.channels import Channels, Delivery, Message
from bot.scheduler import Scheduler
from bot.services import citizens, notifications, occurrences, progress, signups, tasks, workflow
from bot.services.contributions import ContributionInput, create_contribution
from bot.services.feedback import record_feedback
from bot.services.notifications import Rules
from bot.services.privacy import erase_citizen
from bot.services.timing import QuietHours
from tests.conftest import make_citizen

PARIS = ZoneInfo("Europe/Paris")
RULES = Rules(QuietHours.parse("21:00-08:00", "Europe/Paris"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def paris(text: str) -> datetime:
    """A Paris wall-clock time as naive UTC (the storage form)."""
    local = datetime.fromisoformat(text).replace(tzinfo=PARIS)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


class FakeSender:
    """A channel that records what would reach Telegram; can pretend a chat blocked the bot."""

    name = "telegram"
    rate = None

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.blocked: set[str] = set()

    async def send(self, chat_id: str, message: Message) -> Delivery:
        if chat_id in self.blocked:
            return Delivery("blocked")
        self.sent.append((chat_id, message.text, message.buttons))
        return Delivery("sent", len(self.sent))

    def to(self, chat_id: str) -> list[str]:
        return [text for chat, text, _ in self.sent if chat == chat_id]


def make_patrol(db: Database, first_start: datetime, recurrence: str | None = None, capacity: int = 3) -> int:
    with db.session() as session:
        return tasks.create_task(
            session, title="Friday patrol", kind="group", category="safety", place="Footbridge",
            starts_at=first_start, ends_at=first_start + timedelta(hours=2), capacity=capacity,
            recurrence=recurrence, tz=PARIS,
        ).id


def due_times(db: Database, kind: str) -> list[datetime]:
    with db.session() as session:
        rows = session.query(Notification).filter_by(kind=kind).order_by(Notification.due_at)
        return [row.due_at for row in rows]


async def run_until(scheduler: Scheduler, traveller: time_machine.Coordinates, until: datetime, step: timedelta) -> None:
    """Move the clock forward in steps, letting the scheduler send what falls due."""
    while True:
        await scheduler.tick()
        await scheduler.drain()
        now = datetime.utcnow()
        if now >= until:
            return
        traveller.shift(min(step, until - now))


def test_weekly_sessions_keep_local_time_across_the_clock_change(db: Database) -> None:
    make_citizen(db, "ana")
    now = paris("2026-10-14T12:00")
    task_id = make_patrol(db, paris("2026-10-16T20:00"), "FREQ=WEEKLY;BYDAY=FR")
    with db.session() as session:
        occurrences.materialise(session, session.get(tasks.Task, task_id), PARIS, now)
        joined = signups.sign_up(session, "ana", task_id, RULES, series=True, now=now)
        starts = [s.occurrence.starts_at for s in joined.signups][:3]
    # Summer time ends on 25 October: 20:00 in Paris is 18:00 UTC before, 19:00 UTC after.
    assert starts == [utc("2026-10-16T18:00"), utc("2026-10-23T18:00"), utc("2026-10-30T19:00")]
    reminders = due_times(db, "reminder")
    assert paris("2026-10-29T20:00") in reminders  # 24 h before, across the change: still 20:00 local
    assert paris("2026-10-30T19:00") in reminders  # 1 h before
    assert paris("2026-10-22T20:00") in reminders and paris("2026-10-23T19:00") in reminders


def test_quiet_hours_move_reminders_earlier_for_early_events_and_later_otherwise(db: Database) -> None:
    quiet = RULES.quiet
    # A 07:00 event: its 1 h reminder (06:00) would be quiet, so it goes out the evening before.
    assert quiet.before_event(paris("2026-12-02T06:00"), paris("2026-12-02T07:00")) == paris("2026-12-01T20:45")
    # An 08:30 event: the reminder waits for the end of the quiet hours.
    assert quiet.before_event(paris("2026-12-02T07:30"), paris("2026-12-02T08:30")) == paris("2026-12-02T08:00")
    # Outside quiet hours nothing moves; prompts after an event never move earlier.
    assert quiet.before_event(paris("2026-12-02T19:00"), paris("2026-12-02T20:00")) == paris("2026-12-02T19:00")
    assert quiet.after(paris("2026-12-02T23:00")) == paris("2026-12-03T08:00")
    assert quiet.after(paris("2026-12-03T01:00")) == paris("2026-12-03T08:00")
    # Spring forward: the quiet window still ends at 08:00 local.
    assert quiet.after(paris("2027-03-28T02:30")) == paris("2027-03-28T08:00")


def test_feedback_prompt_after_a_late_event_waits_for_the_morning(db: Database) -> None:
    make_citizen(db, "ana")
    now = paris("2026-12-01T12:00")
    task_id = make_patrol(db, paris("2026-12-04T20:00"))
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES, now=now)
    assert due_times(db, "feedback_prompt") == [paris("2026-12-05T08:00")]
    assert due_times(db, "reminder") == [paris("2026-12-03T20:00"), paris("2026-12-04T19:00")]


@pytest.mark.anyio
async def test_reminders_go_out_at_their_instant_with_what_when_where_and_buttons(db: Database) -> None:
    make_citizen(db, "ana")
    start = paris("2026-12-04T20:00")
    with time_machine.travel(paris("2026-12-01T12:00"), tick=False) as traveller:
        task_id = make_patrol(db, start)
        with db.session() as session:
            signups.sign_up(session, "ana", task_id, RULES)
        sender = FakeSender()
        scheduler = Scheduler(db, Channels(sender), RULES, "Europe/Paris")
        await run_until(scheduler, traveller, paris("2026-12-03T19:59"), timedelta(hours=1))
        assert sender.sent == []
        traveller.move_to(paris("2026-12-03T20:00"))
        await run_until(scheduler, traveller, paris("2026-12-03T20:00"), timedelta(minutes=1))
        assert len(sender.sent) == 1
        _, text, buttons = sender.sent[0]
        assert "Friday patrol" in text and "20:00" in text and "Footbridge" in text
        assert [title for title, _ in buttons] == ["I'll be there", "I can't make it", "Remind me later"]
        assert all('"notice"' in payload for _, payload in buttons)
        await run_until(scheduler, traveller, paris("2026-12-05T12:00"), timedelta(minutes=30))
    kinds = [text.split()[0] for text in sender.to("ana")]
    assert len(kinds) == 3 and "Did you take part" in sender.sent[2][1]


@pytest.mark.anyio
async def test_restart_sends_what_still_makes_sense_and_drops_the_rest(db: Database) -> None:
    make_citizen(db, "ana")
    make_citizen(db, "ben")
    with time_machine.travel(paris("2026-12-01T12:00"), tick=False) as traveller:
        early = make_patrol(db, paris("2026-12-02T18:00"))
        with db.session() as session:
            signups.sign_up(session, "ana", early, RULES)
            signups.sign_up(session, "ben", early, RULES)
        # The process is down from now until the evening after the event.
        traveller.move_to(paris("2026-12-03T10:00"))
        sender = FakeSender()
        scheduler = Scheduler(db, Channels(sender), RULES, "Europe/Paris")
        scheduler.recover()
        await scheduler.tick()
        await scheduler.drain()
    # Reminders for an event that already happened are dropped; the prompt (<24 h late) is sent.
    assert [text.startswith("Thank you for signing up") for text in sender.to("ana")] == [True]
    assert len(sender.to("ben")) == 1
    with db.session() as session:
        statuses = {(n.kind, n.status) for n in session.query(Notification)}
    assert statuses == {("reminder", "expired"), ("feedback_prompt", "sent")}


@pytest.mark.anyio
async def test_a_crash_between_send_and_record_never_sends_twice(db: Database) -> None:
    make_citizen(db, "ana")
    with time_machine.travel(paris("2026-12-01T12:00"), tick=False) as traveller:
        task_id = make_patrol(db, paris("2026-12-04T20:00"))
        with db.session() as session:
            signups.sign_up(session, "ana", task_id, RULES)
        traveller.move_to(paris("2026-12-03T20:00"))
        with db.session() as session:
            (due,) = notifications.due_ids(session, datetime.utcnow())
            assert notifications.claim(session, due) is not None
        # ... Telegram got the message, then the process died before recording it.
        sender = FakeSender()
        restarted = Scheduler(db, Channels(sender), RULES, "Europe/Paris")
        assert restarted.recover() == 1
        await restarted.tick()
        await restarted.drain()
    assert sender.sent == []
    with db.session() as session:
        assert session.get(Notification, due).status == "unknown"


@pytest.mark.anyio
async def test_opted_out_blocked_and_erased_citizens_get_nothing(db: Database) -> None:
    for name in ("ana", "ben", "cleo", "dan"):
        make_citizen(db, name)
    with time_machine.travel(paris("2026-12-01T12:00"), tick=False) as traveller:
        task_id = make_patrol(db, paris("2026-12-04T20:00"), capacity=4)
        with db.session() as session:
            for name in ("ana", "ben", "cleo", "dan"):
                signups.sign_up(session, name, task_id, RULES)
            citizens.set_notifications(session, "ben", False)
            erase_citizen(session, "cleo")
        sender = FakeSender()
        sender.blocked.add("dan")
        scheduler = Scheduler(db, Channels(sender), RULES, "Europe/Paris")
        traveller.move_to(paris("2026-12-03T20:00"))
        await scheduler.tick()
        await scheduler.drain()
    assert [chat for chat, _, _ in sender.sent] == ["ana"]
    with db.session() as session:
        assert session.query(Notification).filter(Notification.citizen_id.is_(None)).count() == 0
        ben = citizens.find_citizen(session, "ben")
        assert {n.status for n in session.query(Notification).filter_by(citizen_id=ben.id, due_at=paris("2026-12-03T20:00"))} == {"skipped"}


@pytest.mark.anyio
async def test_a_cancelled_sign_up_is_not_reminded_and_rejoining_revives_it(db: Database) -> None:
    make_citizen(db, "ana")
    with time_machine.travel(paris("2026-12-01T12:00"), tick=False) as traveller:
        task_id = make_patrol(db, paris("2026-12-04T20:00"))
        with db.session() as session:
            signups.sign_up(session, "ana", task_id, RULES)
            signups.cancel_signup(session, "ana", task_id)
        sender = FakeSender()
        scheduler = Scheduler(db, Channels(sender), RULES, "Europe/Paris")
        traveller.move_to(paris("2026-12-03T20:00"))
        await scheduler.tick()
        await scheduler.drain()
        assert sender.sent == []
        traveller.move_to(paris("2026-12-04T10:00"))
        with db.session() as session:
            signups.sign_up(session, "ana", task_id, RULES)
        traveller.move_to(paris("2026-12-04T19:00"))
        await scheduler.tick()
        await scheduler.drain()
    assert len(sender.to("ana")) == 1


def test_resolving_a_report_tells_the_reporter_and_follows_up(db: Database, media_dir) -> None:  # type: ignore[no-untyped-def]
    make_citizen(db, "ana")
    now = paris("2026-12-01T22:30")
    with db.session() as session:
        report = create_contribution(session, "ana", ContributionInput(category="lighting", description="Lamp out"), media_dir, 1000)
        workflow.set_status(session, report.id, "resolved", RULES, public_note="New bulb fitted", now=now)
        workflow.set_status(session, report.id, "resolved", RULES, now=now)
    assert due_times(db, "report_resolved") == [paris("2026-12-02T08:00")]
    assert due_times(db, "report_followup") == [paris("2026-12-16T08:00")]


@pytest.mark.anyio
async def test_group_progress_counts_the_team_week_and_respects_opt_out(db: Database, media_dir) -> None:  # type: ignore[no-untyped-def]
    for name in ("ana", "ben"):
        make_citizen(db, name)
    with time_machine.travel(paris("2026-11-30T12:00"), tick=False) as traveller:
        task_id = make_patrol(db, paris("2026-12-01T20:00"), "FREQ=DAILY;COUNT=5")
        with db.session() as session:
            signups.sign_up(session, "ana", task_id, RULES, series=True)
            first = occurrences.next_occurrence(session, task_id)
            signups.sign_up(session, "ben", task_id, RULES, occurrence_id=first.id)
            create_contribution(session, "ben", ContributionInput(category="safety", description="Broken gate"), media_dir, 1000)
            citizens.set_progress_notes(session, "ben", False)
        traveller.move_to(paris("2026-12-06T17:00"))
        with db.session() as session:
            absent = session.query(Signup).filter_by(occurrence_id=first.id + 1).one()
            absent.attendance = "absent"
            assert progress.plan_weekly_notes(session, RULES) == 0  # last week had no shifts
        traveller.move_to(paris("2026-12-07T09:00"))  # down at 18:00 on Sunday: planned on restart
        sender = FakeSender()
        scheduler = Scheduler(db, Channels(sender), RULES, "Europe/Paris")
        scheduler.recover()
        with db.session() as session:
            assert progress.plan_weekly_notes(session, RULES) == 2  # same week: same two rows
            assert session.query(Notification).filter_by(kind="group_progress").count() == 2
        await scheduler.tick()
        await scheduler.drain()
        traveller.move_to(paris("2026-12-09T19:00"))
        with db.session() as session:
            assert progress.plan_weekly_notes(session, RULES) == 0  # too late to tell that week
    assert sender.to("ben") == []
    (note,) = [text for text in sender.to("ana") if text.startswith("👥")]
    assert "covered 4 of 5 shifts" in note and "sent 1 reports" in note


def test_feedback_on_a_session_is_stored_against_that_occurrence(db: Database) -> None:
    make_citizen(db, "ana")
    now = paris("2026-11-30T12:00")
    task_id = make_patrol(db, paris("2026-12-01T20:00"), "FREQ=WEEKLY")
    with db.session() as session:
        occurrences.materialise(session, session.get(tasks.Task, task_id), PARIS, now)
        second = occurrences.upcoming(session, task_id, now)[1]
        signups.sign_up(session, "ana", task_id, RULES, occurrence_id=second.id, now=now)
        record_feedback(session, "ana", 4, None, occurrence_id=second.id, idempotency_key="k", now=second.starts_at)
    with db.session() as session:
        stored = session.query(Feedback).one()
        assert (stored.occurrence_id, stored.task_id, stored.rating) == (second.id, task_id, 4)
        assert session.get(Occurrence, second.id).task_id == task_id


def test_remind_later_asks_again_in_two_hours_or_when_asked_but_never_too_late(db: Database) -> None:
    make_citizen(db, "ana")
    now = paris("2026-12-01T12:00")
    task_id = make_patrol(db, paris("2026-12-04T20:00"))
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES, now=now)
        reminder = session.query(Notification).filter_by(kind="reminder").order_by(Notification.due_at).first()
        reminder.status, reminder.sent_at = "sent", paris("2026-12-03T20:00")
        asked = paris("2026-12-03T20:05")
        # 22:05 is quiet and the event is the next evening: the question waits for 08:00.
        assert notifications.remind_later(session, reminder, RULES, None, asked) == paris("2026-12-04T08:00")
        prompt = session.query(Notification).filter_by(kind="reminder").order_by(Notification.due_at.desc()).first()
        prompt.status, prompt.sent_at, prompt.answered_at = "sent", paris("2026-12-04T19:00"), None
        assert notifications.remind_later(session, prompt, RULES, paris("2026-12-05T10:00"), paris("2026-12-04T19:05")) is None


def test_planning_twice_stores_each_message_once(db: Database) -> None:
    make_citizen(db, "ana")
    now = paris("2026-12-01T12:00")
    task_id = make_patrol(db, paris("2026-12-04T20:00"))
    with db.session() as session:
        joined = signups.sign_up(session, "ana", task_id, RULES, now=now)
        notifications.plan_signup(session, joined.signups[0], RULES, now)
        assert session.query(Notification).count() == 3


def test_reports_followup_is_skipped_when_staff_reopened_it_meanwhile(db: Database, media_dir) -> None:  # type: ignore[no-untyped-def]
    make_citizen(db, "ana")
    now = paris("2026-12-01T12:00")
    with db.session() as session:
        report = create_contribution(session, "ana", ContributionInput(category="roads", description="Pothole"), media_dir, 1000)
        workflow.set_status(session, report.id, "resolved", RULES, now=now)
        workflow.set_status(session, report.id, "in_progress", RULES, now=now)
        followup = session.query(Notification).filter_by(kind="report_followup").one()
        assert notifications.claim(session, followup.id, followup.due_at) is None
        assert followup.status == "skipped"
        assert session.get(Contribution, report.id).status == "in_progress"


def _sent_reminder(db: Database, name: str, task_id: int, kind: str = "reminder") -> int:
    with db.session() as session:
        citizen = citizens.find_citizen(session, name)
        notice = session.query(Notification).filter_by(citizen_id=citizen.id, kind=kind).order_by(Notification.due_at).first()
        notice.status, notice.sent_at = "sent", datetime.utcnow()
        return notice.id


def test_i_cant_make_it_frees_the_spot_and_a_second_tap_does_nothing(db: Database) -> None:
    from actions.onboarding import ActionDeny
    from tests.test_actions import responses, run, tracker

    make_citizen(db, "ana")
    task_id = make_patrol(db, datetime.utcnow() + timedelta(days=2))
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES)
        assert occurrences.next_occurrence(session, task_id).taken == 1
    notice = _sent_reminder(db, "ana", task_id)
    button = tracker(intent="deny", entities=[{"entity": "notice", "value": str(notice)}], text="/deny")
    messages, _ = run(ActionDeny(), button)
    assert responses(messages) == ["utter_spot_freed"]
    with db.session() as session:
        assert occurrences.next_occurrence(session, task_id).taken == 0
        assert session.query(Signup).one().status == "cancelled"
    messages, _ = run(ActionDeny(), button)
    assert responses(messages) == ["utter_already_answered"]


def test_a_typed_yes_answers_the_latest_prompt_and_starts_the_rating(db: Database) -> None:
    from actions.feedback import ActionSubmitFeedback
    from actions.onboarding import ActionAffirm
    from tests.test_actions import responses, run, tracker

    make_citizen(db, "ana")
    now = datetime.utcnow()
    task_id = make_patrol(db, now + timedelta(days=1), "FREQ=WEEKLY")
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES, series=True)
        upcoming = occurrences.upcoming(session, task_id)[1]
        second, ended = upcoming.id, upcoming.ends_at
        prompt = session.query(Notification).filter_by(kind="feedback_prompt", occurrence_id=second).one()
        prompt.status, prompt.sent_at = "sent", ended
    with time_machine.travel(ended + timedelta(hours=1), tick=False):  # the prompt comes after the session
        messages, events = run(ActionAffirm(), tracker(intent="affirm", text="yes I was there"))
        assert responses(messages) == ["utter_glad_you_took_part"]
        slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
        assert slots["occurrence_id"] == str(second)
        assert [e["name"] for e in events if e.get("event") == "followup"] == ["feedback_form"]
        run(ActionSubmitFeedback(), tracker(rating="5", feedback_comment="", message_id="m2", **slots))
    with db.session() as session:
        feedback = session.query(Feedback).one()
        assert (feedback.occurrence_id, feedback.rating) == (second, 5)
        assert session.query(Signup).filter_by(occurrence_id=second).one().attendance == "attended"


def test_no_to_the_follow_up_reopens_the_report(db: Database, media_dir) -> None:  # type: ignore[no-untyped-def]
    from actions.onboarding import ActionDeny
    from tests.test_actions import responses, run, tracker

    make_citizen(db, "ana")
    with db.session() as session:
        report = create_contribution(session, "ana", ContributionInput(category="roads", description="Pothole"), media_dir, 1000)
        workflow.set_status(session, report.id, "resolved", RULES)
    notice = _sent_reminder(db, "ana", 0, kind="report_followup")
    messages, _ = run(ActionDeny(), tracker(intent="deny", entities=[{"entity": "notice", "value": str(notice)}]))
    assert responses(messages) == ["utter_report_reopened"]
    with db.session() as session:
        reopened = session.get(Contribution, report.id)
        assert reopened.status == "in_progress" and reopened.reopened_at is not None


def test_someone_elses_notice_cannot_be_answered(db: Database) -> None:
    from actions.onboarding import ActionDeny
    from tests.test_actions import responses, run, tracker

    make_citizen(db, "ana")
    make_citizen(db, "ben")
    task_id = make_patrol(db, datetime.utcnow() + timedelta(days=2))
    with db.session() as session:
        signups.sign_up(session, "ana", task_id, RULES)
    notice = _sent_reminder(db, "ana", task_id)
    forged = tracker(sender="ben", intent="deny", entities=[{"entity": "notice", "value": str(notice)}])
    messages, _ = run(ActionDeny(), forged)
    assert responses(messages) == ["utter_notice_expired"]
    with db.session() as session:
        assert occurrences.next_occurrence(session, task_id).taken == 1


CRASHING_CHILD = """
import asyncio, sys
from bot.db import Database
from bot.channels import Channels
from bot.scheduler import Scheduler
from bot.services.notifications import Rules
from bot.services.timing import QuietHours

class TelegramThenDeath:
    name, rate = "telegram", None

    async def send(self, chat_id, message):
        with open(sys.argv[2], "a") as log:
            log.write(chat_id + "\\n")
        await asyncio.sleep(3600)  # killed here: Telegram has the message, the database does not know

async def main():
    scheduler = Scheduler(Database(sys.argv[1]), Channels(TelegramThenDeath()), Rules(QuietHours.parse("off", "UTC")), "UTC")
    scheduler.recover()
    await scheduler.tick()
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.anyio
async def test_kill_9_after_telegram_got_the_message_never_duplicates(db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys
    import time

    names = [f"c{i}" for i in range(5)]
    for name in names:
        make_citizen(db, name)
    task_id = make_patrol(db, datetime.utcnow() + timedelta(hours=3), capacity=5)
    with db.session() as session:
        for name in names:
            signups.sign_up(session, name, task_id, Rules(QuietHours.parse("off", "UTC")))
        session.query(Notification).filter_by(kind="reminder").update({"due_at": datetime.utcnow()})
    log = tmp_path / "telegram.log"
    child = subprocess.Popen([sys.executable, "-c", CRASHING_CHILD, db.url, str(log)], cwd=os.getcwd())
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text().count("\n") >= 1) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    reached = log.read_text().split()
    assert reached, "the child never sent anything"
    sender = FakeSender()
    restarted = Scheduler(db, Channels(sender), Rules(QuietHours.parse("off", "UTC")), "UTC")
    restarted.recover()
    await restarted.tick()
    await restarted.drain()
    delivered = reached + [chat for chat, _, _ in sender.sent]
    assert len(delivered) == len(set(delivered)), "a citizen got the same reminder twice"
    with db.session() as session:
        reminders = session.query(Notification).filter_by(kind="reminder", status="sent").count()
        unknown = session.query(Notification).filter_by(kind="reminder", status="unknown").count()
    assert reminders == len(sender.sent) and unknown == 5 - len(sender.sent) >= len(reached)


def test_nightly_retention_drops_old_messages_and_orphan_photos_only(db: Database, media_dir) -> None:  # type: ignore[no-untyped-def]
    import os

    from bot.models import InboxMessage
    from bot.services import inbox
    from bot.services.contributions import PhotoInput
    from bot.services.inbox import Incoming

    make_citizen(db, "ana")
    for name in ("kept.jpg", "orphan.jpg", "fresh.jpg"):
        (media_dir / name).write_bytes(b"jpeg")
    day_old = (datetime.now() - timedelta(days=2)).timestamp()
    for name in ("kept.jpg", "orphan.jpg"):
        os.utime(media_dir / name, (day_old, day_old))
    with db.session() as session:
        create_contribution(session, "ana", ContributionInput(category="waste", photos=[PhotoInput("kept.jpg")]), media_dir, 10_000)
        old = inbox.accept(session, Incoming("tg:old", "ana", "ana", "hello", {}))
        inbox.accept(session, Incoming("tg:new", "ana", "ana", "hello again", {}))
        old.status, old.handled_at = "done", datetime.utcnow() - timedelta(days=31)
    scheduler = Scheduler(db, Channels(FakeSender()), RULES, "Europe/Paris", media_dir=media_dir)
    assert scheduler.retention() == 1
    assert sorted(p.name for p in media_dir.iterdir()) == ["fresh.jpg", "kept.jpg"]
    with db.session() as session:
        assert [m.update_key for m in session.query(InboxMessage)] == ["tg:new"]


def test_retention_keeps_a_broadcast_photo_for_30_days_after_the_broadcast(db: Database, media_dir) -> None:  # type: ignore[no-untyped-def]
    import os

    from bot.services import broadcasts
    from bot.services.broadcasts import Audience

    make_citizen(db, "ana")
    (media_dir / "broadcasts").mkdir()
    poster = media_dir / "broadcasts" / "poster.jpg"
    poster.write_bytes(b"jpeg")
    day_old = (datetime.now() - timedelta(days=2)).timestamp()
    os.utime(poster, (day_old, day_old))
    with db.session() as session:
        key = broadcasts.start(session, "staff", Audience("all"), "Poster", photo="media:broadcasts/poster.jpg").id
    scheduler = Scheduler(db, Channels(FakeSender()), RULES, "Europe/Paris", media_dir=media_dir)
    assert scheduler.retention() == 0 and poster.exists()
    with db.session() as session:
        broadcasts.cancel(session, key).finished_at = datetime.utcnow() - timedelta(days=31)
    assert scheduler.retention() == 1 and not poster.exists()


def test_nightly_retention_copes_with_50000_files_and_keeps_the_one_a_report_uses(db: Database, media_dir) -> None:  # type: ignore[no-untyped-def]
    """One IN (...) per file used to fail past SQLite's 32,766 variables, rolling back every night."""
    import os

    from bot.services.contributions import PhotoInput

    make_citizen(db, "ana")
    day_old = (datetime.now() - timedelta(days=2)).timestamp()
    folder = media_dir / "2026" / "11"
    folder.mkdir(parents=True)
    for number in range(50_000):
        path = folder / f"{number:05d}.jpg"
        path.write_bytes(b"")
        os.utime(path, (day_old, day_old))
    with db.session() as session:
        create_contribution(session, "ana", ContributionInput(category="waste", photos=[PhotoInput("2026/11/31337.jpg")]), media_dir, 10_000)
    from sqlalchemy import event

    widest: list[int] = [0]

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        widest[0] = max(widest[0], len(parameters) if not executemany else 0)

    event.listen(db.engine, "before_cursor_execute", count)
    scheduler = Scheduler(db, Channels(FakeSender()), RULES, "Europe/Paris", media_dir=media_dir)
    assert scheduler.retention() == 49_999
    event.remove(db.engine, "before_cursor_execute", count)
    assert [p.name for p in folder.iterdir()] == ["31337.jpg"]
    assert widest[0] <= 1000, "each query stays far below SQLite's limit of bound variables (32,766 by default)"
