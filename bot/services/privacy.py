"""Erasure: remove a citizen's personal data, keep only anonymous counts."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.models import CallbackToken, Contribution, Feedback, Signup
from bot.services import broadcasts, inbox, notifications
from bot.services.citizens import find_citizen
from bot.services.contributions import inside_media
from bot.services.messaging import webchat
from bot.services.signups import release_all

logger = logging.getLogger(__name__)

COARSE_DECIMALS = 2  # about 1 km: enough for area statistics, not for a doorstep


@dataclass(frozen=True)
class ErasureSummary:
    found: bool
    contributions_kept: int = 0
    signups_cancelled: int = 0
    feedback_kept: int = 0
    photo_files: tuple[str, ...] = ()


def erase_citizen(session: Session, sender_id: str) -> ErasureSummary:
    """Delete identity, free text, exact places, messages and buttons; keep categories,
    dates and ratings. Photo files are listed, to delete with `delete_files` once the
    session has committed (a failed commit must not leave rows without their files).
    """
    inbox.forget_sender(session, sender_id)
    session.execute(delete(CallbackToken).where(CallbackToken.chat_id == sender_id))
    webchat.forget(session, sender_id)
    citizen = find_citizen(session, sender_id)
    if citizen is None:
        return ErasureSummary(found=False)
    contributions = list(
        session.execute(select(Contribution).where(Contribution.citizen_id == citizen.id)).scalars()
    )
    photo_paths: list[str] = []
    for contribution in contributions:
        photo_paths += [photo.path for photo in contribution.photos]
        contribution.photos.clear()
        contribution.description = None
        contribution.original_description = None
        contribution.location_text = None
        contribution.idempotency_key = None
        if contribution.latitude is not None:
            contribution.latitude = round(contribution.latitude, COARSE_DECIMALS)
            contribution.longitude = round(contribution.longitude, COARSE_DECIMALS)
        contribution.citizen_id = None
    cancelled = release_all(session, citizen.id)
    notifications.forget_citizen(session, citizen.id)
    broadcasts.forget_citizen(session, citizen.id)
    session.execute(update(Signup).where(Signup.citizen_id == citizen.id).values(citizen_id=None))
    feedback_count = session.execute(
        update(Feedback)
        .where(Feedback.citizen_id == citizen.id)
        .values(citizen_id=None, comment=None, idempotency_key=None)
    ).rowcount
    session.delete(citizen)
    session.flush()
    logger.info("erased a citizen: %s contributions anonymised", len(contributions))
    return ErasureSummary(
        found=True,
        contributions_kept=len(contributions),
        signups_cancelled=cancelled,
        feedback_kept=int(feedback_count or 0),
        photo_files=tuple(photo_paths),
    )


def delete_files(media_dir: Path, relative_paths: Iterable[str]) -> int:
    """Remove stored files (after the rows that named them are gone); returns how many."""
    deleted = 0
    for relative in relative_paths:
        target = inside_media(media_dir, relative)
        if target is None:
            continue
        try:
            target.unlink()
            deleted += 1
        except FileNotFoundError:
            deleted += 1
        except OSError:
            logger.exception("could not delete file %s", relative)
    return deleted
