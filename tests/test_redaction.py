"""Secrets never reach a log line, whoever writes it and however (arguments, exceptions)."""
from __future__ import annotations

import io
import logging

from bot.config import load_settings
from bot.redaction import MASK, Redactor, secrets_of

TOKEN = "123456789:AAH-exampleexampleexampleexample_42"


def test_every_configured_secret_and_any_bot_token_is_masked() -> None:
    settings = load_settings({
        "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": "hook-secret-value", "DASHBOARD_SECRET": "dash-secret-value",
        "OPEN311_API_KEYS": "open311-key-one,open311-key-two", "DATABASE_URL": "postgresql+psycopg2://coprod:db-pass-word@db/coprod",
        "WEBPUSH_VAPID_PRIVATE_KEY": "vapid-private-value",
    })
    assert set(secrets_of(settings)) == {TOKEN, "hook-secret-value", "dash-secret-value", "open311-key-one",
                                         "open311-key-two", "db-pass-word", "vapid-private-value"}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redactor(secrets_of(settings)))
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
        log.warning("connecting to %s", settings.database_url)
        log.warning("another bot's token 987654321:ZZZ-otherotherotherotherotherother1 in a URL")
        try:
            raise RuntimeError(f"key open311-key-two refused, secret {settings.dashboard_secret}")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    written = stream.getvalue()
    for secret in (*secrets_of(settings), "987654321:ZZZ-otherotherotherotherotherother1"):
        assert secret not in written
    assert written.count(MASK) == 6 and "getUpdates" in written and "RuntimeError" in written


def test_weak_secrets_are_refused_with_how_to_make_a_good_one() -> None:
    import pytest

    from bot.config import require_strong, weak_secret

    for weak in (None, "", "change-me", "s3cret-token", "a" * 40, "please-change-this-secret-now-ok-thanks"):
        assert weak_secret(weak) is not None, weak
    assert weak_secret("Vq3n8_k2LmP0xR7tYw4ZbC9dFg1HjS6e") is None
    with pytest.raises(SystemExit, match="DASHBOARD_SECRET is too weak .*token_urlsafe"):
        require_strong("DASHBOARD_SECRET", "change-me")
