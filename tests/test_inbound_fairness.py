"""Chats take turns: a newcomer is answered after at most one message of each busy chat,
whatever they send, and a flood's excess is kept as skipped with one "slow down"."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.db import Database
from bot.i18n import channel_text
from bot.inbound import FLOOD_LIMIT, Inbound, Timing
from bot.models import InboxMessage
from bot.rasa_client import RasaClient
from bot.services.inbox import Incoming
from bot.telegram.replies import Outgoing
from bot.turns import Turns

FLOODERS, EACH = 8, 18


class CountingRasa(RasaClient):
    """Rasa at the HTTP boundary's place: each turn takes a moment; the order of turns is kept."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")
        self.turns: list[tuple[str, str]] = []

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.turns.append((sender_id, text))
        await asyncio.sleep(0.002)
        return [{"recipient_id": sender_id, "text": f"re: {text}"}]


class Recording(Inbound):
    def __init__(self, db: Database, media_dir: Path, rasa: RasaClient) -> None:
        settings = load_settings({"DATABASE_URL": db.url, "MEDIA_DIR": str(media_dir), "INBOUND_CONCURRENCY": "2"})
        super().__init__(settings, db, rasa, Timing(album_wait=3600))
        self.said: list[tuple[str, str]] = []

    async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
        self.said.append((chat_id, outgoing.text))
        await asyncio.sleep(0)
        return "sent"


def test_a_newcomer_waits_for_one_turn_of_each_flooding_chat_at_most(db: Database, media_dir: Path) -> None:
    """Updates are handled as python-telegram-bot does: in arrival order, a bounded
    number at once; the newcomer's comes after every flooding one."""
    rasa = CountingRasa()
    inbound = Recording(db, media_dir, rasa)

    async def scene() -> None:
        slots = asyncio.Semaphore(16)

        async def update(incoming: Incoming) -> None:
            async with slots:
                await inbound.receive(incoming)

        arriving = [Incoming(f"tg:{chat}:{n}", str(chat), str(chat), f"{chat}-{n}", {})
                    for n in range(EACH) for chat in range(FLOODERS)]
        arriving.append(Incoming("tg:new", "new", "new", "hello", {}))
        await asyncio.gather(*(update(incoming) for incoming in arriving))

    asyncio.run(scene())
    newcomer = rasa.turns.index(("new", "hello"))
    assert newcomer <= 2 * FLOODERS, f"the newcomer waited {newcomer} turns"
    assert len(rasa.turns) == FLOODERS * EACH + 1, "every message is answered once"
    for chat in range(FLOODERS):
        texts = [text for sender, text in rasa.turns if sender == str(chat)]
        assert texts == [f"{chat}-{n}" for n in range(EACH)], "each chat's order is kept"
    assert inbound.said.count(("new", "re: hello")) == 1


def test_a_flood_beyond_the_limit_is_skipped_and_told_once(db: Database, media_dir: Path) -> None:
    rasa = CountingRasa()
    inbound = Recording(db, media_dir, rasa)
    sent = FLOOD_LIMIT.amount + 15

    async def scene() -> None:
        await asyncio.gather(*(inbound.receive(Incoming(f"tg:{n}", "77", "77", f"m{n}", {})) for n in range(sent)))

    asyncio.run(scene())
    with db.session() as session:
        statuses = [status for (status,) in session.query(InboxMessage.status).order_by(InboxMessage.id)]
    assert statuses.count("skipped") == 15 and statuses.count("done") == FLOOD_LIMIT.amount
    assert [text for sender, text in rasa.turns] == [f"m{n}" for n in range(FLOOD_LIMIT.amount)]
    assert [text for chat, text in inbound.said if not text.startswith("re: ")] == [channel_text("slow_down")]


def test_the_chat_with_fewest_recent_turns_goes_first_and_equals_take_turns_in_order() -> None:
    now = [0.0]
    turns = Turns(1, memory=60, clock=lambda: now[0])
    order: list[str] = []

    async def scene() -> None:
        go_on = asyncio.Event()

        async def one(chat: str, until: asyncio.Event | None = None) -> None:
            async with turns.turn(chat):
                order.append(chat)
                if until is not None:
                    await until.wait()

        for _ in range(3):
            await one("busy")  # three recent turns
        holder = asyncio.create_task(one("first", go_on))
        await asyncio.sleep(0)
        waiting = []
        for chat in ("busy", "b", "c"):
            waiting.append(asyncio.create_task(one(chat)))
            await asyncio.sleep(0)  # queued in this order
        go_on.set()
        await asyncio.gather(holder, *waiting)
        now[0] = 61.0  # a minute later the busy chat's turns are forgotten
        assert turns.recent("busy") == 0

    asyncio.run(scene())
    assert order == ["busy"] * 3 + ["first", "b", "c", "busy"]
