"""Several bridge processes on one PostgreSQL inbox: each message is answered by exactly
one of them, each chat in the order its messages were stored, and a message whose
process died is answered by another."""
from __future__ import annotations

import asyncio
import multiprocessing
import random
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.db import Database
from bot.models import InboxMessage, utcnow
from bot.services import inbox
from bot.services.inbox import Incoming
from tests.processes import served

CHATS, EACH = 8, 12


class RasaStub:
    """Rasa's REST channel at the HTTP boundary: answers each message, remembers the order."""

    def __init__(self) -> None:
        self.turns: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def app(self) -> Starlette:
        async def webhook(request: Request) -> JSONResponse:
            body = await request.json()
            with self._lock:
                self.turns.append((body["sender"], body["message"]))
            await asyncio.sleep(random.uniform(0.001, 0.01))
            return JSONResponse([{"recipient_id": body["sender"], "text": f"re: {body['message']}"}])

        return Starlette(routes=[Route("/webhooks/rest/webhook", webhook, methods=["POST"])])


def bridge_process(url: str, rasa_url: str, media: str, updates: "multiprocessing.Queue[Any]",
                   said: "multiprocessing.Queue[Any]") -> None:
    """One bridge: takes the updates the 'load balancer' gives it, answers what it claims,
    and runs the retry pass until told to stop (None)."""
    from bot.config import load_settings
    from bot.inbound import Inbound, Timing
    from bot.rasa_client import RasaClient
    from bot.telegram.replies import Outgoing

    class Recording(Inbound):
        async def deliver(self, chat_id: str, outgoing: Outgoing, tokens: list[str] | None = None) -> str:
            said.put((chat_id, outgoing.text))
            return "sent"

    async def run() -> None:
        settings = load_settings({"DATABASE_URL": url, "MEDIA_DIR": media})
        bridge = Recording(settings, Database(url), RasaClient(rasa_url), Timing(retry_interval=0.05))
        working: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        while True:
            item = await loop.run_in_executor(None, updates.get)
            if item is None:
                break
            task = asyncio.create_task(bridge.receive(Incoming(*item)))
            working.add(task)
            task.add_done_callback(working.discard)
        await asyncio.gather(*working)
        for _ in range(200):  # what the other bridge left: retried until nothing is due
            await bridge.retry_once()
            with bridge.db.session() as session:
                if not session.query(InboxMessage).filter(InboxMessage.status.in_(inbox.UNANSWERED)).count():
                    break
            await asyncio.sleep(0.05)
        await bridge.close()

    asyncio.run(run())


def test_two_bridges_answer_every_message_once_and_in_order(postgres_template, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, template = postgres_template
    url = server.new_database(template)
    stub = RasaStub()
    spawn = multiprocessing.get_context("spawn")
    said: "multiprocessing.Queue[Any]" = spawn.Queue()
    queues = [spawn.Queue(), spawn.Queue()]
    with served(stub.app()) as rasa_url:
        bridges = [spawn.Process(target=bridge_process, args=(url, rasa_url, str(tmp_path), q, said)) for q in queues]
        for process in bridges:
            process.start()
        chooser = random.Random(7)
        for n in range(EACH):
            for chat in range(CHATS):
                key = f"tg:{chat}:{n}"
                chooser.choice(queues).put((key, f"c{chat}", f"c{chat}", f"{chat}-{n}", {}))
            time.sleep(0.01)
        for q in queues:
            q.put(None)
        for process in bridges:
            process.join(timeout=120)
            assert process.exitcode == 0
    replies = []
    while not said.empty():
        replies.append(said.get())
    assert sorted(stub.turns) == sorted({(f"c{c}", f"{c}-{n}") for c in range(CHATS) for n in range(EACH)}), \
        "every message reached Rasa exactly once"
    assert len(replies) == len(set(replies)) == CHATS * EACH, "every answer was sent once"
    database = Database(url)
    with database.session() as session:
        stored = session.query(InboxMessage).order_by(InboxMessage.id).all()
        assert {m.status for m in stored} == {"done"}
        assert len({m.claimed_by for m in stored}) == 2, "both bridges took part"
        for chat in range(CHATS):
            in_inbox = [m.text for m in stored if m.chat_id == f"c{chat}"]
            assert [text for sender, text in stub.turns if sender == f"c{chat}"] == in_inbox, "order kept"
    database.dispose()


def test_a_message_claimed_by_a_process_that_died_is_handled_again(postgres_template) -> None:  # type: ignore[no-untyped-def]
    server, template = postgres_template
    database = Database(server.new_database(template))
    with database.session() as session:
        first = inbox.accept(session, Incoming("tg:1", "7", "7", "one", {})).id
        inbox.accept(session, Incoming("tg:2", "7", "7", "two", {}))
        assert inbox.claim_next(session, "7", "dead-bridge").id == first
    with database.session() as session:
        assert inbox.claim_next(session, "7", "live-bridge") is None, "a chat is handled by one process at a time"
        assert inbox.chats_with_due_messages(session) == []
        assert inbox.release_stale_claims(session) == 0, "a fresh claim is kept"
        assert inbox.release_stale_claims(session, utcnow() + inbox.CLAIM_LEASE + timedelta(seconds=1)) == 1
    with database.session() as session:
        taken = inbox.claim_next(session, "7", "live-bridge")
        assert (taken.id, taken.text, taken.claimed_by) == (first, "one", "live-bridge")
    database.dispose()
