"""Contributions: what citizens log or report, with photos and a location."""
from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import CATEGORIES, Contribution, Photo
from bot.services.citizens import require_consented
from bot.services.errors import InvalidInput
from bot.services.tasks import get_open_task
from bot.services.text import clean_text

logger = logging.getLogger(__name__)

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
MAX_PHOTOS = 10


@dataclass(frozen=True)
class PhotoInput:
    """A file the channel already stored under the media folder (path relative to it)."""

    path: str
    mime_type: str = "image/jpeg"


@dataclass
class ContributionInput:
    category: str
    description: str | None = None
    location_text: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photos: list[PhotoInput] = field(default_factory=list)
    task_id: int | None = None
    idempotency_key: str | None = None


# An image's first bytes → (MIME type, extension); uploads are judged by content, not by name.
IMAGE_MAGIC = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG": ("image/png", ".png"), b"GIF8": ("image/gif", ".gif")}


def image_kind(head: bytes) -> tuple[str, str] | None:
    """(MIME type, extension) of a JPEG, PNG, GIF or WebP from its first 12 bytes; None otherwise."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return next((kind for magic, kind in IMAGE_MAGIC.items() if head.startswith(magic)), None)


def new_media_path(media_dir: Path, extension: str) -> tuple[str, Path]:
    """A fresh `YYYY/MM/<uuid><ext>` under MEDIA_DIR (its folder created): (relative, absolute)."""
    now = datetime.now(timezone.utc)
    relative = f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}{extension}"
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    return relative, target


def inside_media(media_dir: Path, relative: str) -> Path | None:
    """Resolve a stored or channel-supplied path; None for anything outside the media folder."""
    root = media_dir.resolve()
    candidate = (root / relative).resolve()
    return candidate if root in candidate.parents else None


def safe_media_path(media_dir: Path, relative: str, max_bytes: int) -> Path | None:
    """An existing file under the media folder, within the size cap."""
    candidate = inside_media(media_dir, relative)
    if candidate is None or not candidate.is_file():
        return None
    if candidate.stat().st_size > max_bytes:
        return None
    return candidate


def valid_coordinates(latitude: object, longitude: object) -> tuple[float, float] | None:
    try:
        lat, lon = float(latitude), float(longitude)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def create_contribution(
    session: Session, sender_id: str, data: ContributionInput, media_dir: Path, max_photo_bytes: int
) -> Contribution:
    """Store a contribution once: a repeated idempotency key returns the first one."""
    citizen = require_consented(session, sender_id)
    if data.idempotency_key:
        existing = session.execute(
            select(Contribution).where(Contribution.idempotency_key == data.idempotency_key)
        ).scalar_one_or_none()
        if existing is not None:
            return existing
    if data.category not in CATEGORIES:
        raise InvalidInput(data.category)
    task_id = get_open_task(session, data.task_id).id if data.task_id is not None else None
    coordinates = None
    if data.latitude is not None or data.longitude is not None:
        coordinates = valid_coordinates(data.latitude, data.longitude)
    contribution = Contribution(
        citizen_id=citizen.id,
        task_id=task_id,
        neighbourhood_id=citizen.neighbourhood_id,
        category=data.category,
        description=clean_text(data.description),
        location_text=clean_text(data.location_text, 300),
        latitude=coordinates[0] if coordinates else None,
        longitude=coordinates[1] if coordinates else None,
        idempotency_key=data.idempotency_key,
    )
    seen: set[str] = set()
    for photo in data.photos[:MAX_PHOTOS]:
        mime = photo.mime_type if photo.mime_type in IMAGE_TYPES else None
        path = safe_media_path(media_dir, photo.path, max_photo_bytes)
        if mime is None or path is None or str(path) in seen:
            logger.warning("ignoring photo %r for citizen %s", photo.path, citizen.id)
            continue
        seen.add(str(path))
        relative = str(path.relative_to(media_dir.resolve()))
        contribution.photos.append(Photo(path=relative, mime_type=mime, size_bytes=path.stat().st_size))
    session.add(contribution)
    session.flush()
    logger.info("contribution %s stored with %s photo(s)", contribution.id, len(contribution.photos))
    return contribution


def contributions_of(session: Session, sender_id: str, limit: int = 10) -> list[Contribution]:
    citizen = require_consented(session, sender_id)
    query = (
        select(Contribution)
        .where(Contribution.citizen_id == citizen.id)
        .order_by(Contribution.id.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())


IN_BATCH = 500  # bound parameters per query: SQLite refuses more than 32,766


def unattached(session: Session, relative_paths: list[str]) -> list[str]:
    """The paths no stored photo uses: files of a cancelled report, safe to delete.
    Asked in batches, so a media folder of any size is checked."""
    used: set[str] = set()
    for start in range(0, len(relative_paths), IN_BATCH):
        batch = relative_paths[start : start + IN_BATCH]
        used.update(session.execute(select(Photo.path).where(Photo.path.in_(batch))).scalars())
    return [path for path in relative_paths if path not in used]
