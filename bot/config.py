"""Every setting, read from the environment in one place.

Settings are read when `load_settings()` is called, never at import time, so
tests can set the environment first.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _populations(value: str) -> dict[str, int]:
    """`Old Town=8200,Riverside=12400` → {"Old Town": 8200, "Riverside": 12400}."""
    found = {}
    for part in _list(value):
        name, _, number = part.partition("=")
        if number.strip().isdigit():
            found[name.strip()] = int(number)
    return found


@dataclass(frozen=True)
class Settings:
    """Runtime settings; see the table in README.md."""

    database_url: str
    media_dir: Path
    rasa_url: str = "http://localhost:5005"
    action_server_url: str = "http://localhost:5055/webhook"
    telegram_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    coordinator_ids: list[str] = field(default_factory=list)
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8000
    dashboard_workers: int = 1
    timezone: str = "UTC"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    inbox_retry_seconds: float = 2.0
    inbox_max_backoff_seconds: float = 60.0
    inbound_concurrency: int = 4
    neighbourhoods: list[str] = field(default_factory=list)
    max_photo_bytes: int = 10 * 1024 * 1024
    media_min_free_mb: int = 512
    quiet_hours: str = "21:00-08:00"
    followup_days: int = 14
    scheduler_tick_seconds: float = 1.0
    broadcast_rate: float = 29.5
    dashboard_secret: str | None = None
    dashboard_https_only: bool = False
    open311_api_keys: list[str] = field(default_factory=list)
    populations: dict[str, int] = field(default_factory=dict)
    webpush_private_key: str | None = None
    webpush_contact: str = "mailto:webmaster@localhost"
    webchat_origins: list[str] = field(default_factory=list)
    webpush_services: list[str] = field(default_factory=lambda: list(PUSH_SERVICES))
    forwarded_allow_ips: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    redis_url: str | None = None
    tracker_url: str | None = None
    conversation_retention_days: int = 30

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts to, taken from the public webhook URL."""
        return urlparse(self.telegram_webhook_url or "").path.lstrip("/")


# The push services of Chrome, Firefox, Safari and Edge: the only places a browser's
# subscription may send Coprod (anything else would let a visitor aim it at any server).
PUSH_SERVICES = (
    "https://fcm.googleapis.com/", "https://updates.push.services.mozilla.com/", "https://web.push.apple.com/",
)
DEFAULT_NEIGHBOURHOODS = "Old Town,Riverside,Hillcrest,Station Quarter,Market District,Belle-Vue"


MIN_SECRET = 32
EXAMPLE_SECRETS = {"change-me", "changeme", "secret", "example", "password", "test", "dev", "coprod", "please-change"}
GOOD_SECRET_HELP = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def weak_secret(value: str | None) -> str | None:
    """Why a secret is too weak to protect anything public (None if it is fine)."""
    if not value:
        return "it is not set"
    if value.strip().lower() in EXAMPLE_SECRETS or "change" in value.lower() or "example" in value.lower():
        return "it is an example value"
    if len(value) < MIN_SECRET:
        return f"it has {len(value)} characters, fewer than {MIN_SECRET}"
    if len(set(value)) < 8:
        return "it repeats too few characters"
    return None


def require_strong(name: str, value: str | None) -> None:
    """Refuse to start a public-facing mode with a weak secret, and say how to make a good one."""
    reason = weak_secret(value)
    if reason is not None:
        raise SystemExit(f"{name} is too weak ({reason}); {GOOD_SECRET_HELP}")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from `env` (default: `os.environ`, after loading `.env`)."""
    if env is None:
        from dotenv import load_dotenv

        load_dotenv(PROJECT_ROOT / ".env", override=False)
        env = dict(os.environ)
    var_dir = Path(env.get("COPROD_VAR_DIR", PROJECT_ROOT / "var"))
    return Settings(
        database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'coprod.db'}",
        media_dir=Path(env.get("MEDIA_DIR") or var_dir / "media"),
        rasa_url=env.get("RASA_URL", "http://localhost:5005"),
        action_server_url=env.get("ACTION_SERVER_URL", "http://localhost:5055/webhook"),
        telegram_token=env.get("TELEGRAM_TOKEN") or None,
        telegram_base_url=env.get("TELEGRAM_BASE_URL", "https://api.telegram.org/bot"),
        telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
        telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
        webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"),
        webhook_port=int(env.get("TELEGRAM_WEBHOOK_PORT", "8443")),
        inbox_retry_seconds=float(env.get("INBOX_RETRY_SECONDS", "2")),
        inbox_max_backoff_seconds=float(env.get("INBOX_MAX_BACKOFF_SECONDS", "60")),
        inbound_concurrency=max(1, int(env.get("INBOUND_CONCURRENCY", "4"))),
        coordinator_ids=_list(env.get("COORDINATOR_IDS", "")),
        dashboard_host=env.get("DASHBOARD_HOST", "127.0.0.1"),
        dashboard_port=int(env.get("DASHBOARD_PORT", "8000")),
        dashboard_workers=max(1, int(env.get("DASHBOARD_WORKERS", "1"))),
        timezone=env.get("TIMEZONE", "UTC"),
        neighbourhoods=_list(env.get("NEIGHBOURHOODS", DEFAULT_NEIGHBOURHOODS)),
        max_photo_bytes=int(env.get("MAX_PHOTO_BYTES", str(10 * 1024 * 1024))),
        media_min_free_mb=int(env.get("MEDIA_MIN_FREE_MB", "512")),
        quiet_hours=env.get("QUIET_HOURS", "21:00-08:00"),
        followup_days=int(env.get("FOLLOWUP_DAYS", "14")),
        scheduler_tick_seconds=float(env.get("SCHEDULER_TICK_SECONDS", "1")),
        broadcast_rate=float(env.get("BROADCAST_RATE", "29.5")),
        dashboard_secret=env.get("DASHBOARD_SECRET") or None,
        dashboard_https_only=env.get("DASHBOARD_HTTPS_ONLY", "").lower() in ("1", "true", "yes"),
        open311_api_keys=_list(env.get("OPEN311_API_KEYS", "")),
        populations=_populations(env.get("NEIGHBOURHOOD_POPULATIONS", "")),
        webpush_private_key=env.get("WEBPUSH_VAPID_PRIVATE_KEY") or None,
        webpush_contact=env.get("WEBPUSH_CONTACT", "mailto:webmaster@localhost"),
        webchat_origins=_list(env.get("WEBCHAT_ORIGINS", "")),
        webpush_services=_list(env.get("WEBPUSH_SERVICES", "")) or list(PUSH_SERVICES),
        forwarded_allow_ips=_list(env.get("FORWARDED_ALLOW_IPS", "127.0.0.1")),
        redis_url=env.get("REDIS_URL") or None,
        tracker_url=env.get("RASA_TRACKER_URL") or None,
        conversation_retention_days=int(env.get("CONVERSATION_RETENTION_DAYS", "30")),
    )
