"""One process at a time sends reminders and broadcasts: the holder of the `outgoing`
lease. Another takes over when it stops, or when it dies and the lease lapses."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot import outgoing
from bot.db import Database
from bot.models import utcnow
from bot.services import leases


def test_a_lease_has_one_holder_until_it_lapses_or_is_let_go(db: Database) -> None:
    now = utcnow()
    ttl = timedelta(seconds=5)
    with db.session() as session:
        assert leases.hold(session, "outgoing", "a", ttl, now)
        assert not leases.hold(session, "outgoing", "b", ttl, now + timedelta(seconds=4))
        assert leases.hold(session, "outgoing", "a", ttl, now + timedelta(seconds=4)), "the holder renews"
        assert not leases.hold(session, "outgoing", "b", ttl, now + timedelta(seconds=8))
        assert leases.hold(session, "outgoing", "b", ttl, now + timedelta(seconds=10)), "a lapsed lease is taken"
        assert not leases.hold(session, "outgoing", "a", ttl, now + timedelta(seconds=11))
        leases.let_go(session, "outgoing", "b")
        assert leases.hold(session, "outgoing", "a", ttl, now + timedelta(seconds=11)), "let go: taken at once"


class Work:
    """Stands in for a scheduler and a broadcaster; counts who is running."""

    running: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name
        self.stopped = asyncio.Event()

    def start(self) -> None:
        Work.running.append(self.name)

    async def run(self) -> None:
        await self.stopped.wait()

    def poke(self) -> None:
        pass

    async def stop(self) -> None:
        self.stopped.set()
        if self.name in Work.running:
            Work.running.remove(self.name)


def test_two_bridges_never_send_at_once_and_the_second_takes_over(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outgoing, "RENEW_SECONDS", 0.02)
    monkeypatch.setattr(outgoing, "LEASE_SECONDS", 0.3)
    Work.running = []
    seen: list[list[str]] = []

    def process(name: str) -> outgoing.OutgoingWork:
        return outgoing.OutgoingWork(db, lambda: Work(name), lambda: Work(f"{name}-broadcasts"))  # type: ignore[arg-type, return-value]

    async def until(check, rounds: int = 500) -> bool:  # type: ignore[no-untyped-def]
        for _ in range(rounds):
            seen.append([n for n in Work.running if "-" not in n])
            if check():
                return True
            await asyncio.sleep(0.01)
        return False

    async def scene() -> None:
        first, second = process("first"), process("second")
        tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
        assert await until(lambda: first.leading or second.leading)
        leader, other = (first, second) if first.leading else (second, first)
        await until(lambda: False, rounds=20)
        assert not other.leading
        await leader.stop()
        assert await until(lambda: other.leading), "a clean stop hands over"
        third = process("third")
        tasks.append(asyncio.create_task(third.run()))
        other._stopping.set()  # dies without letting go: the lease must lapse first
        await until(lambda: False, rounds=5)
        other.scheduler = other.broadcaster = None
        Work.running.clear()
        assert await until(lambda: third.leading), "a dead holder's lease lapses and is taken"
        await third.stop()
        await asyncio.gather(*tasks)

    asyncio.run(scene())
    assert all(len(running) <= 1 for running in seen), "never two schedulers at once"
