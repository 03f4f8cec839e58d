"""Who is asking and may they: the signed session, CSRF tokens, login throttling, roles."""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from limits import parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bot.db import Database
from bot.models import StaffAccount
from bot.services import staff
from bot.web.language import N_

LOGIN_PER_ACCOUNT_AND_ADDRESS = parse("5/15 minutes")
LOGIN_PER_ADDRESS = parse("30/15 minutes")


class RowId(Convertor[int]):
    """`{id:id}` in a route: a row id, ASCII digits that fit the database's 64-bit integers.
    A longer number matches no route (404) instead of overflowing the query (a 500)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", RowId())


@dataclass(frozen=True)
class Staff:
    id: int
    email: str
    role: str
    language: str = "en"

    def may(self, permission: str) -> bool:
        return staff.may(self.role, permission)


class LoginThrottle:
    """Failed log-ins slow down whoever fails: five per account from one address and
    thirty per address in 15 minutes (moving window). Only failures count, and never
    per account alone, so someone guessing a colleague's password from elsewhere
    cannot lock the owner out."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage  # memory, or Redis shared by every dashboard worker
        self._limiter = MovingWindowRateLimiter(self._storage)

    def allow(self, email: str, address: str) -> bool:
        pair = (email.strip().lower(), address)
        return (self._limiter.test(LOGIN_PER_ACCOUNT_AND_ADDRESS, "pair", *pair)
                and self._limiter.test(LOGIN_PER_ADDRESS, "address", address))

    def failed(self, email: str, address: str) -> None:
        self._limiter.hit(LOGIN_PER_ACCOUNT_AND_ADDRESS, "pair", email.strip().lower(), address)
        self._limiter.hit(LOGIN_PER_ADDRESS, "address", address)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every form carries it."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: object) -> None:
    expected = request.session.get("csrf") or ""
    if not expected or not isinstance(submitted, str) or not hmac.compare_digest(expected, submitted):
        raise HTTPException(403, N_("The form expired or did not come from this site. Please try again."))


def current(request: Request, db: Database) -> Staff | None:
    """The logged-in, still active staff member, looked up on every request."""
    key = request.session.get("staff_id")
    if not isinstance(key, int):
        return None
    with db.session() as session:
        account = session.get(StaffAccount, key)
        if account is None or not account.active:
            return None
        return Staff(account.id, account.email, account.role, account.language or "en")
