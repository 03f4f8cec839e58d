"""With REDIS_URL, every process counts together: log-in failures, flood control and photo
quotas hold across dashboard workers and bridges, not per process."""
from __future__ import annotations

import asyncio
from pathlib import Path

from limits.storage import MemoryStorage

from bot.config import load_settings
from bot.counters import counter_storage
from bot.db import Database
from bot.inbound import FLOOD_LIMIT, Inbound, Timing
from bot.models import InboxMessage
from bot.rasa_client import RasaClient
from bot.services.inbox import Incoming
from bot.telegram.replies import Outgoing
from bot.web.security import LoginThrottle


def test_log_in_failures_count_across_dashboard_workers(redis_url: str) -> None:
    workers = [LoginThrottle(counter_storage(redis_url)) for _ in range(2)]
    for attempt in range(5):
        workers[attempt % 2].failed("admin@city.example", "203.0.113.9")
    assert not workers[0].allow("admin@city.example", "203.0.113.9")
    assert not workers[1].allow("admin@city.example", "203.0.113.9")
    assert workers[1].allow("admin@city.example", "198.51.100.7"), "the owner elsewhere is not locked out"
    alone = LoginThrottle(MemoryStorage())
    assert alone.allow("admin@city.example", "203.0.113.9"), "without Redis a worker counts alone"


class Quiet(Inbound):
    async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
        return "sent"


def test_a_flood_split_across_two_bridges_is_counted_once(redis_url: str, db: Database, media_dir: Path) -> None:
    settings = load_settings({"DATABASE_URL": db.url, "MEDIA_DIR": str(media_dir), "REDIS_URL": redis_url})
    bridges = [Quiet(settings, db, RasaClient("http://127.0.0.1:9"), Timing(album_wait=3600)) for _ in range(2)]

    async def flood() -> None:
        for number in range(FLOOD_LIMIT.amount + 6):
            part = Incoming(f"tg:{number}", "flood-77", "flood-77", "", {}, group_key="album:77:1")
            await bridges[number % 2].receive(part)
        for bridge in bridges:
            for task in list(bridge._tasks):
                task.cancel()

    asyncio.run(flood())
    with db.session() as session:
        statuses = [status for (status,) in session.query(InboxMessage.status).order_by(InboxMessage.id)]
    assert statuses == ["held"] * FLOOD_LIMIT.amount + ["skipped"] * 6
    assert [bridge.photos_refused("ana", 20) for bridge in bridges] == [None, None]
    assert bridges[0].photos_refused("ana", 1) == "photo_quota", "forty a day, whichever bridge stores them"
