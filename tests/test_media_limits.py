"""Disk and memory cannot be filled through photos: a daily quota per citizen, a floor of
free disk space, and album parts counted by the flood control."""
from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import load_settings
from bot.db import Database
from bot.i18n import channel_text
from bot.models import InboxMessage
from bot.inbound import Inbound, Timing
from bot.rasa_client import RasaClient
from bot.services.inbox import Incoming
from bot.telegram.replies import Outgoing


class Recording(Inbound):
    """The inbound path with a channel that only remembers what it was asked to say."""

    def __init__(self, db: Database, media_dir: Path, **env: str) -> None:
        settings = load_settings({"DATABASE_URL": db.url, "MEDIA_DIR": str(media_dir), **env})
        super().__init__(settings, db, RasaClient("http://127.0.0.1:9"), Timing(album_wait=3600))
        self.said: list[str] = []

    async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
        self.said.append(outgoing.text)
        return "sent"


def test_a_citizen_may_store_40_photos_a_day_and_none_when_the_disk_is_nearly_full(db: Database, media_dir: Path) -> None:
    inbound = Recording(db, media_dir)
    assert [inbound.photos_refused("ana", 10) for _ in range(4)] == [None] * 4
    assert inbound.photos_refused("ana", 1) == "photo_quota"
    assert inbound.photos_refused("ben", 5) is None, "others are not affected"
    full = Recording(db, media_dir, MEDIA_MIN_FREE_MB=str(2**40))  # asks for a petabyte free
    assert full.photos_refused("ben", 1) == "photos_paused"


def test_album_parts_count_towards_the_flood_limit(db: Database, media_dir: Path) -> None:
    inbound = Recording(db, media_dir)

    async def flood() -> None:
        for number in range(25):
            await inbound.receive(Incoming(f"tg:{number}", "77", "77", "", {}, group_key="album:77:1"))
        for task in list(inbound._tasks):
            task.cancel()

    asyncio.run(flood())
    assert inbound.said == [channel_text("slow_down")]
    with db.session() as session:
        statuses = [status for (status,) in session.query(InboxMessage.status).order_by(InboxMessage.id)]
    assert statuses == ["held"] * 20 + ["skipped"] * 5
