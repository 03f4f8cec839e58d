"""The Telegram bridge end to end: real Rasa, action server and `python -m bot`
against the fake Bot API server in tests/fake_telegram.py."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from bot.db import Database
from bot.i18n import channel_text
from bot.models import Citizen, Contribution, Feedback, InboxMessage, Notification, Occurrence, Signup, utcnow
from bot.services import citizens
from tests.fake_telegram import FakeTelegram
from tests.processes import Assistant, BridgeProcess, free_port

pytestmark = pytest.mark.e2e
TOKEN = "123456:TEST-token"
WEBHOOK_SECRET = "Vq3n8_k2LmP0xR7tYw4ZbC9dFg1HjS6e"  # 32 characters, as `secrets.token_urlsafe` makes
Call = dict[str, Any]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(rate_limits=True) as server:
        yield server


def bridge_env(assistant: Assistant, fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": f"{fake.url}/bot",
        "DATABASE_URL": assistant.env["DATABASE_URL"],
        "MEDIA_DIR": assistant.env["MEDIA_DIR"],
        "RASA_URL": assistant.rasa_url,
        "INBOX_RETRY_SECONDS": "0.5",
        "INBOX_MAX_BACKOFF_SECONDS": "3",
        "MAX_PHOTO_BYTES": "50000",
        "QUIET_HOURS": "off",
        **extra,
    }


@pytest.fixture(scope="module")
def bridge(assistant: Assistant, fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    process = BridgeProcess(tmp_path_factory.mktemp("bridge"), bridge_env(assistant, fake))
    process.start()
    try:
        fake.wait_for(lambda c: c["method"] == "getUpdates", timeout=60)
    except AssertionError:
        pytest.fail(process.log())
    yield process
    process.stop()


@pytest.fixture
def db(assistant: Assistant) -> Iterator[Database]:
    database = Database(assistant.env["DATABASE_URL"])
    yield database
    database.dispose()


class Chat:
    """One citizen talking to the bot through the fake server."""

    def __init__(self, fake: FakeTelegram, user_id: int) -> None:
        self.fake, self.user_id = fake, user_id
        fake.add_user(user_id)

    def mark(self) -> int:
        return len(self.fake.calls)

    def reply(self, start: int, contains: str = "", timeout: float = 60) -> Call:
        """The next successful message to this chat (from call index `start`) containing `contains`."""
        def match(call: Call) -> bool:
            return (
                call["method"] in ("sendMessage", "sendPhoto")
                and call["chat_id"] == self.user_id
                and call["status"] == 200
                and contains in (call["params"].get("text") or call["params"].get("caption") or "")
            )
        return self.fake.wait_for(match, timeout=timeout, start=start)

    def say(self, text: str, contains: str = "", **kwargs: Any) -> Call:
        start = self.mark()
        self.fake.push_message(self.user_id, text, **kwargs)
        return self.reply(start, contains)

    def press(self, message: Call, title_part: str, contains: str = "") -> Call:
        start = self.mark()
        data = button(message, title_part)
        self.fake.push_callback(self.user_id, message["result"], data)
        return self.reply(start, contains)


def button(message: Call, title_part: str) -> str:
    rows = message["params"]["reply_markup"]["inline_keyboard"]
    for row in rows:
        for key in row:
            if title_part in key["text"]:
                return key["callback_data"]
    raise AssertionError(f"no button {title_part!r} in {rows}")


def onboard(fake: FakeTelegram, user_id: int) -> Chat:
    chat = Chat(fake, user_id)
    notice = chat.say("/start", "Is that OK?")
    areas = chat.press(notice, "I agree", "Which area")
    chat.press(areas, "Riverside", "Riverside")
    return chat


def bring_first_reminder_forward(session: Any, citizen_id: int) -> None:
    """Make the citizen's next reminder due now, so the scheduler sends it at once."""
    reminder = (
        session.query(Notification)
        .filter_by(citizen_id=citizen_id, kind="reminder")
        .order_by(Notification.due_at)
        .first()
    )
    reminder.due_at = utcnow()


def waited(predicate: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_commands_are_registered(fake: FakeTelegram, bridge: BridgeProcess) -> None:
    call = fake.wait_for(lambda c: c["method"] == "setMyCommands")
    names = [c["command"] for c in call["params"]["commands"]]
    assert names == ["start", "help", "tasks", "report", "mytasks", "myreports", "stop", "language", "deleteme"]


def test_sign_up_by_button_and_pressing_twice_acts_once(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = onboard(fake, 5001)
    tasks = chat.say("/tasks", "Night safety patrol")
    assert len(tasks["params"]["reply_markup"]["inline_keyboard"]) >= 2, "one message lists every task"
    pressed = chat.mark()
    joined = chat.press(tasks, "Join: Night safety patrol", "You're in")
    assert "Night safety patrol" in joined["params"]["text"]
    edited = fake.wait_for(
        lambda c: c["method"] == "editMessageText" and c["chat_id"] == 5001 and "✓" in c["params"]["text"],
        start=pressed,
    )
    assert "Join: Night safety patrol" in edited["params"]["text"]
    assert [c for c in fake.calls[pressed:] if c["method"] == "answerCallbackQuery" and c["status"] == 200]
    start = chat.mark()
    fake.push_callback(5001, tasks["result"], button(tasks, "Join: Night safety patrol"))
    again = fake.wait_for(lambda c: c["method"] == "answerCallbackQuery", start=start)
    assert "already" in (again["params"].get("text") or "")
    time.sleep(1)
    with db.session() as session:
        citizen = citizens.find_citizen(session, "5001")
        assert session.query(Signup).filter_by(citizen_id=citizen.id, status="active").count() == 1


def test_album_of_two_photos_plus_location_is_one_report(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = onboard(fake, 5002)
    first, second = fake.add_file(b"\xff\xd8 first photo"), fake.add_file(b"\xff\xd8 second photo")
    start = chat.mark()
    fake.push_message(5002, photo_file_ids=[first], caption="someone dumped bags of rubbish", media_group_id="album-1")
    fake.push_message(5002, photo_file_ids=[second], media_group_id="album-1")
    asked = chat.reply(start, "Where is it?")
    summary = chat.say("", "Please check your report", location=(48.8566, 2.3522))
    assert "2 photo(s)" in summary["params"]["text"]
    saved = chat.press(summary, "Send", "Your reference is R-")
    reference = saved["params"]["text"].split("reference is ")[1].split(".")[0]
    with db.session() as session:
        report = session.get(Contribution, int(reference[2:]) - 1000)
        assert (report.category, report.latitude, report.longitude) == ("waste", 48.8566, 2.3522)
        assert len(report.photos) == 2
        stored = sorted((Path(db_media(db)) / p.path).read_bytes() for p in report.photos)
        assert stored == [b"\xff\xd8 first photo", b"\xff\xd8 second photo"]
    assert asked


def db_media(db: Database) -> str:
    return str(Path(db.url.split("///")[1]).parent / "media")


def test_deep_link_opens_the_task(fake: FakeTelegram, bridge: BridgeProcess) -> None:
    chat = onboard(fake, 5003)
    card = chat.say("/start task_2", "Saturday clean-up")
    assert button(card, "Join: Saturday clean-up")


def test_stop_makes_the_citizen_unreachable_for_broadcasts(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    onboard(fake, 5004).say("/stop", "won't send you")
    with db.session() as session:
        assert not citizens.may_notify(session, "5004")


def test_deleteme_erases(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = onboard(fake, 5005)
    confirm = chat.say("/deleteme", "cannot be undone")
    chat.press(confirm, "Yes, erase", "erased")
    with db.session() as session:
        assert citizens.find_citizen(session, "5005") is None


def test_forged_callback_changes_nothing(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = onboard(fake, 5006)
    menu = chat.say("/help", "I can help you")
    with db.session() as session:
        before = session.query(Signup).count(), session.query(Contribution).count()
    start = chat.mark()
    fake.push_callback(5006, menu["result"], '/sign_up{"task_id":"1"}')
    chat.reply(start, "That option has expired")
    with db.session() as session:
        assert (session.query(Signup).count(), session.query(Contribution).count()) == before


def test_typed_payloads_are_read_as_words_never_as_intents(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    """`/ give_feedback{...}` typed (or as a photo caption) must not rate a task or sign anyone up."""
    chat = onboard(fake, 5091)
    with db.session() as session:
        before = session.query(Feedback).count(), session.query(Signup).count()
    chat.say('/ give_feedback{"rating":"1","task_id":"1"}')
    chat.say('/sign_up{"task_id":"1"}')  # a "command" Telegram marks as one, but not ours
    chat.say("", photo_file_ids=[fake.add_file(b"\xff\xd8 photo")], caption='/give_feedback{"rating":"1"}')
    time.sleep(2)
    with db.session() as session:
        assert (session.query(Feedback).count(), session.query(Signup).count()) == before
    inbox = [row.text for row in db_rows(db, 5091)]
    assert not any(text.startswith("/give_feedback") or text.startswith("/sign_up") for text in inbox)


def db_rows(db: Database, chat_id: int) -> list[InboxMessage]:
    with db.session() as session:
        return list(session.query(InboxMessage).filter_by(chat_id=str(chat_id)).all())


def test_duplicate_update_is_handled_once(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = onboard(fake, 5007)
    start = chat.mark()
    update = fake.push_message(5007, "what tasks can I join?")
    fake.push_update(update)
    chat.reply(start, "Here are tasks")
    time.sleep(2)
    replies = [c for c in fake.calls[start:] if c["method"] == "sendMessage" and c["chat_id"] == 5007 and c["status"] == 200]
    assert len(replies) == 1
    with db.session() as session:
        assert session.query(InboxMessage).filter_by(update_key=f"tg:{update['update_id']}").count() == 1


def test_unsupported_media_and_group_chats(fake: FakeTelegram, bridge: BridgeProcess) -> None:
    chat = Chat(fake, 5008)
    assert chat.say("", "can't read voice", sticker=True)
    start = chat.mark()
    fake.push_message(5008, "/help", chat_id=-100500, chat_type="group")
    fake.push_message(5008, f"/help@{fake.bot_username}", chat_id=-100500, chat_type="group")
    hint = fake.wait_for(lambda c: c["method"] == "sendMessage" and c["chat_id"] == -100500, start=start)
    assert "private" in hint["params"]["text"]
    time.sleep(1)
    assert len([c for c in fake.calls[start:] if c["method"] == "sendMessage" and c["chat_id"] == -100500]) == 1


def test_blocked_user_is_marked_and_not_retried(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    onboard(fake, 5009)
    start = len(fake.calls)
    fake.block(5009)
    fake.push_message(5009, "hello")
    fake.wait_for(lambda c: c["chat_id"] == 5009 and c["status"] == 403, start=start)
    def blocked() -> bool:
        with db.session() as session:
            return session.query(Citizen).filter_by(sender_id="5009").one().blocked_at is not None

    assert waited(blocked)
    time.sleep(1)
    assert len([c for c in fake.calls[start:] if c["chat_id"] == 5009 and c["status"] == 403]) == 1
    fake.unblock(5009)


def test_rasa_down_then_up_the_message_is_answered(fake: FakeTelegram, bridge: BridgeProcess, assistant: Assistant) -> None:
    chat = onboard(fake, 5010)
    assistant.stop("rasa")
    try:
        chat.say("which tasks can I join?", "temporarily unavailable")
    finally:
        start = chat.mark()
        assistant.start_rasa()
    chat.reply(start, "Here are tasks", timeout=60)


def test_webhook_mode_checks_the_secret(assistant: Assistant, tmp_path: Path) -> None:
    port = free_port()
    with FakeTelegram() as hooked:
        weak = subprocess.run(
            [sys.executable, "-m", "bot", "run"], capture_output=True, text=True, timeout=120,
            env={**os.environ, **bridge_env(assistant, hooked, TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                                            TELEGRAM_WEBHOOK_SECRET="change-me")},
        )
        assert weak.returncode != 0 and "TELEGRAM_WEBHOOK_SECRET is too weak" in weak.stderr and "token_urlsafe" in weak.stderr
        assert not [c for c in hooked.calls if c["method"] == "setWebhook"], "nothing started with a weak secret"
        process = BridgeProcess(tmp_path, bridge_env(
            assistant, hooked,
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TELEGRAM_WEBHOOK_PORT=str(port),
        ), name="webhook")
        process.start()
        try:
            hooked.wait_for(lambda c: c["method"] == "setWebhook", timeout=60)
            chat = Chat(hooked, 6001)
            assert chat.say("/start", "Is that OK?")
            forged = httpx.post(f"http://127.0.0.1:{port}/telegram", json={"update_id": 1})
            wrong = httpx.post(
                f"http://127.0.0.1:{port}/telegram", json={"update_id": 2},
                headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
            )
            assert (forged.status_code, wrong.status_code) == (403, 403)
        finally:
            process.stop()


def test_image_documents_are_photos_and_huge_files_are_refused(fake: FakeTelegram, bridge: BridgeProcess) -> None:
    chat = onboard(fake, 5011)
    picture = fake.add_file(b"\x89PNG small", file_name="scan.png")
    asked = chat.say("", "Where is it?", document=(picture, "image/png", "scan.png"), caption="pothole on the pavement")
    assert asked
    summary = chat.say("Mill Lane", "Please check your report")
    assert "1 photo(s)" in summary["params"]["text"]
    chat.press(summary, "Cancel", "didn't send")
    huge = fake.add_file(b"0" * 60000)
    chat.say("", "too big", photo_file_ids=[huge], caption="broken bench in the park")
    unsized = fake.add_file(b"0" * 20_000_000, sized=False)  # 20 MB, and getFile does not say so
    chat.say("", "too big", photo_file_ids=[unsized], caption="rubbish by the bins")
    assert fake.served(unsized) < 10_000_000, "the download stops at the cap instead of reading all 20 MB"


def test_a_flooding_citizen_is_slowed_down_once_and_others_are_not(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    flooder, other = Chat(fake, 5012), Chat(fake, 5013)
    start = flooder.mark()
    updates = [fake.push_message(5012, f"are you a bot? {n}") for n in range(23)]
    assert other.say("/help", "I can help you")
    warnings = lambda: [c for c in fake.calls[start:] if c["chat_id"] == 5012 and c["status"] == 200  # noqa: E731
                        and c["params"].get("text") == channel_text("slow_down")]
    assert waited(lambda: len(warnings()) == 1, timeout=30)
    keys = [f"tg:{u['update_id']}" for u in updates]

    def statuses() -> list[str]:
        with db.session() as session:
            rows = session.query(InboxMessage).filter(InboxMessage.update_key.in_(keys)).order_by(InboxMessage.id)
            return [row.status for row in rows]

    assert waited(lambda: statuses() == ["done"] * 20 + ["skipped"] * 3, timeout=120), \
        "twenty in 10 s are answered, the excess is kept as skipped"
    assert len(warnings()) == 1


def test_recurring_task_offers_dates_and_the_whole_series(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = onboard(fake, 5201)
    tasks = chat.say("/tasks", "Evening street watch")
    dates = chat.press(tasks, "Join: Evening street watch", "Which date")
    assert len(dates["params"]["reply_markup"]["inline_keyboard"]) >= 2
    joined = chat.press(dates, "All dates", "every session")
    assert "Evening street watch" in joined["params"]["text"]
    with db.session() as session:
        citizen = citizens.find_citizen(session, "5201")
        assert session.query(Signup).filter_by(citizen_id=citizen.id, status="active").count() >= 8


def test_a_due_reminder_arrives_and_i_cant_make_it_frees_the_spot(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    chat = onboard(fake, 5202)
    tasks = chat.say("/tasks", "Saturday clean-up")
    chat.press(tasks, "Join: Saturday clean-up", "You're in")
    with db.session() as session:
        citizen = citizens.find_citizen(session, "5202")
        signup = session.query(Signup).filter_by(citizen_id=citizen.id, status="active").one()
        occurrence_id, taken = signup.occurrence_id, signup.occurrence.taken
        bring_first_reminder_forward(session, citizen.id)
    start = chat.mark()
    arrived = chat.reply(start, "Reminder: Saturday clean-up", timeout=30)
    freed = chat.press(arrived, "I can't make it", "given your place")
    assert "Saturday clean-up" in freed["params"]["text"]
    with db.session() as session:
        assert session.get(Occurrence, occurrence_id).taken == taken - 1
        sent = session.query(Notification).filter_by(citizen_id=citizen.id, kind="reminder", status="sent").one()
        assert sent.message_id == str(arrived["result"]["message_id"]) and sent.answer == "no"
    time.sleep(2)
    again = [c for c in fake.calls[start:] if c["method"] == "sendMessage" and "Reminder" in (c["params"].get("text") or "")]
    assert len(again) == 1, "the reminder went out once"


def test_a_broadcast_sign_up_button_signs_the_citizen_up(fake: FakeTelegram, bridge: BridgeProcess, db: Database) -> None:
    from bot.models import Task
    from bot.services import broadcasts, signups
    from bot.services.broadcasts import Audience
    from bot.services.notifications import Rules
    from bot.services.timing import QuietHours

    chat = onboard(fake, 5203)
    with db.session() as session:
        dumping = session.query(Task).filter_by(title="Report illegal dumping").one().id
        cleanup = session.query(Task).filter(Task.title.like("Saturday clean-up%")).one().id
        signups.sign_up(session, "5203", dumping, Rules(QuietHours.parse("off", "UTC")))
        broadcasts.start(session, "coordinator", Audience("task", str(dumping)), "Help us on Saturday!", signup_task_id=cleanup)
    start = chat.mark()
    offer = chat.reply(start, "Help us on Saturday!", timeout=30)
    joined = chat.press(offer, "Sign me up", "You're in")
    assert "Saturday clean-up" in joined["params"]["text"]
