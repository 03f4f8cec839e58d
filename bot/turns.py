"""Turns at the assistant, shared fairly between chats.

At most `size` messages are with Rasa at once. When chats wait, the one that
had the fewest turns in the last minute goes first (ties: first come, first
served), so a newcomer or a citizen writing now and then is answered next even
while other chats flood, and flooding chats share what is left round-robin.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import defaultdict, deque
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable


class Turns:
    def __init__(self, size: int, memory: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._free = size
        self._memory = memory
        self._clock = clock
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def recent(self, chat_id: str) -> int:
        """Turns this chat had in the last `memory` seconds."""
        times = self._recent.get(chat_id)
        if times is None:
            return 0
        cutoff = self._clock() - self._memory
        while times and times[0] < cutoff:
            times.popleft()
        if not times:
            del self._recent[chat_id]
        return len(times)

    @asynccontextmanager
    async def turn(self, chat_id: str) -> AsyncIterator[None]:
        if self._free and not self._waiting:
            self._free -= 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (self.recent(chat_id), next(self._order), future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # the turn was handed over just as this waiter was cancelled
                raise
        self.recent(chat_id)  # forget turns older than the memory, so the record stays small
        self._recent[chat_id].append(self._clock())
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        """Hand the turn straight to the next waiter, so nobody can overtake it."""
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1
