"""Button payloads kept server-side behind short tokens.

Channels like Telegram carry at most 64 bytes of button data and anyone can
forge it, so a button carries only a random token. A press is honoured once
per keyboard, by the chat it was sent to, within `MAX_AGE`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import CallbackToken, utcnow

MAX_AGE = timedelta(days=30)


@dataclass(frozen=True)
class Press:
    """Outcome of a button press: `ok`, `used` (pressed before) or `expired`."""

    status: str
    payload: str = ""
    title: str = ""


def issue(session: Session, chat_id: str, buttons: list[tuple[str, str]]) -> list[str]:
    """Store (title, payload) pairs of one keyboard; returns one token per button."""
    keyboard = secrets.token_urlsafe(9)
    tokens = []
    for title, payload in buttons:
        token = secrets.token_urlsafe(12)
        session.add(CallbackToken(token=token, keyboard=keyboard, chat_id=chat_id, payload=payload, title=title))
        tokens.append(token)
    session.flush()
    return tokens


def redeem(session: Session, chat_id: str, token: str) -> Press:
    """Use a token once: the first press of a keyboard wins, later ones change nothing."""
    found = session.execute(
        select(CallbackToken).where(CallbackToken.token == token[:24], CallbackToken.chat_id == chat_id)
    ).scalar_one_or_none()
    if found is None or found.created_at < utcnow() - MAX_AGE:
        return Press("expired")
    claimed = session.execute(
        update(CallbackToken)
        .where(CallbackToken.keyboard == found.keyboard, CallbackToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        return Press("used", found.payload, found.title)
    return Press("ok", found.payload, found.title)
