"""The web chat as a channel of the sending layer.

Every message is kept in the visitor's conversation first, so they see it on
their next visit whatever happens. It counts as `sent` when their page is
open (the chat server shows it within a second) or a Web Push notification
went out; otherwise it is `unreachable` now, and the report says so.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.channels import Delivery, Message
from bot.db import Database
from bot.i18n import channel_text
from bot.services import buttons
from bot.services.broadcasts import MEDIA_PREFIX
from bot.services.messaging import webchat
from bot.webchat.push import WebPush

PHOTO_FOLDER = "broadcasts/"
PUSH_BODY = 180


@dataclass(frozen=True)
class Stored:
    line_id: int
    visitor_id: int
    online: bool
    subscription: dict[str, Any] | None
    language: str


def image_url(photo: str | None) -> str | None:
    """Only photos uploaded with a broadcast are shown on the web; a Telegram file id is not."""
    if photo and photo.startswith(MEDIA_PREFIX + PHOTO_FOLDER):
        return "/chat/media/" + photo[len(MEDIA_PREFIX + PHOTO_FOLDER):]
    return None


def store(db: Database, address: str, message: Message) -> Stored | None:
    """Issue the buttons' tokens and keep the line; None if the visitor is gone."""
    with db.session() as session:
        visitor = webchat.by_sender(session, address)
        if visitor is None:
            return None
        tokens = buttons.issue(session, address, message.buttons) if message.buttons else []
        shown = [{"title": title[:64], "token": token} for (title, _), token in zip(message.buttons, tokens)]
        line = webchat.append(session, address, "bot", message.text, shown, image_url(message.photo))
        assert line is not None
        return Stored(line.id, visitor.id, webchat.online(visitor), visitor.push_subscription, visitor.language or "en")


class WebChannel:
    name = "web"
    rate = None

    def __init__(self, db: Database, push: WebPush | None = None) -> None:
        self.db = db
        self.push = push

    async def send(self, address: str, message: Message) -> Delivery:
        stored = await asyncio.to_thread(store, self.db, address, message)
        if stored is None:
            return Delivery("unreachable", error="no web chat for this citizen any more")
        if stored.online:
            return Delivery("sent", stored.line_id)
        if stored.subscription and self.push is not None:
            title = channel_text("web_push_title", stored.language)
            outcome = await self.push.send(stored.subscription, title, message.text[:PUSH_BODY])
            if outcome == "sent":
                return Delivery("sent", stored.line_id)
            if outcome == "gone":
                await asyncio.to_thread(self._forget_subscription, stored.visitor_id)
        return Delivery("unreachable", stored.line_id, error="offline: shown at the next visit")

    def _forget_subscription(self, visitor_id: int) -> None:
        with self.db.session() as session:
            webchat.set_push(session, visitor_id, None)
