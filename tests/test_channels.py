"""The sending layer: each citizen is written to on their own channel, a citizen who
cannot be reached now is counted (never a silent failure), and one broken send
never stalls the rest of a broadcast or the scheduler."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.broadcaster import Broadcaster
from bot.channels import Channels, Delivery, Message
from bot.db import Database
from bot.models import Broadcast, Citizen, Delivery as DeliveryRow, Notification, utcnow
from bot.services import broadcasts, citizens, privacy, workflow
from bot.services.contributions import ContributionInput, create_contribution
from bot.services.broadcasts import Audience
from bot.services.messaging import webchat
from bot.services.notifications import Rules
from bot.services.timing import QuietHours
from bot.webchat.channel import WebChannel
from bot.webchat.push import WebPush, new_keys
from tests.conftest import make_citizen
from tests.fake_push import FakePushService

RULES = Rules(QuietHours.parse("off", "UTC"))


class Telegramish:
    """A channel that takes every message, except that one send raises."""

    name = "telegram"
    rate = None

    def __init__(self, explode_on: int | None = None) -> None:
        self.sent: list[str] = []
        self.calls = 0
        self.explode_on = explode_on

    async def send(self, address: str, message: Message) -> Delivery:
        self.calls += 1
        if self.calls == self.explode_on:
            raise RuntimeError("the wire broke")
        self.sent.append(address)
        return Delivery("sent", self.calls)


def web_citizen(db: Database, online: bool = False) -> str:
    with db.session() as session:
        visitor = webchat.adopt(session, "s" * 20 + str(id(object())) + str(utcnow().timestamp()))
        citizens.give_consent(session, visitor.sender_id)
        if online:
            webchat.seen(session, visitor.id)
        return visitor.sender_id


async def broadcast_all(db: Database, channels: Channels, text: str = "Clean-up on Saturday!") -> int:
    with db.session() as session:
        key = broadcasts.start(session, "staff", Audience("all"), text).id
    sender = Broadcaster(db, channels, RULES)
    running = asyncio.create_task(sender.run())
    for _ in range(200):
        await asyncio.sleep(0.05)
        with db.session() as session:
            if session.get(Broadcast, key).status == "done":
                break
    await sender.stop()
    running.cancel()
    return key


def test_consent_records_the_channel_and_address_of_each_kind_of_sender(db: Database) -> None:
    with db.session() as session:
        for sender in ("123456", "web-abc", "local-1a2b"):
            citizens.give_consent(session, sender)
        found = {c.sender_id: (c.channel, c.address) for c in session.query(Citizen)}
    assert found == {"123456": ("telegram", "123456"), "web-abc": ("web", "web-abc"), "local-1a2b": ("terminal", None)}


def test_a_mixed_broadcast_with_a_send_that_breaks_half_way_finishes_with_a_report_that_adds_up(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    for number in range(10):
        make_citizen(db, str(7000 + number))
    online = web_citizen(db, online=True)
    offline = [web_citizen(db), web_citizen(db)]
    with db.session() as session:
        citizens.give_consent(session, "local-terminal")  # `make chat`: nothing can reach it later
    telegram = Telegramish(explode_on=5)
    with caplog.at_level(logging.ERROR):
        key = asyncio.run(broadcast_all(db, Channels(WebChannel(db), telegram)))
    with db.session() as session:
        progress = broadcasts.progress(session, key)
        errors = {row.chat_id: row.error for row in session.query(DeliveryRow).filter_by(status="failed")}
        lines = {sender: [line.text for line in webchat.history(session, webchat.by_sender(session, sender).id)]
                 for sender in [online, *offline]}
    assert progress.status == "done" and progress.total == 14
    assert (progress.sent, progress.failed, progress.unreachable, progress.waiting) == (10, 1, 3, 0)
    assert len(telegram.sent) == 9 and len(set(telegram.sent)) == 9
    assert list(errors.values()) == ["RuntimeError: the wire broke"]
    assert all(texts == ["Clean-up on Saturday!"] for texts in lines.values()), "offline visitors see it next visit"
    assert [r.message for r in caplog.records if r.levelno >= logging.ERROR] == ["sending on telegram failed unexpectedly"]


def test_a_channel_this_process_lacks_or_an_address_that_is_missing_is_unreachable() -> None:
    channels = Channels(Telegramish())
    assert asyncio.run(channels.send("web", "web-x", Message("hi"))).outcome == "unreachable"
    assert asyncio.run(channels.send("terminal", None, Message("hi"))).outcome == "unreachable"
    assert asyncio.run(channels.send("telegram", "12", Message("hi"))).outcome == "sent"


def test_the_preview_counts_citizens_per_channel_and_who_cannot_be_reached_now(db: Database) -> None:
    make_citizen(db, "7100")
    web_citizen(db, online=True)
    web_citizen(db)
    with db.session() as session:
        citizens.give_consent(session, "local-x")
        assert broadcasts.count_by_channel(session, Audience("all")) == {"telegram": 1, "web": 2, "terminal": 1}
        assert broadcasts.count_unreachable(session, Audience("all")) == 2
        later = utcnow() + webchat.ONLINE + timedelta(seconds=1)
        assert broadcasts.count_unreachable(session, Audience("all"), later) == 3


def test_web_push_reaches_an_offline_visitor_who_allowed_it_and_a_dropped_subscription_is_forgotten(db: Database) -> None:
    private, public = new_keys()
    with FakePushService() as service:
        phone, laptop = service.browser("phone"), service.browser("laptop")
        senders = [web_citizen(db), web_citizen(db)]
        with db.session() as session:
            for sender, browser in zip(senders, (phone, laptop)):
                webchat.set_push(session, webchat.by_sender(session, sender).id, browser.subscription())
        service.gone.add("laptop")
        channel = WebChannel(db, WebPush(private, "mailto:it@city.example"))
        outcomes = [asyncio.run(channel.send(sender, Message("Patrol at 20:00 📍 Footbridge"))).outcome for sender in senders]
    assert outcomes == ["sent", "unreachable"]
    (payload,) = service.to("phone")
    assert payload == {"title": "Message from your city", "body": "Patrol at 20:00 📍 Footbridge", "url": "/chat"}
    assert service.received[0].vapid_key == public and service.refused == []
    with db.session() as session:
        assert webchat.by_sender(session, senders[1]).push_subscription is None
        assert all(len(webchat.history(session, webchat.by_sender(session, s).id)) == 1 for s in senders)


def test_a_notice_to_an_offline_web_citizen_is_unreachable_not_failed_and_waits_for_their_visit(
    db: Database, media_dir: Path
) -> None:
    from bot.scheduler import Scheduler

    sender = web_citizen(db)
    with db.session() as session:
        report = create_contribution(session, sender, ContributionInput(category="lighting", description="Lamp out"), media_dir, 10)
        workflow.set_status(session, report.id, "resolved", RULES, public_note="Fixed on Monday")
        reference = f"R-{report.id + 1000}"
    scheduler = Scheduler(db, Channels(WebChannel(db)), RULES, "UTC")

    async def run() -> None:
        await scheduler.tick()
        await scheduler.drain()

    asyncio.run(run())
    with db.session() as session:
        assert session.query(Notification).filter_by(kind="report_resolved").one().status == "unreachable"
        (line,) = webchat.history(session, webchat.by_sender(session, sender).id)
    assert reference in line.text


def test_erasure_deletes_the_web_chat_and_its_visitor(db: Database) -> None:
    sender = web_citizen(db)
    with db.session() as session:
        webchat.append(session, sender, "citizen", "My address is 3 Mill Road")
        assert privacy.erase_citizen(session, sender).found
    with db.session() as session:
        assert webchat.by_sender(session, sender) is None
        assert session.query(Citizen).count() == 0
        assert webchat.last_id(session) == 0
