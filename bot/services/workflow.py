"""The review workflow of a contribution: status changes and what the reporter hears."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from bot.models import CONTRIBUTION_STATUSES, Contribution, utcnow
from bot.services import notifications
from bot.services.errors import InvalidInput
from bot.services.notifications import Rules
from bot.services.text import clean_text

logger = logging.getLogger(__name__)


def parse_reference(value: object) -> int | None:
    """`R-1001` (what citizens and staff see) or a bare id → the contribution id; None for
    anything else (other scripts' digits such as `²`, or more digits than any id has)."""
    text = str(value or "").strip().upper()
    digits, offset = (text[2:], 1000) if text.startswith("R-") else (text, 0)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        return None
    return int(digits) - offset


def set_status(
    session: Session,
    contribution_id: int,
    status: str,
    rules: Rules,
    public_note: str | None = None,
    now: datetime | None = None,
) -> Contribution:
    """Move a contribution on. Resolving it tells the reporter now and asks later
    whether it is still fixed (FixMyStreet-style follow-up)."""
    now = now or utcnow()
    if status not in CONTRIBUTION_STATUSES:
        raise InvalidInput(status)
    contribution = session.get(Contribution, contribution_id)
    if contribution is None:
        raise InvalidInput(contribution_id)
    was = contribution.status
    contribution.status = status
    if public_note is not None:
        contribution.public_note = clean_text(public_note) or None
    if status == "resolved" and was != "resolved":
        contribution.resolved_at = now
        notifications.plan_resolution(session, contribution, rules, now)
    logger.info("contribution %s: %s -> %s", contribution.id, was, status)
    return contribution


def reopen(session: Session, contribution: Contribution, now: datetime | None = None) -> None:
    """The reporter says it is broken again: back to staff, marked as reopened."""
    contribution.status = "in_progress"
    contribution.reopened_at = now or utcnow()
    logger.info("contribution %s reopened by its reporter", contribution.id)
