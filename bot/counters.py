"""Where rate-limit counters live (flood control, photo quotas, log-in throttling, the
web chat's and the exports' limits): in Redis when REDIS_URL is set, so every process
of a scaled set-up counts together; otherwise in this process's memory, which is right
for one process of each kind (`make run`)."""
from __future__ import annotations

from limits.storage import MemoryStorage, Storage, storage_from_string


def counter_storage(redis_url: str | None) -> Storage:
    return storage_from_string(redis_url) if redis_url else MemoryStorage()
