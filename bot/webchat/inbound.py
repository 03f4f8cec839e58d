"""The web chat's side of the inbound path: a citizen's line is acknowledged once
it is safe in the inbox, and each reply is kept in their conversation and shown
on their open pages."""
from __future__ import annotations

import logging

from bot.config import Settings
from bot.db import Database
from bot.i18n import channel_text, webchat_strings
from bot.inbound import Inbound, Timing
from bot.rasa_client import RasaClient
from bot.services import citizens, inbox
from bot.services.messaging import webchat
from bot.telegram.replies import Outgoing
from bot.web.language import RIGHT_TO_LEFT
from bot.webchat.hub import Hub

logger = logging.getLogger(__name__)


class WebInbound(Inbound):
    channel = "web"

    def __init__(self, settings: Settings, db: Database, rasa: RasaClient, hub: Hub, timing: Timing = Timing()) -> None:
        super().__init__(settings, db, rasa, timing)
        self.hub = hub
        self._echo: dict[str, str] = {}  # update key → how the citizen's line reads in the chat
        self._languages: dict[str, str] = {}  # sender → language their pages were last told

    async def say(self, incoming: inbox.Incoming, shown: str) -> None:
        """Take a citizen's line: shown as `shown` once it is stored (not again if repeated)."""
        self._echo[incoming.update_key] = shown
        try:
            await self.receive(incoming)
        finally:
            self._echo.pop(incoming.update_key, None)

    async def _stored(self, incoming: inbox.Incoming, new: bool) -> None:
        visitor_id = incoming.meta.get("coprod", {}).get("visitor")
        shown = self._echo.get(incoming.update_key)
        if new and shown:
            with self.db.session() as session:
                line = webchat.append(session, incoming.sender_id, "citizen", shown)
            if line is not None:
                await self.hub.publish(line)
        if visitor_id is not None:
            client_id = incoming.update_key.rsplit(":", 1)[-1]
            await self.hub.send(int(visitor_id), {"type": "ack", "id": client_id})

    async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
        shown = [{"title": title[:64], "token": token} for (title, _), token in zip(outgoing.buttons, tokens or [])]
        image = outgoing.image if outgoing.image and outgoing.image.startswith(("https://", "/")) else None
        with self.db.session() as session:
            line = webchat.append(session, chat_id, "bot", outgoing.text, shown, image)
            visitor = webchat.by_sender(session, chat_id)
            language = citizens.language_for(session, chat_id, self._guessed.get(chat_id))
            if visitor is not None and visitor.language != language:
                webchat.set_language(session, visitor.id, language)
            visitor_id = visitor.id if visitor is not None else None
        if line is None:  # erased just now: shown on the open page, kept nowhere
            await self.hub.send_to_sender(chat_id, {"type": "notice", "text": outgoing.text})
            return "sent"
        if visitor_id is not None and self._languages.get(chat_id) != language:
            self._languages[chat_id] = language
            await self.hub.send(visitor_id, language_event(language))
        await self.hub.publish(line)
        return "sent"

    def told(self, sender: str, language: str) -> None:
        """The sender's page was just given its language."""
        self._languages[sender] = language

    def chosen(self, title: str, sender: str) -> str:
        return channel_text("web_chosen", self.language_of(sender), title=title)


def language_event(language: str) -> dict[str, object]:
    """Tells open pages to switch language and direction (Arabic reads right to left)."""
    return {"type": "language", "language": language, "dir": "rtl" if language in RIGHT_TO_LEFT else "ltr",
            "strings": webchat_strings(language)}
