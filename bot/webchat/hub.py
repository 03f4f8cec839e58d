"""The web chat pages open in this process: each new line reaches them at once.

Replies written by this process are pushed as they are kept; lines written by
other processes (reminders and broadcasts from the scheduler) are picked up by
a poll of the conversation table every second. Ids are not committed in order
when several processes write (PostgreSQL hands out sequence values before the
commit), so each poll looks back LATE_COMMITS ids and skips the lines it already
sent. Pages dedupe by line id too. Open pages keep their visitor `seen` (reachable).
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from bot.db import Database
from bot.services.messaging import webchat

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LATE_COMMITS = 200


class Hub:
    def __init__(self, db: Database, poll_seconds: float = POLL_SECONDS) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self._sockets: dict[int, set[WebSocket]] = defaultdict(set)
        self._senders: dict[str, int] = {}
        self._last_id = 0
        self._handled: set[int] = set()  # lines sent (or pushed) within LATE_COMMITS of the newest
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._last_id = await asyncio.to_thread(self._newest)
        self._task = asyncio.create_task(self._poll_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def join(self, visitor_id: int, sender: str, socket: WebSocket) -> None:
        self._sockets[visitor_id].add(socket)
        self._senders[sender] = visitor_id

    async def leave(self, visitor_id: int, sender: str, socket: WebSocket) -> None:
        sockets = self._sockets.get(visitor_id, set())
        sockets.discard(socket)
        if not sockets:
            self._sockets.pop(visitor_id, None)
            self._senders.pop(sender, None)
            await asyncio.to_thread(self._left, visitor_id)

    async def send_to_sender(self, sender: str, event: dict[str, Any]) -> None:
        if sender in self._senders:
            await self.send(self._senders[sender], event)

    async def publish(self, line: webchat.Line) -> None:
        self._handled.add(line.id)
        await self.send(line.visitor_id, line.as_event())

    async def send(self, visitor_id: int, event: dict[str, Any]) -> None:
        for socket in list(self._sockets.get(visitor_id, ())):
            if socket.application_state != WebSocketState.CONNECTED:
                continue
            try:
                await socket.send_json(event)
            except Exception as exc:  # the page went away mid-send; it catches up on reconnect
                logger.info("a web chat page stopped listening: %s", type(exc).__name__)

    async def _poll_forever(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.poll()
                beats += 1
                if beats * self.poll_seconds >= webchat.HEARTBEAT.total_seconds():
                    beats = 0
                    await asyncio.to_thread(self._seen, set(self._sockets))
            except Exception:
                logger.exception("web chat poll failed")

    async def poll(self) -> int:
        """Send lines other processes wrote since the last poll to the pages open now; how many."""
        sent = 0
        while True:
            lines = await asyncio.to_thread(self._newer, max(0, self._last_id - LATE_COMMITS))
            for line in lines:
                if line.id not in self._handled:
                    self._handled.add(line.id)
                    if line.visitor_id in self._sockets:
                        await self.send(line.visitor_id, line.as_event())
                        sent += 1
            if lines:
                self._last_id = max(self._last_id, lines[-1].id)
            self._handled = {key for key in self._handled if key > self._last_id - LATE_COMMITS}
            if len(lines) < webchat.POLL_BATCH:
                break
        return sent

    def _newest(self) -> int:
        with self.db.session() as session:
            return webchat.last_id(session)

    def _newer(self, after: int) -> list[webchat.Line]:
        with self.db.session() as session:
            return webchat.newer_than(session, after)

    def _seen(self, visitors: set[int]) -> None:
        with self.db.session() as session:
            for visitor_id in visitors:
                webchat.seen(session, visitor_id)

    def _left(self, visitor_id: int) -> None:
        with self.db.session() as session:
            webchat.left(session, visitor_id)
