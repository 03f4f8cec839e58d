"""Rasa's stores for several Rasa processes: the erasable tracker store on PostgreSQL
(one URL), and Redis locks so two processes never handle one conversation at once."""
from __future__ import annotations

import asyncio

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Restarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.config import PROJECT_ROOT
from bot.rasa_lock_store import LockStoreFromUrl
from bot.rasa_tracker_store import ERASED_SLOT, ErasableSQLTrackerStore


def test_the_erasable_tracker_store_runs_on_postgresql_from_one_url(postgres_template) -> None:  # type: ignore[no-untyped-def]
    server, _ = postgres_template
    url = server.new_database().replace("postgresql+psycopg2", "postgresql")
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    store = ErasableSQLTrackerStore(domain, url=url)
    assert store.engine.dialect.name == "postgresql"

    async def scene() -> tuple[list[str], list[str]]:
        said = DialogueStateTracker.from_events("4242", [
            ActionExecuted("action_listen"), UserUttered("j'habite au 3 rue de la Mosquée"), ActionExecuted("action_listen"),
        ], slots=domain.slots)
        await store.save(said)
        kept = await store.retrieve("4242")
        erased = DialogueStateTracker.from_events("4242", [
            *said.events, SlotSet(ERASED_SLOT, True), Restarted(), ActionExecuted("utter_goodbye"),
        ], slots=domain.slots)
        await store.save(erased)
        after = await store.retrieve("4242")
        words = lambda tracker: [e.text for e in tracker.events if isinstance(e, UserUttered)]  # noqa: E731
        return words(kept), words(after)

    before, after = asyncio.run(scene())
    assert before == ["j'habite au 3 rue de la Mosquée"] and after == []


def test_the_lock_store_is_redis_when_configured_and_shared_by_processes(redis_url: str) -> None:
    assert isinstance(LockStoreFromUrl(EndpointConfig(url="")), InMemoryLockStore)
    first, second = LockStoreFromUrl(EndpointConfig(url=redis_url)), LockStoreFromUrl(EndpointConfig(url=redis_url))
    assert isinstance(first, RedisLockStore)
    lock = first.issue_ticket("4242")
    assert second.get_or_create_lock("4242").now_serving == lock, "the other process sees the ticket being served"
    other = second.issue_ticket("4242")
    assert other == lock + 1, "and queues behind it"
    first.finish_serving("4242", lock)
    assert second.get_or_create_lock("4242").now_serving == other


def test_rasa_checks_action_answers_with_a_validator_built_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    ErasableSQLTrackerStore(None, url=f"sqlite:///{tmp_path / 't.db'}")  # as Rasa builds it at start-up
    from bot import rasa_action_checks

    assert RemoteAction._validate_action_result is rasa_action_checks._validate_action_result
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list"})
