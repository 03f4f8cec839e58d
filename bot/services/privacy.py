"""Erasure: remove a citizen's personal data, keep only anonymous counts."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import Contribution, Feedback, Photo, Signup
from bot.services import inbox
from bot.services.citizens import find_citizen
from bot.services.signups import release_all

logger = logging.getLogger(__name__)

COARSE_DECIMALS = 2  # about 1 km: enough for area statistics, not for a doorstep


@dataclass(frozen=True)
class ErasureSummary:
    found: bool
    contributions_kept: int = 0
    photos_deleted: int = 0
    signups_cancelled: int = 0
    feedback_kept: int = 0


def erase_citizen(session: Session, sender_id: str, media_dir: Path) -> ErasureSummary:
    """Delete identity, free text, exact places and photos; keep categories, dates, ratings.

    Photo files are removed after the rows, so a failure leaves no row
    pointing at a missing file; a leftover file is logged, never exposed.
    """
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
        contribution.location_text = None
        if contribution.latitude is not None:
            contribution.latitude = round(contribution.latitude, COARSE_DECIMALS)
            contribution.longitude = round(contribution.longitude, COARSE_DECIMALS)
        contribution.citizen_id = None
    cancelled = release_all(session, citizen.id)
    session.execute(
        update(Signup).where(Signup.citizen_id == citizen.id).values(citizen_id=None)
    )
    feedback_ids = list(
        session.execute(select(Feedback.id).where(Feedback.citizen_id == citizen.id)).scalars()
    )
    session.execute(
        update(Feedback)
        .where(Feedback.citizen_id == citizen.id)
        .values(citizen_id=None, comment=None)
    )
    session.delete(citizen)
    inbox.forget_sender(session, sender_id)
    session.flush()
    remaining = {p for p in session.execute(select(Photo.path)).scalars()}
    deleted = 0
    for relative in photo_paths:
        if relative in remaining:
            continue
        try:
            (media_dir / relative).unlink()
            deleted += 1
        except FileNotFoundError:
            deleted += 1
        except OSError:
            logger.exception("could not delete photo file %s", relative)
    logger.info("erased a citizen: %s contributions anonymised", len(contributions))
    return ErasureSummary(
        found=True,
        contributions_kept=len(contributions),
        photos_deleted=deleted,
        signups_cancelled=cancelled,
        feedback_kept=len(feedback_ids),
    )
