"""The audit log: every change staff make, with who, what, when, before and after."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import AuditEntry


def record(
    session: Session, actor: str, action: str, subject_type: str, subject_id: int | None,
    before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Written in the caller's transaction, so a change and its entry commit together."""
    entry = AuditEntry(
        actor=actor, action=action, subject_type=subject_type, subject_id=subject_id,
        before=json.dumps(before, default=str) if before is not None else None,
        after=json.dumps(after, default=str) if after is not None else None,
    )
    session.add(entry)
    return entry


def history(session: Session, subject_type: str, subject_id: int) -> list[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id)
    )
    return list(session.execute(query).scalars())
