"""The one sending layer: every message Coprod writes on its own goes out here.

Reminders, prompts, follow-ups, status changes and broadcasts name a channel
and an address (`Citizen.channel`, `Citizen.address`); the channel's own
package knows its ids and limits (`bot.telegram.channel`, `bot.webchat.channel`).
A citizen whose channel cannot write to them now is `unreachable`, counted in
reports; an unexpected error in one send is logged once and becomes `failed`,
so it never stalls the rest of a broadcast or the scheduler.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Message:
    """What to say: text, button (title, payload) pairs and an optional photo.

    `photo` is a media path under MEDIA_DIR (`media:…`) or a channel's own file id."""

    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)
    photo: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What happened to one send: `sent` (with the channel's message id), `blocked`,
    `refused`, `retry` (the channel certainly did not take it; wait `retry_in`),
    `unknown` (it may have: never sent again), `unreachable` or `failed`."""

    outcome: str
    message_id: object = None
    retry_in: float = 0.0
    error: str | None = None


class Channel(Protocol):
    name: str
    # Messages per second the channel takes overall (None: no limit of its own).
    rate: float | None

    async def send(self, address: str, message: Message) -> Delivery: ...


class Channels:
    """The channels this process can write to, by name."""

    def __init__(self, *channels: Channel) -> None:
        self._by_name: dict[str, Channel] = {channel.name: channel for channel in channels}

    def get(self, name: str) -> Channel | None:
        return self._by_name.get(name)

    def rate(self, name: str) -> float | None:
        channel = self._by_name.get(name)
        return channel.rate if channel is not None else None

    async def send(self, channel: str, address: str | None, message: Message) -> Delivery:
        """Send through `channel`; never raises."""
        handler = self._by_name.get(channel)
        if handler is None or not address:
            return Delivery("unreachable", error=f"no way to reach {channel} now")
        try:
            return await handler.send(address, message)
        except Exception as exc:  # one bad send must not stop the others
            logger.exception("sending on %s failed unexpectedly", channel)
            return Delivery("failed", error=f"{type(exc).__name__}: {exc}"[:200])
