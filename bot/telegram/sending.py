"""What a Telegram error means for a message we tried to send exactly once."""
from __future__ import annotations

import re
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

# PTB reports these as NetworkError; Telegram (or the network) certainly did not take the message.
NOT_DELIVERED = re.compile(r"ConnectError|ConnectTimeout|Bad Gateway|\(5\d\d\)")


def outcome_of(error: TelegramError) -> tuple[str, float]:
    """(`wait`, seconds) on 429; `blocked` on 403; `refused` on 400; `retry` when the
    message certainly did not arrive (refused connection, 5xx); `unknown` when it may
    have (a timeout or a dropped connection after sending)."""
    if isinstance(error, RetryAfter):
        delay = error.retry_after
        return "wait", delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    if isinstance(error, Forbidden):
        return "blocked", 0.0
    if isinstance(error, BadRequest):
        return "refused", 0.0
    if isinstance(error, TimedOut) and "ConnectTimeout" not in repr(error.__cause__):
        return "unknown", 0.0
    if isinstance(error, NetworkError):
        described = f"{error} {error.__cause__!r}"
        return ("retry" if NOT_DELIVERED.search(described) else "unknown"), 0.0
    return "refused", 0.0
