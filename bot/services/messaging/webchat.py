"""Web chat visitors and their conversation.

A visitor is known by a random secret in an HttpOnly cookie; only its SHA-256
is stored. Every line said on the web chat (the citizen's and the assistant's,
replies and later messages alike) is kept in order, so a reload, a dropped
connection or the next visit shows each line exactly once; erasure deletes
the visitor and every line.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.models import WebMessage, WebVisitor, utcnow
from bot.services.citizens import WEB_PREFIX

# A page that is open refreshes `seen_at` every HEARTBEAT; a visitor seen within
# ONLINE is reachable now.
HEARTBEAT = timedelta(seconds=30)
ONLINE = timedelta(seconds=90)
HISTORY = 500
POLL_BATCH = 1000
MAX_TEXT = 4000


@dataclass(frozen=True)
class Line:
    """One line as the browser shows it."""

    id: int
    visitor_id: int
    role: str
    text: str
    buttons: list[dict[str, str]]
    image: str | None
    at: datetime

    def as_event(self) -> dict[str, Any]:
        return {
            "type": "message", "id": self.id, "role": self.role, "text": self.text,
            "buttons": self.buttons, "image": self.image, "at": self.at.isoformat() + "Z",
        }


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def adopt(session: Session, secret: str, language: str | None = None) -> WebVisitor:
    """The visitor whose browser holds `secret` (a cookie the chat page set), created on
    first use: a page view stores nothing, a conversation does."""
    visitor = find_visitor(session, secret)
    if visitor is None:
        visitor = WebVisitor(
            secret_hash=_hash(secret), sender_id=WEB_PREFIX + secrets.token_urlsafe(18), language=language,
        )
        session.add(visitor)
        session.flush()
    return visitor


def find_visitor(session: Session, secret: str | None) -> WebVisitor | None:
    if not secret or len(secret) > 100:
        return None
    return session.execute(select(WebVisitor).where(WebVisitor.secret_hash == _hash(secret))).scalar_one_or_none()


def by_sender(session: Session, sender_id: str) -> WebVisitor | None:
    return session.execute(select(WebVisitor).where(WebVisitor.sender_id == sender_id)).scalar_one_or_none()


def seen(session: Session, visitor_id: int, now: datetime | None = None) -> None:
    """The visitor's page is open now."""
    session.execute(update(WebVisitor).where(WebVisitor.id == visitor_id).values(seen_at=now or utcnow()))


def left(session: Session, visitor_id: int) -> None:
    """The page was closed: from now on, messages wait for the next visit (or a push)."""
    session.execute(update(WebVisitor).where(WebVisitor.id == visitor_id).values(seen_at=None))


def online(visitor: WebVisitor, now: datetime | None = None) -> bool:
    return visitor.seen_at is not None and visitor.seen_at >= (now or utcnow()) - ONLINE


def append(
    session: Session, sender_id: str, role: str, text: str,
    buttons: list[dict[str, str]] | None = None, image: str | None = None,
) -> Line | None:
    """Keep one line of the visitor's conversation; None if there is no such visitor."""
    visitor = by_sender(session, sender_id)
    if visitor is None:
        return None
    body = {"text": text[:MAX_TEXT], "buttons": buttons or [], "image": image}
    line = WebMessage(visitor_id=visitor.id, role=role, body=body)
    session.add(line)
    session.flush()
    return _line(line)


def history(session: Session, visitor_id: int, after: int = 0, limit: int = HISTORY) -> list[Line]:
    """The visitor's lines after id `after`, oldest first (the last `limit` of them)."""
    rows = session.execute(
        select(WebMessage)
        .where(WebMessage.visitor_id == visitor_id, WebMessage.id > after)
        .order_by(WebMessage.id.desc())
        .limit(limit)
    ).scalars()
    return [_line(row) for row in reversed(list(rows))]


def newer_than(session: Session, after: int, limit: int = POLL_BATCH) -> list[Line]:
    """Lines after id `after`, oldest first: a chat server's poll picks up what other
    processes (the scheduler, the broadcaster) wrote."""
    rows = session.execute(select(WebMessage).where(WebMessage.id > after).order_by(WebMessage.id).limit(limit)).scalars()
    return [_line(row) for row in rows]


def last_id(session: Session) -> int:
    return session.execute(select(WebMessage.id).order_by(WebMessage.id.desc()).limit(1)).scalar() or 0


def set_push(session: Session, visitor_id: int, subscription: dict[str, Any] | None) -> None:
    session.execute(update(WebVisitor).where(WebVisitor.id == visitor_id).values(push_subscription=subscription))


def set_language(session: Session, visitor_id: int, language: str) -> None:
    session.execute(update(WebVisitor).where(WebVisitor.id == visitor_id).values(language=language))


def forget(session: Session, sender_id: str) -> bool:
    """Erasure: the visitor, their push subscription and every line of their chat."""
    visitor = by_sender(session, sender_id)
    if visitor is None:
        return False
    session.execute(delete(WebMessage).where(WebMessage.visitor_id == visitor.id))
    session.delete(visitor)
    session.flush()
    return True


def _line(row: WebMessage) -> Line:
    body = row.body or {}
    return Line(row.id, row.visitor_id, row.role, body.get("text") or "", body.get("buttons") or [], body.get("image"), row.created_at)
