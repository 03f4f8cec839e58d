"""Fetch the files a citizen sent (getFile + download) into the media folder."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.services.contributions import new_media_path

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 30.0
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}


class FileTooBig(Exception):
    pass


async def fetch(bot: Bot, file_id: str, mime_type: str, media_dir: Path, max_bytes: int) -> dict[str, Any]:
    """Download one file under a generated name; returns the metadata the assistant reads.

    Streamed to disk with a hard cap: Telegram's `file_size` is optional, so the
    size is checked as the bytes arrive and the download stops past `max_bytes`."""
    remote = await bot.get_file(file_id)
    if remote.file_size and remote.file_size > max_bytes:
        raise FileTooBig(file_id)
    relative, target = new_media_path(media_dir, EXTENSIONS.get(mime_type, ".jpg"))
    partial = target.with_suffix(".part")
    try:
        await _stream(str(remote.file_path), partial, max_bytes, file_id)  # a full URL (base_file_url + path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return {"path": relative, "mime_type": mime_type}


async def _stream(url: str, partial: Path, max_bytes: int, file_id: str) -> None:
    try:
        async with httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT) as client:
            async with client.stream("GET", url) as response:
                if response.status_code >= 500:
                    raise NetworkError(f"file download answered {response.status_code}")
                if response.status_code != 200:
                    raise BadRequest(f"file download answered {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FileTooBig(file_id)
                written = 0
                with partial.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        written += len(chunk)
                        if written > max_bytes:
                            raise FileTooBig(file_id)
                        out.write(chunk)
    except httpx.TimeoutException as exc:
        raise TimedOut(type(exc).__name__) from exc
    except httpx.HTTPError as exc:
        raise NetworkError(type(exc).__name__) from exc


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
