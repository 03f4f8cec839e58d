"""Rasa's lock store from one setting: Redis when REDIS_URL is set, so two Rasa processes
never handle one conversation at once; otherwise Rasa's in-memory locks (one process).
Configured in endpoints.yml as the lock store `type`."""
from __future__ import annotations

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import make_url

KEY_PREFIX = "coprod"


class LockStoreFromUrl(LockStore):
    """Rasa insists on a class and calls it with the endpoint; making one gives the
    store the URL asks for (`redis://[user:password@]host[:port][/db]`, `rediss://`
    for TLS; empty: in memory)."""

    def __new__(cls, endpoint_config: EndpointConfig) -> LockStore:  # type: ignore[misc]
        url = endpoint_config.url or endpoint_config.kwargs.get("url")
        if not url:
            return InMemoryLockStore()
        parsed = make_url(url)
        return RedisLockStore(
            host=parsed.host or "localhost", port=parsed.port or 6379, db=int(parsed.database or 0),
            username=parsed.username, password=parsed.password, use_ssl=parsed.drivername == "rediss",
            key_prefix=KEY_PREFIX,
        )
