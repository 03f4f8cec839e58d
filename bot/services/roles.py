"""Roles of Telegram users. Every coordinator command asks `is_coordinator` on the server;
every grant and revocation goes to the audit log."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import ROLES, Role, utcnow
from bot.services import audit
from bot.services.errors import InvalidInput

logger = logging.getLogger(__name__)


def _telegram_id(value: object) -> str:
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 20:
        raise InvalidInput(value)
    return text


def has_role(session: Session, telegram_id: object, role: str = "coordinator") -> bool:
    query = select(Role.id).where(Role.telegram_id == str(telegram_id), Role.role == role, Role.revoked_at.is_(None))
    return session.execute(query).first() is not None


def _row(session: Session, telegram_id: str, role: str) -> Role | None:
    return session.execute(select(Role).where(Role.telegram_id == telegram_id, Role.role == role)).scalar_one_or_none()


def is_coordinator(session: Session, telegram_id: object) -> bool:
    return has_role(session, telegram_id, "coordinator")


def holders(session: Session, role: str = "coordinator") -> list[str]:
    query = select(Role.telegram_id).where(Role.role == role, Role.revoked_at.is_(None)).order_by(Role.id)
    return list(session.execute(query).scalars())


def grant(session: Session, telegram_id: object, role: str = "coordinator", by: str | None = None) -> bool:
    """Give a role (again, if it was revoked); False if the user had it already."""
    if role not in ROLES:
        raise InvalidInput(role)
    key = _telegram_id(telegram_id)
    row = _row(session, key, role)
    if row is not None and row.revoked_at is None:
        return False
    if row is None:
        session.add(Role(telegram_id=key, role=role, granted_by=by))
    else:
        row.revoked_at, row.granted_by, row.granted_at = None, by, utcnow()
    audit.record(session, by or "bootstrap", "role.grant", "role", None, None, {"telegram_id": key, "role": role})
    session.flush()
    logger.info("granted %s to %s (by %s)", role, key, by or "bootstrap")
    return True


def revoke(session: Session, telegram_id: object, role: str = "coordinator", by: str | None = None) -> bool:
    """Take a role away and remember it; False if the user did not have it."""
    if role not in ROLES:
        raise InvalidInput(role)
    key = _telegram_id(telegram_id)
    row = _row(session, key, role)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    audit.record(session, by or "unknown", "role.revoke", "role", None, {"telegram_id": key, "role": role}, None)
    return True


def bootstrap(session: Session, coordinator_ids: list[str]) -> int:
    """`COORDINATOR_IDS` at start-up: grant the role to each listed id that never had it;
    one an admin revoked stays revoked until granted again by hand."""
    granted = 0
    for telegram_id in coordinator_ids:
        row = _row(session, _telegram_id(telegram_id), "coordinator")
        if row is None:
            granted += grant(session, telegram_id, "coordinator", by="COORDINATOR_IDS")
        elif row.revoked_at is not None:
            logger.info("COORDINATOR_IDS lists %s, whose coordinator role was revoked: not granted", row.telegram_id)
    return granted
