"""Roles of Telegram users. Every coordinator command asks `is_coordinator` on the server."""
from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import ROLES, Role
from bot.services.errors import InvalidInput

logger = logging.getLogger(__name__)


def _telegram_id(value: object) -> str:
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 20:
        raise InvalidInput(value)
    return text


def has_role(session: Session, telegram_id: object, role: str = "coordinator") -> bool:
    query = select(Role.id).where(Role.telegram_id == str(telegram_id), Role.role == role)
    return session.execute(query).first() is not None


def is_coordinator(session: Session, telegram_id: object) -> bool:
    return has_role(session, telegram_id, "coordinator")


def holders(session: Session, role: str = "coordinator") -> list[str]:
    return list(session.execute(select(Role.telegram_id).where(Role.role == role).order_by(Role.id)).scalars())


def grant(session: Session, telegram_id: object, role: str = "coordinator", by: str | None = None) -> bool:
    """Give a role; False if the user had it already."""
    if role not in ROLES:
        raise InvalidInput(role)
    key = _telegram_id(telegram_id)
    if has_role(session, key, role):
        return False
    session.add(Role(telegram_id=key, role=role, granted_by=by))
    session.flush()
    logger.info("granted %s to %s (by %s)", role, key, by or "bootstrap")
    return True


def revoke(session: Session, telegram_id: object, role: str = "coordinator") -> bool:
    """Take a role away; False if the user did not have it."""
    if role not in ROLES:
        raise InvalidInput(role)
    result = session.execute(delete(Role).where(Role.telegram_id == _telegram_id(telegram_id), Role.role == role))
    return bool(result.rowcount)


def bootstrap(session: Session, coordinator_ids: list[str]) -> int:
    """`COORDINATOR_IDS` at start-up: grant the role to each listed id that lacks it."""
    return sum(grant(session, telegram_id, "coordinator", by="COORDINATOR_IDS") for telegram_id in coordinator_ids)
