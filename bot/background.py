"""Background tasks that are kept referenced until done, and whose failure is logged
once with what they were doing (asyncio only says "Task exception was never retrieved")."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any, Coroutine

logger = logging.getLogger(__name__)


def spawn(work: Coroutine[Any, Any, Any], tasks: set[asyncio.Task[Any]], what: str) -> asyncio.Task[Any]:
    task = asyncio.create_task(work)
    tasks.add(task)

    def done(finished: asyncio.Task[Any]) -> None:
        tasks.discard(finished)
        if not finished.cancelled() and finished.exception() is not None:
            logger.error("background work failed: %s", what, exc_info=finished.exception())

    task.add_done_callback(done)
    return task


def process_tag() -> str:
    """This process among the others sharing the database (who claims a message, who holds a lease)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
