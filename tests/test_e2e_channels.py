"""A coordinator's broadcast to everyone, sent by the real bridge process, reaches
Telegram citizens through the fake Bot API and web chat citizens on the web: once
each, on their own channel, with Web Push for those who allowed it, and a final
report that adds up (the offline and the unreachable counted, not lost)."""
from __future__ import annotations

import secrets
from collections import Counter

import pytest

from bot.models import AuditEntry, Delivery
from bot.services import citizens
from bot.services.messaging import webchat
from bot.webchat.push import new_keys
from tests.fake_push import FakePushService
from tests.fake_telegram import FakeTelegram
from tests import test_e2e_coordinators as coordinators
from tests.test_e2e_coordinators import COORDINATOR, Town, final_report, received
from tests.test_e2e_telegram import TOKEN, Chat, waited

pytestmark = pytest.mark.e2e
fake, town = coordinators.fake, coordinators.town  # the fixtures
TEXT = "Water cut on Thursday from 9 to 12"


def test_a_broadcast_to_everyone_reaches_telegram_and_web_citizens_once_and_the_report_adds_up(
    town: Town, fake: FakeTelegram
) -> None:
    on_telegram = town.citizens(9500, 5)
    private, _ = new_keys()
    with FakePushService() as push, town.db.session() as session:
        web = {}
        for name in ("open page", "notifications", "away"):
            visitor = webchat.adopt(session, secrets.token_urlsafe(32))
            citizens.give_consent(session, visitor.sender_id)
            web[name] = visitor.sender_id
            if name == "open page":
                webchat.seen(session, visitor.id)
            if name == "notifications":
                webchat.set_push(session, visitor.id, push.browser("phone").subscription())
        citizens.give_consent(session, "local-terminal")  # `make chat` once: nothing can reach it later
        session.commit()
        town.bridge(WEBPUSH_VAPID_PRIVATE_KEY=private, WEBPUSH_SERVICES=push.url + "/")
        coordinator = Chat(fake, COORDINATOR)
        who = coordinator.say("/broadcast", "Who should get this message?")
        coordinator.press(who, "Everyone who accepts news", "Write the message")
        other = coordinator.say(TEXT, "another language")
        offer = coordinator.press(other, "No, that's all", "sign-up button")
        start = coordinator.mark()
        coordinator.press(offer, "No button", "This message will go to 9 citizens")
        reach = coordinator.reply(start, "By channel")
        assert "Telegram 5 · web chat 3" in reach["params"]["text"] and "Not reachable now: 2" in reach["params"]["text"]
        confirm = coordinator.reply(start, "⬆️")
        coordinator.press(confirm, "Send to 9")
        report = final_report(fake)
        assert waited(lambda: list(push.to("phone")), timeout=30)
    text = report["params"]["text"]
    assert "7 of 9 sent" in text and "0 failed" in text and "2 not reachable now" in text, text
    assert received(fake, on_telegram, TEXT) == Counter({user: 1 for user in on_telegram})
    assert [payload["body"] for payload in push.to("phone")] == [TEXT]
    with town.db.session() as session:
        for sender in web.values():
            lines = webchat.history(session, webchat.by_sender(session, sender).id)
            assert [line.text for line in lines] == [TEXT], "every web citizen sees it, now or at the next visit"
        statuses = {row.chat_id: row.status for row in session.query(Delivery)}
    assert statuses[web["open page"]] == statuses[web["notifications"]] == "sent"
    assert statuses[web["away"]] == statuses["local-terminal"] == "unreachable"
    with town.db.session() as session:
        (sent,) = session.query(AuditEntry).filter_by(action="broadcast.send").all()
    assert sent.actor == f"telegram:{COORDINATOR}" and '"total": 9' in sent.after
    logs = (town.workdir / "bridge.log").read_text(errors="replace")
    assert TOKEN not in logs and private not in logs, "no secret in the bridge's log"
    assert " ERROR " not in logs, "a clean run logs no ERROR"
