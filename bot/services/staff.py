"""Staff accounts of the dashboard: argon2 password hashes, roles, and what each role may do."""
from __future__ import annotations

import logging
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import LANGUAGES, STAFF_ROLES, StaffAccount, utcnow
from bot.services.errors import InvalidInput

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
MIN_PASSWORD = 10
# A hash of a random password, checked when the email is unknown so both cases take as long.
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not-a-real-password-0000")

# What each role may do; checked on the server for every request.
PERMISSIONS = {
    "staff": {"review", "export"},
    "coordinator": {"review", "export", "tasks", "broadcast"},
    "admin": {"review", "export", "tasks", "broadcast", "contact", "accounts"},
}


def may(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, set())


def add(session: Session, email: str, password: str, role: str) -> StaffAccount:
    email = email.strip().lower()
    if not EMAIL.match(email) or role not in STAFF_ROLES:
        raise InvalidInput(email)
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password too short")
    if session.execute(select(StaffAccount.id).where(func.lower(StaffAccount.email) == email)).first():
        raise InvalidInput("exists")
    account = StaffAccount(email=email, password_hash=_HASHER.hash(password), role=role)
    session.add(account)
    session.flush()
    logger.info("staff account %s added with role %s", account.id, role)
    return account


def authenticate(session: Session, email: str, password: str) -> StaffAccount | None:
    """The account if the password is right; None otherwise (same work either way)."""
    account = session.execute(
        select(StaffAccount).where(StaffAccount.email == email.strip().lower(), StaffAccount.active.is_(True))
    ).scalar_one_or_none()
    try:
        _HASHER.verify(account.password_hash if account else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None:
        return None
    if _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = _HASHER.hash(password)
    account.last_login_at = utcnow()
    return account


def set_language(session: Session, account_id: int, language: str) -> str:
    """The dashboard language of an account ("ar", "fr" or "en"); returns the one it had before."""
    if language not in LANGUAGES:
        raise InvalidInput(language)
    account = session.get(StaffAccount, account_id)
    if account is None:
        raise InvalidInput(account_id)
    before = account.language
    account.language = language
    logger.info("staff account %s reads the dashboard in %s", account_id, language)
    return before
