"""No secret in any log line: a logging filter that masks every configured secret
(the bot token, the webhook and dashboard secrets, Open311 keys, the Web Push key,
database passwords) and anything shaped like a Telegram bot token, whatever
library wrote the line (httpx logs every Bot API URL, and the token is in it)."""
from __future__ import annotations

import logging
import re
from typing import Iterable
from urllib.parse import urlparse

from bot.config import Settings

MASK = "[redacted]"
# A Telegram bot token: the bot's numeric id, a colon, 35 characters of base64url.
BOT_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}")
SHORTEST = 6  # shorter values would mask ordinary words; config refuses such secrets anyway


def secrets_of(settings: Settings) -> list[str]:
    """Every secret the settings hold, longest first (a secret inside another is masked whole)."""
    found = [
        settings.telegram_token, settings.telegram_webhook_secret, settings.dashboard_secret,
        settings.webpush_private_key, *settings.open311_api_keys,
    ]
    urls = (settings.database_url, settings.telegram_base_url, settings.rasa_url, settings.tracker_url, settings.redis_url)
    for url in urls:
        try:
            password = urlparse(url or "").password
        except ValueError:
            password = None
        found.append(password)
    return sorted({value for value in found if value and len(value) >= SHORTEST}, key=len, reverse=True)


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [value for value in secrets if value]

    def redact(self, text: str) -> str:
        for value in self._secrets:
            if value in text:
                text = text.replace(value, MASK)
        return BOT_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install(settings: Settings) -> Redactor:
    """Mask secrets on every handler of the root logger (records of every library reach them)."""
    redactor = Redactor(secrets_of(settings))
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        handler.addFilter(redactor)
    return redactor
