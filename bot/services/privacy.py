"""Erasure: remove a citizen's personal data, keep only anonymous counts."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.models import AuditEntry, CallbackToken, Contribution, ContributionNote, Feedback, Signup
from bot.services import broadcasts, inbox, notifications
from bot.services.citizens import find_citizen
from bot.services.contributions import inside_media
from bot.services.messaging import webchat
from bot.services.signups import release_all

logger = logging.getLogger(__name__)

COARSE_DECIMALS = 2  # about 1 km: enough for area statistics, not for a doorstep

# Every table, and what erasing a citizen does there. tests/test_privacy.py fails when a
# table is added without saying, so no new place for personal data can be forgotten.
# Rasa's conversation store is outside this database: the erase action's marker empties
# it (bot/rasa_tracker_store.py), and the nightly job drops conversations after
# CONVERSATION_RETENTION_DAYS.
CITIZEN_DATA = {
    "citizens": "deleted",
    "contributions": "text, address, exact place, idempotency key and link to the citizen removed; category and dates kept",
    "photos": "rows and files deleted",
    "contribution_notes": "staff's internal notes on the citizen's reports deleted; public notes (the city's answer) kept",
    "signups": "future spots released; past ones kept without the citizen, as attendance figures",
    "series_signups": "deleted with the citizen (ON DELETE CASCADE)",
    "feedback": "comment and link removed; the rating kept",
    "notifications": "deleted",
    "deliveries": "pending ones skipped; the chat id replaced",
    "inbox": "deleted",
    "callback_tokens": "deleted",
    "web_visitors": "deleted",
    "web_messages": "deleted",
    "audit_log": "copies of the citizen's words in report entries replaced; who did what and when kept",
}
NOT_CITIZEN_DATA = {
    "neighbourhoods": "the city's areas",
    "tasks": "what coordinators publish",
    "occurrences": "sessions and counts",
    "broadcasts": "coordinators' messages",
    "roles": "coordinators' Telegram ids (revoked by an admin, not erased by citizens)",
    "coordinator_drafts": "a coordinator's unfinished /newtask or /broadcast",
    "staff_accounts": "staff, managed by admins",
    "leases": "which process sends reminders and broadcasts",
}


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
    _scrub_audit(session, [contribution.id for contribution in contributions])
    _drop_internal_notes(session, [contribution.id for contribution in contributions])
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


ERASED = '{"erased": "with the citizen"}'


def _scrub_audit(session: Session, contribution_ids: list[int]) -> None:
    """The audit log keeps who did what and when to these reports, not their words
    (moderation stored the original text there)."""
    for start in range(0, len(contribution_ids), 500):
        batch = contribution_ids[start : start + 500]
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.subject_type == "contribution", AuditEntry.subject_id.in_(batch))
            .values(before=ERASED, after=ERASED)
            .execution_options(synchronize_session=False)
        )


def _drop_internal_notes(session: Session, contribution_ids: list[int]) -> None:
    for start in range(0, len(contribution_ids), 500):
        batch = contribution_ids[start : start + 500]
        session.execute(
            delete(ContributionNote)
            .where(ContributionNote.contribution_id.in_(batch), ContributionNote.public.is_(False))
            .execution_options(synchronize_session=False)
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
