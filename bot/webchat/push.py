"""Web Push (RFC 8030, VAPID RFC 8292) through pywebpush: a reminder or a broadcast
reaches a web chat visitor whose page is closed, if they allowed notifications."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from py_vapid.utils import b64urlencode
from pywebpush import WebPushException, webpush

logger = logging.getLogger(__name__)

TTL = 24 * 3600  # a push service keeps an undelivered notification this long
TIMEOUT = 10.0


def new_keys() -> tuple[str, str]:
    """(private, public) VAPID keys, base64url: the private one goes in WEBPUSH_VAPID_PRIVATE_KEY."""
    vapid = Vapid()
    vapid.generate_keys()
    number = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return b64urlencode(number), public_key(vapid)


def public_key(vapid: Vapid) -> str:
    """The applicationServerKey browsers subscribe with (an uncompressed P-256 point)."""
    point = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64urlencode(point)


class WebPush:
    def __init__(self, private_key: str, contact: str) -> None:
        self._vapid = Vapid.from_string(private_key)
        self.contact = contact
        self.public_key = public_key(self._vapid)

    async def send(self, subscription: dict[str, Any], title: str, body: str, url: str = "/chat") -> str:
        """`sent`, `gone` (the browser dropped the subscription: forget it) or `failed`."""
        payload = json.dumps({"title": title, "body": body, "url": url}, ensure_ascii=False)
        try:
            await asyncio.to_thread(
                webpush, subscription, payload, vapid_private_key=self._vapid,
                vapid_claims={"sub": self.contact}, ttl=TTL, timeout=TIMEOUT,
            )
            return "sent"
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                return "gone"
            logger.warning("the push service refused a notification (%s)", status)
            return "failed"
        except Exception as exc:  # a push service down must not stop the sender
            logger.warning("the push service could not be reached: %s", type(exc).__name__)
            return "failed"
