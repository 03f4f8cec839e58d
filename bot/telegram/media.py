"""Fetch the files a citizen sent (getFile + download) into the media folder."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from telegram import Bot

logger = logging.getLogger(__name__)

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}


class FileTooBig(Exception):
    pass


async def fetch(bot: Bot, file_id: str, mime_type: str, media_dir: Path, max_bytes: int) -> dict[str, Any]:
    """Download one file under a generated name; returns the metadata the assistant reads."""
    remote = await bot.get_file(file_id)
    if remote.file_size and remote.file_size > max_bytes:
        raise FileTooBig(file_id)
    data = await remote.download_as_bytearray()
    if len(data) > max_bytes:
        raise FileTooBig(file_id)
    now = datetime.now(timezone.utc)
    relative = Path(f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}{EXTENSIONS.get(mime_type, '.jpg')}")
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(bytes(data))
    partial.replace(target)
    return {"path": str(relative), "mime_type": mime_type}


async def resolve(bot: Bot, meta: dict[str, Any], media_dir: Path, max_bytes: int) -> dict[str, Any]:
    """Replace Telegram file ids in a message's metadata by stored photo paths.

    Done when the message is handled, not when it arrives, so a failed
    download is retried with the message instead of losing the photo.
    """
    pending = meta.get("telegram_files") or []
    if not pending:
        return meta
    block = dict(meta.get("coprod") or {})
    photos = list(block.get("photos") or [])
    for item in pending:
        photos.append(await fetch(bot, item["file_id"], item["mime_type"], media_dir, max_bytes))
    block["photos"] = photos
    return {**{k: v for k, v in meta.items() if k != "telegram_files"}, "coprod": block}
