"""Coordinators end to end: `python -m bot` as a real process against the fake Bot API
server, on its own database. Coordinator conversations and broadcasts need no Rasa, so
Rasa is not started here (its address points nowhere); the sign-up button of a broadcast
is pressed in test_e2e_telegram-style tests with the full assistant at the end."""
from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot.db import Database
from bot.migrate import upgrade
from bot.models import AuditEntry, Broadcast, CoordinatorDraft, Delivery, Occurrence, Task
from bot.services import broadcasts, citizens, tasks
from bot.services.broadcasts import Audience
from bot.services.demo import ensure_neighbourhoods
from bot.services.privacy import erase_citizen
from tests.conftest import NEIGHBOURHOODS
from tests.fake_telegram import FakeTelegram
from tests.processes import BridgeProcess, free_port
from tests.test_e2e_telegram import TOKEN, Chat, button, waited

pytestmark = pytest.mark.e2e
COORDINATOR = 9001


class Town:
    """A fresh database and a way to start bridges on it."""

    def __init__(self, workdir: Path, fake: FakeTelegram) -> None:
        self.workdir, self.fake = workdir, fake
        self.url = f"sqlite:///{workdir / 'coprod.db'}"
        upgrade(self.url)
        self.db = Database(self.url)
        with self.db.session() as session:
            ensure_neighbourhoods(session, NEIGHBOURHOODS)
        (workdir / "media").mkdir(exist_ok=True)
        self.bridges: list[BridgeProcess] = []

    def bridge(self, name: str = "bridge", **extra: str) -> BridgeProcess:
        env = {
            "TELEGRAM_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": f"{self.fake.url}/bot",
            "DATABASE_URL": self.url,
            "MEDIA_DIR": str(self.workdir / "media"),
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "COORDINATOR_IDS": str(COORDINATOR),
            "QUIET_HOURS": "off",
            **extra,
        }
        process = BridgeProcess(self.workdir, env, name=name)
        process.start()
        self.bridges.append(process)
        start = len(self.fake.calls)
        self.fake.wait_for(lambda c: c["method"] == "getUpdates", timeout=60, start=start)
        return process

    def citizens(self, first_id: int, count: int, area: str = "Riverside") -> list[int]:
        ids = list(range(first_id, first_id + count))
        with self.db.session() as session:
            for user_id in ids:
                self.fake.add_user(user_id)
                citizens.give_consent(session, str(user_id))
                citizens.set_neighbourhood(session, str(user_id), area)
        return ids

    def close(self) -> None:
        for process in self.bridges:
            process.stop()
        self.db.dispose()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(rate_limits=True) as server:
        yield server


@pytest.fixture
def town(tmp_path: Path, fake: FakeTelegram) -> Iterator[Town]:
    place = Town(tmp_path, fake)
    yield place
    place.close()


def received(fake: FakeTelegram, user_ids: list[int], contains: str) -> Counter[int]:
    """How many successful messages containing `contains` each user got."""
    counts: Counter[int] = Counter()
    for call in fake.calls:
        text = call["params"].get("text") or call["params"].get("caption") or ""
        if call["method"] in ("sendMessage", "sendPhoto") and call["status"] == 200 and contains in text:
            counts[call["chat_id"]] += 1
    return Counter({user: counts[user] for user in user_ids})


def final_report(fake: FakeTelegram, timeout: float = 90) -> dict[str, Any]:
    return fake.wait_for(
        lambda c: c["method"] == "editMessageText" and ("finished" in c["params"]["text"] or "cancelled" in c["params"]["text"]),
        timeout=timeout,
    )


def test_a_citizen_cannot_use_coordinator_commands(town: Town, fake: FakeTelegram) -> None:
    town.bridge()
    citizen = Chat(fake, 9100)
    for command in ("/broadcast", "/newtask", "/close 1", "/task 1"):
        citizen.say(command, "This command is for coordinators.")
    with town.db.session() as session:
        assert session.query(Broadcast).count() == 0 and session.query(CoordinatorDraft).count() == 0


def test_newtask_is_a_guided_conversation_with_edit_and_a_share_link(town: Town, fake: FakeTelegram) -> None:
    town.bridge()
    coordinator = Chat(fake, COORDINATOR)
    asked = coordinator.say("/newtask", "What is it called?")
    kind = coordinator.say("Evening litter walk", "group task")
    category = coordinator.press(kind, "Group task", "Which category?")
    area = coordinator.press(category, "Waste", "Which neighbourhood?")
    coordinator.press(area, "Old Town", "Where does it happen")
    coordinator.say("Old Town fountain", "When?")
    retry = coordinator.say("whenever", "Sorry, I can't use that")
    assert "every Friday" in retry["params"]["text"]
    places = coordinator.say("every wednesday 18:00-19:30", "How many people")
    reminders = coordinator.press(places, "8", "remind")
    summary = coordinator.press(reminders, "24 h and 1 h", "Please check the new task")
    assert "every Wednesday" in summary["params"]["text"] and "8 people per session" in summary["params"]["text"]
    which = coordinator.press(summary, "Edit", "What would you like to change?")
    coordinator.press(which, "Title", "What is it called?")
    summary = coordinator.say("Wednesday litter walk", "Please check the new task")
    created = coordinator.press(summary, "Confirm", "is open")
    assert "t.me/coprod_test_bot?start=task_" in created["params"]["text"]
    with town.db.session() as session:
        task = session.query(Task).one()
        assert (task.title, task.kind, task.category, task.capacity, task.recurrence, task.reminder_offsets) == (
            "Wednesday litter walk", "group", "waste", 8, "FREQ=WEEKLY;BYDAY=WE", "1440,60")
        assert task.created_by == str(COORDINATOR)
        assert session.query(Occurrence).filter_by(task_id=task.id).count() >= 8
        key = task.id
    overview = coordinator.say(f"/task {key}", "Wednesday litter walk")
    assert "0 signed up, 8 left" in overview["params"]["text"]
    listing = coordinator.say("/mytasks", f"#{key}")
    assert "Wednesday litter walk" in listing["params"]["text"]
    assert "What is it called?" in asked["params"]["text"]


def test_a_broadcast_reaches_exactly_its_audience_once_with_a_final_report(town: Town, fake: FakeTelegram) -> None:
    riverside = town.citizens(9200, 6)
    elsewhere = town.citizens(9300, 3, area="Hillcrest")
    stopped, erased, blocked = riverside[3], riverside[4], riverside[5]
    with town.db.session() as session:
        citizens.set_notifications(session, str(stopped), False)
        citizens.set_language(session, str(riverside[0]), "ar")
        erase_citizen(session, str(erased))
        task = tasks.create_task(session, title="Saturday clean-up", kind="collective", category="waste",
                                 translations={"ar": {"title": "تنظيف يوم السبت"}})
        task_id = task.id
    fake.block(blocked)
    town.bridge()
    coordinator = Chat(fake, COORDINATOR)
    who = coordinator.say("/broadcast", "Who should get this message?")
    area = coordinator.press(who, "A neighbourhood", "Which neighbourhood?")
    coordinator.press(area, "Riverside", "Write the message")
    other = coordinator.say("Join the clean-up on Saturday at 10:00!", "another language")
    asked = coordinator.press(other, "العربية", "Write the message in")
    other = coordinator.say("Join the clean-up on Saturday at 10:00! انضموا إلى التنظيف", "another language")
    assert "العربية" not in button_titles(other), "each language once"
    offer = coordinator.press(other, "No, that's all", "sign-up button")
    start = coordinator.mark()
    preview = coordinator.press(offer, "Saturday clean-up", "This message will go to 4 citizens")
    languages = coordinator.reply(start, "By language")
    assert "العربية 1" in languages["params"]["text"] and "English 3" in languages["params"]["text"]
    confirm = coordinator.reply(start, "⬆️")
    assert "العربية" in asked["params"]["text"]
    coordinator.press(confirm, "Send to 4")
    report = final_report(fake)
    assert "3 of 4 sent" in report["params"]["text"] and "1 blocked" in report["params"]["text"]
    got = received(fake, riverside + elsewhere, "Join the clean-up")
    assert got == Counter({riverside[0]: 1, riverside[1]: 1, riverside[2]: 1, stopped: 0, erased: 0, blocked: 0,
                           **{user: 0 for user in elsewhere}})
    message = next(c for c in fake.calls if c["chat_id"] == riverside[1] and "Join the clean-up" in (c["params"].get("text") or ""))
    assert button_titles(message) == ["✅ Sign me up: Saturday clean-up"]
    arabic = next(c for c in fake.calls if c["chat_id"] == riverside[0] and "Join the clean-up" in (c["params"].get("text") or ""))
    assert "انضموا" in arabic["params"]["text"] and "تنظيف يوم السبت" in button_titles(arabic)[0]
    assert received(fake, riverside[1:3], "انضموا") == Counter({riverside[1]: 0, riverside[2]: 0})
    with town.db.session() as session:
        assert not citizens.may_notify(session, str(blocked))
        sent = session.query(Delivery).filter_by(status="sent").all()
        assert len(sent) == 3 and all(d.message_id for d in sent)
        assert session.query(Broadcast).one().signup_task_id == task_id
    assert "4 citizens" in preview["params"]["text"]


def button_titles(message: dict[str, Any]) -> list[str]:
    return [key["text"] for row in message["params"]["reply_markup"]["inline_keyboard"] for key in row]


def test_a_429_storm_loses_nothing_and_duplicates_nothing(town: Town, fake: FakeTelegram) -> None:
    people = town.citizens(9400, 40)
    fake.set_global_rate(8)
    town.bridge()
    with town.db.session() as session:
        broadcasts.start(session, str(COORDINATOR), Audience("all"), "Storm test: water cut on Monday")
    assert waited(lambda: sum(received(fake, people, "Storm test").values()) == 40, timeout=120)
    time.sleep(2)
    assert set(received(fake, people, "Storm test").values()) == {1}
    assert any(c["status"] == 429 for c in fake.calls), "the fake never pushed back"
    with town.db.session() as session:
        assert session.query(Delivery).filter_by(status="sent").count() == 40


def test_cancel_stops_delivery(town: Town, fake: FakeTelegram) -> None:
    people = town.citizens(9500, 60)
    fake.set_global_rate(4)
    town.bridge()
    coordinator = Chat(fake, COORDINATOR)
    who = coordinator.say("/broadcast", "Who should get this message?")
    coordinator.press(who, "Everyone", "Write the message")
    other = coordinator.say("Cancel test", "another language")
    offer = coordinator.press(other, "No, that's all", "sign-up button")
    start = coordinator.mark()
    coordinator.press(offer, "No button", "60 citizens")
    confirm = coordinator.reply(start, "⬆️")
    progress = coordinator.press(confirm, "Send to 60", "Broadcast #")
    assert waited(lambda: sum(received(fake, people, "Cancel test").values()) >= 5, timeout=60)
    fake.push_callback(COORDINATOR, progress["result"], button(progress, "Cancel broadcast"))
    report = final_report(fake)
    assert "cancelled" in report["params"]["text"]
    time.sleep(3)
    got = received(fake, people, "Cancel test")
    with town.db.session() as session:
        counts = broadcasts.progress(session, session.query(Broadcast).one().id)
    assert set(got.values()) <= {0, 1}
    assert sum(got.values()) == counts.sent < 60 and counts.skipped == 60 - counts.sent - counts.unknown


def test_kill_9_mid_broadcast_then_restart_sends_nobody_twice(town: Town, fake: FakeTelegram) -> None:
    people = town.citizens(9600, 80)
    fake.set_global_rate(10)
    first = town.bridge("first")
    with town.db.session() as session:
        broadcasts.start(session, str(COORDINATOR), Audience("all"), "Kill test: new recycling days")
    assert waited(lambda: sum(received(fake, people, "Kill test").values()) >= 40, timeout=60)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    town.bridge("second")
    with town.db.session() as session:
        key = session.query(Broadcast).one().id
    assert waited(lambda: _finished(town, key), timeout=120)
    got = received(fake, people, "Kill test")
    with town.db.session() as session:
        unknown = {int(d.chat_id) for d in session.query(Delivery).filter_by(status="unknown")}
        sent = {int(d.chat_id) for d in session.query(Delivery).filter_by(status="sent")}
    assert max(got.values()) == 1, "somebody got the message twice"
    assert {user for user, n in got.items() if n == 0} <= unknown
    assert sent | unknown == set(people) and len(unknown) <= 3


def _finished(town: Town, key: int) -> bool:
    with town.db.session() as session:
        return broadcasts.progress(session, key).waiting == 0


def test_linkgroup_posts_team_reminders_in_the_group_and_close_tells_everyone(town: Town, fake: FakeTelegram) -> None:
    from datetime import timedelta

    from bot.models import Notification, utcnow
    from bot.services import signups
    from bot.services.notifications import Rules
    from bot.services.timing import QuietHours

    people = town.citizens(9700, 2)
    with town.db.session() as session:
        start = utcnow() + timedelta(days=3)
        task = tasks.create_task(session, title="Riverside patrol", kind="group", category="safety",
                                 starts_at=start, ends_at=start + timedelta(hours=2), capacity=5)
        task.created_by, key = str(COORDINATOR), task.id
        for user in people:
            signups.sign_up(session, str(user), key, Rules(QuietHours.parse("off", "UTC")))
    town.bridge()
    group = -5001
    start_index = len(fake.calls)
    fake.push_message(9100, f"/linkgroup@coprod_test_bot {key}", chat_id=group, chat_type="group")
    fake.wait_for(lambda c: c["chat_id"] == group and "for coordinators" in (c["params"].get("text") or ""), start=start_index)
    fake.push_message(COORDINATOR, f"/linkgroup@coprod_test_bot {key}", chat_id=group, chat_type="group")
    fake.wait_for(lambda c: c["chat_id"] == group and "now linked" in (c["params"].get("text") or ""), start=start_index)
    with town.db.session() as session:
        rows = session.query(Notification).filter_by(group_chat_id=str(group)).all()
        assert len(rows) == 2
        rows[0].due_at = utcnow()
    posted = fake.wait_for(lambda c: c["chat_id"] == group and "Team reminder" in (c["params"].get("text") or ""),
                           start=start_index, timeout=30)
    assert "2 of 5 signed up" in posted["params"]["text"]
    coordinator = Chat(fake, COORDINATOR)
    coordinator.say(f"/close {key}", "telling the 2 citizens")
    assert waited(lambda: set(received(fake, people, "has been cancelled").values()) == {1}, timeout=30)
    with town.db.session() as session:
        assert session.get(Task, key).status == "closed"
        audited = [(e.actor, e.action, e.subject_id) for e in session.query(AuditEntry).filter_by(subject_type="task")]
    assert (f"telegram:{COORDINATOR}", "task.link_group", key) in audited
    assert (f"telegram:{COORDINATOR}", "task.close", key) in audited


def test_coordinators_get_their_commands_in_the_menu(town: Town, fake: FakeTelegram) -> None:
    town.bridge()
    scoped = fake.wait_for(lambda c: c["method"] == "setMyCommands" and c["params"].get("scope"), timeout=30)
    assert scoped["params"]["scope"] == {"type": "chat", "chat_id": COORDINATOR}
    names = [c["command"] for c in scoped["params"]["commands"]]
    assert {"newtask", "broadcast", "task", "close", "linkgroup", "mytasks"} <= set(names)


def test_a_photo_uploaded_in_the_dashboard_is_sent_once_then_reused_by_file_id(town: Town, fake: FakeTelegram) -> None:
    people = town.citizens(9900, 3)
    stored = town.workdir / "media" / "broadcasts" / "poster.jpg"
    stored.parent.mkdir(parents=True)
    stored.write_bytes((Path(__file__).parent / "data" / "bins.jpg").read_bytes())
    town.bridge()
    with town.db.session() as session:
        key = broadcasts.start(session, "staff@city.example", Audience("all"), "Poster test",
                               photo=broadcasts.MEDIA_PREFIX + "broadcasts/poster.jpg").id
    assert waited(lambda: sum(received(fake, people, "Poster test").values()) == 3, timeout=60)
    photos = [c for c in fake.calls if c["method"] == "sendPhoto" and c["chat_id"] in people]
    assert len(photos) == 3 and all(c["status"] == 200 for c in photos)
    uploads = [c for c in photos if isinstance(c["params"]["photo"], dict)]
    assert len(uploads) == 1, "the file is uploaded once, then sent by Telegram's file id"
    with town.db.session() as session:
        assert session.get(Broadcast, key).photo.startswith(broadcasts.MEDIA_PREFIX), "kept for the web chat"
