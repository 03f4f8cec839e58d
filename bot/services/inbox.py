"""The inbox: every incoming message is stored before it is handled, so none is lost.

A message stays `pending` until the assistant answered it; if the assistant
is down it is retried later, oldest first per chat. Album parts arrive as
separate updates and are `held` under a group key until merged into one.

Several processes may share the inbox (bridges behind a load balancer): a
message is answered by the one that claims it (`pending` → `handling`, a
conditional update that only one can win), and a chat's next message waits
while an earlier one is being handled anywhere, so order is kept. A claim not
renewed for `CLAIM_LEASE` (its process died) goes back to `pending`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import InboxMessage, utcnow

UNANSWERED = ("pending", "held", "handling")
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Incoming:
    update_key: str
    sender_id: str
    chat_id: str
    text: str
    meta: dict[str, Any]
    group_key: str | None = None
    channel: str = "telegram"


def accept(session: Session, incoming: Incoming) -> InboxMessage | None:
    """Store a new message; None if this update was already stored (a duplicate)."""
    item = InboxMessage(
        update_key=incoming.update_key,
        channel=incoming.channel,
        sender_id=incoming.sender_id,
        chat_id=incoming.chat_id,
        text=incoming.text,
        meta=json.dumps(incoming.meta, ensure_ascii=False),
        status="held" if incoming.group_key else "pending",
        group_key=incoming.group_key,
    )
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        return None
    return item


def seen(session: Session, update_key: str) -> bool:
    """Whether this update was stored already (a repeated delivery)."""
    return session.execute(select(InboxMessage.id).where(InboxMessage.update_key == update_key)).first() is not None


def meta_of(item: InboxMessage) -> dict[str, Any]:
    return dict(json.loads(item.meta or "{}"))


def release_group(session: Session, group_key: str) -> InboxMessage | None:
    """Merge held album parts into the first one: all photos, the caption that exists.
    None if there is nothing held, or another process is releasing it."""
    parts = list(
        session.execute(
            select(InboxMessage)
            .where(InboxMessage.group_key == group_key, InboxMessage.status == "held")
            .order_by(InboxMessage.id)
        ).scalars()
    )
    if not parts:
        return None
    first = parts[0]
    won = session.execute(
        update(InboxMessage).where(InboxMessage.id == first.id, InboxMessage.status == "held")
        .values(status="pending").execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        return None
    meta = meta_of(first)
    texts = [p.text for p in parts if p.text and not p.text.startswith("/")]
    for part in parts[1:]:
        meta = _merge_meta(meta, meta_of(part))
    if len(parts) > 1:
        session.execute(
            update(InboxMessage).where(InboxMessage.id.in_([p.id for p in parts[1:]]), InboxMessage.status == "held")
            .values(status="merged", handled_at=utcnow()).execution_options(synchronize_session=False)
        )
    first.meta = json.dumps(meta, ensure_ascii=False)
    first.text = "\n".join(texts) if texts else first.text
    first.status = "pending"
    return first


def _merge_meta(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Concatenate lists (photos, files), recurse into blocks, keep the first scalar."""
    merged = dict(into)
    for key, value in other.items():
        if isinstance(value, list):
            merged[key] = list(merged.get(key) or []) + value
        elif isinstance(value, dict):
            merged[key] = _merge_meta(dict(merged.get(key) or {}), value)
        else:
            merged.setdefault(key, value)
    return merged


def stale_groups(session: Session, older_than: timedelta, now: datetime | None = None) -> list[str]:
    """Album groups whose merge never happened (e.g. the process stopped)."""
    cutoff = (now or utcnow()) - older_than
    query = (
        select(InboxMessage.group_key)
        .where(InboxMessage.status == "held")
        .group_by(InboxMessage.group_key)
        .having(func.max(InboxMessage.created_at) < cutoff)
    )
    return [key for key in session.execute(query).scalars() if key]


def next_pending(session: Session, chat_id: str, now: datetime | None = None) -> InboxMessage | None:
    """The oldest unanswered message of a chat, if it is due and nobody is handling an
    earlier one. Order is kept per chat."""
    oldest = session.execute(
        select(InboxMessage)
        .where(InboxMessage.chat_id == chat_id, InboxMessage.status.in_(UNANSWERED))
        .order_by(InboxMessage.id)
        .limit(1)
    ).scalar_one_or_none()
    if oldest is None or oldest.status != "pending":
        return None
    if oldest.not_before is not None and oldest.not_before > (now or utcnow()):
        return None
    return oldest


def claim_next(session: Session, chat_id: str, owner: str, now: datetime | None = None) -> InboxMessage | None:
    """Claim the chat's next due message for `owner`; None if there is none or another
    process claimed it first."""
    now = now or utcnow()
    item = next_pending(session, chat_id, now)
    if item is None:
        return None
    won = session.execute(
        update(InboxMessage).where(InboxMessage.id == item.id, InboxMessage.status == "pending")
        .values(status="handling", claimed_by=owner, claimed_at=now).execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        return None
    session.refresh(item)
    return item


def renew_claims(session: Session, owner: str, now: datetime | None = None) -> None:
    """A live process keeps its claims: renewed on every retry pass, not only per stage."""
    session.execute(
        update(InboxMessage).where(InboxMessage.status == "handling", InboxMessage.claimed_by == owner)
        .values(claimed_at=now or utcnow()).execution_options(synchronize_session=False)
    )


def unclaim(session: Session, item_id: int, owner: str) -> None:
    """Give a claimed message back untouched (the process is stopping)."""
    session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == item_id, InboxMessage.status == "handling", InboxMessage.claimed_by == owner)
        .values(status="pending", claimed_by=None, claimed_at=None).execution_options(synchronize_session=False)
    )


def release_stale_claims(session: Session, now: datetime | None = None) -> int:
    """Messages whose process stopped renewing its claim go back to `pending`."""
    cutoff = (now or utcnow()) - CLAIM_LEASE
    result = session.execute(
        update(InboxMessage).where(InboxMessage.status == "handling", InboxMessage.claimed_at < cutoff)
        .values(status="pending", claimed_by=None, claimed_at=None).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def chats_with_due_messages(session: Session, now: datetime | None = None, channel: str = "telegram") -> list[str]:
    """Chats of one channel whose oldest unanswered message is due now and not being handled."""
    now = now or utcnow()
    oldest = (
        select(func.min(InboxMessage.id))
        .where(InboxMessage.status.in_(UNANSWERED), InboxMessage.channel == channel)
        .group_by(InboxMessage.chat_id)
    )
    query = (
        select(InboxMessage.chat_id)
        .where(
            InboxMessage.id.in_(oldest),
            InboxMessage.status == "pending",
            (InboxMessage.not_before.is_(None)) | (InboxMessage.not_before <= now),
        )
        .order_by(InboxMessage.id)
    )
    return list(session.execute(query).scalars())


def defer(session: Session, item_id: int, delay: timedelta) -> int:
    """Try again later (the claim is given up); returns how many attempts failed so far."""
    item = session.get(InboxMessage, item_id)
    item.attempts += 1
    item.not_before = utcnow() + delay
    if item.status == "handling":
        item.status, item.claimed_by, item.claimed_at = "pending", None, None
    return int(item.attempts)


def hold_until(session: Session, item_id: int, when: datetime) -> None:
    session.execute(update(InboxMessage).where(InboxMessage.id == item_id).values(not_before=when))


def mark_done(session: Session, item_id: int) -> None:
    session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == item_id)
        .values(status="done", handled_at=utcnow())
    )


def unanswered(session: Session, chat_id: str) -> int:
    """How many of a chat's messages wait for an answer (album parts included)."""
    query = select(func.count()).where(InboxMessage.chat_id == chat_id, InboxMessage.status.in_(UNANSWERED))
    return int(session.execute(query).scalar_one())


def skip(session: Session, item: InboxMessage) -> None:
    """A flood's excess: kept (nothing is deleted unseen) but never handed to the assistant."""
    item.status = "skipped"
    item.handled_at = utcnow()


def mark_failed(session: Session, item_id: int) -> None:
    """Set a message aside for staff after repeated failures; it is kept, not retried."""
    session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == item_id)
        .values(status="failed", handled_at=utcnow())
    )


def update_meta(session: Session, item_id: int, meta: dict[str, Any]) -> None:
    """Save a stage's result; a claim is renewed with it."""
    session.execute(
        update(InboxMessage)
        .where(InboxMessage.id == item_id)
        .values(meta=json.dumps(meta, ensure_ascii=False), claimed_at=utcnow())
    )


def forget_sender(session: Session, sender_id: str) -> int:
    """Erasure: delete every stored message of a citizen."""
    result = session.execute(delete(InboxMessage).where(InboxMessage.sender_id == sender_id))
    return int(result.rowcount or 0)
