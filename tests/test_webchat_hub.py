"""Lines other processes write reach open pages once, even when their ids commit out of
order (several writers on PostgreSQL)."""
from __future__ import annotations

import asyncio
from typing import Any

from starlette.websockets import WebSocketState

from bot.db import Database
from bot.models import WebMessage
from bot.services.messaging import webchat
from bot.webchat.hub import LATE_COMMITS, Hub


class Page:
    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.got: list[int] = []

    async def send_json(self, event: dict[str, Any]) -> None:
        self.got.append(int(event["id"]))


def test_a_line_committed_late_with_a_lower_id_still_reaches_the_page_once(db: Database) -> None:
    with db.session() as session:
        visitor = webchat.adopt(session, "s" * 43)
        visitor_id, sender = visitor.id, visitor.sender_id

    def write(line_id: int) -> None:
        with db.session() as session:
            session.add(WebMessage(id=line_id, visitor_id=visitor_id, role="bot", body={"text": f"line {line_id}"}))

    async def scene() -> list[int]:
        hub = Hub(db)
        page = Page()
        hub.join(visitor_id, sender, page)  # type: ignore[arg-type]
        write(10)
        assert await hub.poll() == 1
        write(7)  # its id was taken before 10's, its commit came after
        assert await hub.poll() == 1
        assert await hub.poll() == 0
        return page.got

    assert asyncio.run(scene()) == [10, 7]


def test_the_poll_moves_on_past_lines_this_process_wrote_itself(db: Database) -> None:
    """A thousand replies pushed by this process, then a reminder from another: it arrives."""
    with db.session() as session:
        visitor = webchat.adopt(session, "t" * 43)
        visitor_id, sender = visitor.id, visitor.sender_id

    async def scene() -> list[int]:
        hub = Hub(db)
        page = Page()
        hub.join(visitor_id, sender, page)  # type: ignore[arg-type]
        for _ in range(webchat.POLL_BATCH + 50):
            with db.session() as session:
                line = webchat.append(session, sender, "bot", "a reply")
            await hub.publish(line)
        await hub.poll()
        page.got.clear()
        with db.session() as session:
            reminder = webchat.append(session, sender, "bot", "Reminder: clean-up tomorrow")
        assert await hub.poll() == 1
        assert len(hub._handled) <= 2 * LATE_COMMITS
        return [reminder.id, *page.got]

    reminder, *got = asyncio.run(scene())
    assert got == [reminder]
