"""Talk to Rasa's REST channel: one message in, the assistant's replies out."""
from __future__ import annotations

import logging
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa or its action server did not answer; the caller keeps the message.

    `transient` is False when Rasa answered but not usefully (an error status,
    an empty reply): retrying the same message forever would not help.
    """

    def __init__(self, reason: str, transient: bool = True) -> None:
        super().__init__(reason)
        self.transient = transient


class RasaClient:
    """Async client for `POST /webhooks/rest/webhook`."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self._url = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self._http = httpx.AsyncClient(timeout=timeout)

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(exc)) from exc
        if response.status_code >= 500:
            raise RasaUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise RasaUnavailable(f"HTTP {response.status_code}", transient=False)
        try:
            replies = list(response.json())
        except ValueError:
            raise RasaUnavailable("reply is not JSON", transient=False) from None
        if not replies:
            # Rasa answers 200 with nothing when a custom action failed (e.g. the
            # action server is down); every Coprod turn says something.
            raise RasaUnavailable("empty reply", transient=False)
        return replies

    async def close(self) -> None:
        await self._http.aclose()
