"""A fault while a message is handled leaves it neither lost nor stuck: it is counted,
retried and, if it keeps failing, set aside with an apology; the chat goes on."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.db import Database
from bot.i18n import channel_text
from bot.inbound import MAX_ATTEMPTS, Inbound, Timing
from bot.models import InboxMessage
from bot.rasa_client import RasaClient
from bot.services.inbox import Incoming
from bot.telegram.replies import Outgoing


class Answering(RasaClient):
    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return [{"recipient_id": sender_id, "text": f"re: {text}"}]


class Breaking(Inbound):
    """Delivering the answer to "boom" raises what no code expects (a disk error, say)."""

    def __init__(self, db: Database, media_dir: Path) -> None:
        settings = load_settings({"DATABASE_URL": db.url, "MEDIA_DIR": str(media_dir)})
        super().__init__(settings, db, Answering(), Timing(album_wait=3600, retry_interval=0.0, max_backoff=0.0))
        self.said: list[str] = []

    async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
        if outgoing.text == "re: boom":
            raise OSError("disk full")
        self.said.append(outgoing.text)
        return "sent"


def test_a_fault_is_retried_then_set_aside_and_the_next_message_is_answered(db: Database, media_dir: Path) -> None:
    inbound = Breaking(db, media_dir)

    async def scene() -> None:
        await inbound.receive(Incoming("tg:1", "7", "7", "boom", {}))
        await inbound.receive(Incoming("tg:2", "7", "7", "hello", {}))
        for _ in range(MAX_ATTEMPTS + 2):
            await inbound.retry_once()

    asyncio.run(scene())
    with db.session() as session:
        rows = {row.text: (row.status, row.attempts) for row in session.query(InboxMessage)}
    assert rows == {"boom": ("failed", MAX_ATTEMPTS), "hello": ("done", 0)}
    assert inbound.said == [channel_text("failed"), "re: hello"]
