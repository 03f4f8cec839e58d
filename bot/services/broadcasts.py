"""Broadcasts: a coordinator's message to an audience, delivered through an outbox.

Confirming a broadcast writes one `Delivery` row per recipient in the same
transaction, on the citizen's channel. A sender then moves each row
pending → sending (committed before the channel's call) → sent with the
channel's message id. A row found `sending` after a crash is `unknown`: the
channel may or may not have taken it, and it is not sent again (see README,
"Broadcasts").
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, false, func, insert, literal, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.models import (
    AUDIENCES,
    CATEGORIES,
    LANGUAGES,
    Broadcast,
    Citizen,
    Contribution,
    Delivery,
    Neighbourhood,
    Signup,
    Task,
    WebVisitor,
    utcnow,
)
from bot.services import tasks
from bot.services.messaging import webchat
from bot.services.errors import InvalidInput
from bot.services.text import clean_text

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MAX_TEXT = 4000
MAX_CAPTION = 1024
MEDIA_PREFIX = "media:"  # a photo uploaded in the dashboard, under MEDIA_DIR; else a Telegram file id


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: everyone, a neighbourhood (id), a category, a task (id), a linked group (chat id)."""

    kind: str
    value: str | None = None

    def check(self, session: Session) -> "Audience":
        if self.kind not in AUDIENCES or (self.kind != "all") != (self.value is not None):
            raise InvalidInput(self.kind)
        if self.kind == "neighbourhood" and session.get(Neighbourhood, _int(self.value)) is None:
            raise InvalidInput(self.value)
        if self.kind == "category" and self.value not in CATEGORIES:
            raise InvalidInput(self.value)
        if self.kind == "task" and session.get(Task, _int(self.value)) is None:
            raise InvalidInput(self.value)
        return self


def _int(value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(value) from None
    if not -2**63 <= number < 2**63:  # no row has such an id, and the database cannot even compare it
        raise InvalidInput(value)
    return number


def recipients(audience: Audience) -> Select:
    """(citizen id, channel, address) of everyone in the audience who may be messaged
    now: consented, notifications on, not blocked. Erased citizens no longer exist."""
    address = func.coalesce(Citizen.address, Citizen.sender_id).label("address")
    query = select(Citizen.id, Citizen.channel, address).where(
        Citizen.consented_at.isnot(None), Citizen.notifications == true(), Citizen.blocked_at.is_(None)
    )
    if audience.kind == "neighbourhood":
        query = query.where(Citizen.neighbourhood_id == _int(audience.value))
    elif audience.kind == "category":
        joined = select(Signup.citizen_id).join(Task, Signup.task_id == Task.id).where(Task.category == audience.value)
        reported = select(Contribution.citizen_id).where(Contribution.category == audience.value)
        query = query.where(or_(Citizen.id.in_(joined), Citizen.id.in_(reported)))
    elif audience.kind in ("task", "group"):
        if audience.kind == "task":
            tasks = [_int(audience.value)]
        else:
            tasks = select(Task.id).where(Task.group_chat_id == audience.value)
        members = select(Signup.citizen_id).where(Signup.task_id.in_(tasks), Signup.status == "active")
        query = query.where(Citizen.id.in_(members))
    return query.order_by(Citizen.id)


def count(session: Session, audience: Audience) -> int:
    """The exact number of recipients right now (the preview shows it)."""
    return session.execute(select(func.count()).select_from(recipients(audience).subquery())).scalar_one()


def start(
    session: Session,
    created_by: str,
    audience: Audience,
    text: str,
    photo: str | None = None,
    signup_task_id: int | None = None,
    hold_quiet_hours: bool = True,
    progress_chat_id: str | None = None,
    texts: dict[str, str] | None = None,
) -> Broadcast:
    """Confirm: store the broadcast and one pending delivery per recipient, atomically.

    `texts` holds the same message in other languages; a citizen whose language
    has none gets `text`."""
    audience.check(session)
    body = _message(text, photo)
    translated = {lang: _message(words, photo) for lang, words in (texts or {}).items() if words and words.strip()}
    if any(lang not in LANGUAGES for lang in translated):
        raise InvalidInput("language")
    if signup_task_id is not None and session.get(Task, signup_task_id) is None:
        raise InvalidInput(signup_task_id)
    broadcast = Broadcast(
        created_by=created_by,
        audience=audience.kind,
        audience_value=audience.value,
        text=body,
        texts=translated,
        photo=photo,
        signup_task_id=signup_task_id,
        hold_quiet_hours=hold_quiet_hours,
        progress_chat_id=progress_chat_id,
    )
    session.add(broadcast)
    session.flush()
    chosen = recipients(audience).subquery()
    rows = select(literal(broadcast.id), chosen.c.id, chosen.c.channel, chosen.c.address, literal("pending"), literal(0))
    session.execute(
        insert(Delivery).from_select(["broadcast_id", "citizen_id", "channel", "chat_id", "status", "attempts"], rows)
    )
    broadcast.total = session.execute(
        select(func.count(Delivery.id)).where(Delivery.broadcast_id == broadcast.id)
    ).scalar_one()
    logger.info("broadcast %s to %s (%s %s): %s recipients", broadcast.id, audience.kind, audience.value or "", created_by, broadcast.total)
    return broadcast


def cancel(session: Session, broadcast_id: int) -> Broadcast | None:
    """Stop a broadcast: what is not yet on its way is skipped."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.status != "sending":
        return broadcast
    session.execute(
        update(Delivery)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "pending")
        .values(status="skipped", error="cancelled")
        .execution_options(synchronize_session=False)
    )
    broadcast.status = "cancelled"
    broadcast.finished_at = utcnow()
    return broadcast


@dataclass(frozen=True)
class Outbound:
    """One delivery, claimed: what to send and to whom."""

    delivery_id: int
    broadcast_id: int
    channel: str
    chat_id: str
    text: str
    photo: str | None
    signup_task_id: int | None
    signup_title: str | None
    language: str = "en"


def due(session: Session, now: datetime, limit: int, exclude: set[int], quiet: bool) -> list[tuple[int, str]]:
    """(id, channel) of pending deliveries of running broadcasts, oldest first (held
    ones wait out quiet hours)."""
    query = (
        select(Delivery.id, Delivery.channel)
        .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .where(
            Delivery.status == "pending",
            Broadcast.status == "sending",
            or_(Delivery.not_before.is_(None), Delivery.not_before <= now),
        )
        .order_by(Delivery.id)
        .limit(limit + len(exclude))
    )
    if quiet:
        query = query.where(Broadcast.hold_quiet_hours == false())
    return [(key, channel) for key, channel in session.execute(query).all() if key not in exclude][:limit]


def _message(text: str, photo: str | None) -> str:
    body = clean_text(text) or ""
    if not body.strip() or len(body) > (MAX_CAPTION if photo else MAX_TEXT):
        raise InvalidInput("text")
    return body


def count_by_channel(session: Session, audience: Audience) -> dict[str, int]:
    """How many recipients each channel reaches: the preview shows it."""
    chosen = recipients(audience).subquery()
    rows = session.execute(select(chosen.c.channel, func.count()).group_by(chosen.c.channel)).all()
    return {channel: number for channel, number in rows}


def count_unreachable(session: Session, audience: Audience, now: datetime | None = None) -> int:
    """Recipients no channel can write to now: web chat visitors who are offline
    without notifications (they see it at their next visit), and terminal users."""
    now = now or utcnow()
    chosen = recipients(audience).subquery()
    offline_web = (
        select(WebVisitor.sender_id)
        .where(WebVisitor.push_subscription.is_(None))
        .where(or_(WebVisitor.seen_at.is_(None), WebVisitor.seen_at < now - webchat.ONLINE))
    )
    query = select(func.count()).select_from(chosen).where(
        or_(chosen.c.channel == "terminal", (chosen.c.channel == "web") & chosen.c.address.in_(offline_web))
    )
    return int(session.execute(query).scalar_one())


def count_by_language(session: Session, audience: Audience) -> dict[str, int]:
    """How many recipients read each language: the preview shows who gets which text."""
    chosen = recipients(audience).subquery()
    rows = session.execute(
        select(Citizen.language, func.count()).join(chosen, chosen.c.id == Citizen.id).group_by(Citizen.language)
    ).all()
    return {language: number for language, number in rows}


def claim(session: Session, delivery_id: int) -> Outbound | None:
    """pending → sending, or skipped if the citizen stopped, blocked or erased since confirm."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    citizen = session.get(Citizen, delivery.citizen_id) if delivery.citizen_id is not None else None
    if citizen is None or not citizen.notifications or citizen.blocked_at is not None:
        delivery.status, delivery.error = "skipped", "opted out"
        return None
    taken = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "pending")
        .values(status="sending", attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    broadcast = session.get(Broadcast, delivery.broadcast_id)
    task = session.get(Task, broadcast.signup_task_id) if broadcast.signup_task_id else None
    language = citizen.language
    return Outbound(
        delivery.id, broadcast.id, delivery.channel, delivery.chat_id, (broadcast.texts or {}).get(language) or broadcast.text,
        broadcast.photo,
        task.id if task is not None and task.status == "open" else None,
        tasks.title_in(task, language) if task is not None else None,
        language,
    )


def record(
    session: Session,
    delivery_id: int,
    outcome: str,
    message_id: object = None,
    retry_in: float = 0.0,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """After the channel's call. `retry` means it certainly did not take it (429,
    refused connection, 5xx): back to pending after `retry_in` seconds, up to 5 tries.
    `unreachable`: the citizen's channel cannot write to them now (counted apart)."""
    now = now or utcnow()
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "sending":
        return
    if outcome == "sent":
        delivery.status, delivery.sent_at = "sent", now
        delivery.message_id = str(message_id) if message_id is not None else None
    elif outcome == "retry" and session.get(Broadcast, delivery.broadcast_id).status != "sending":
        delivery.status, delivery.error = "skipped", "cancelled"
    elif outcome == "retry" and delivery.attempts < MAX_ATTEMPTS:
        delivery.status, delivery.not_before = "pending", now + timedelta(seconds=retry_in)
    elif outcome == "blocked":
        delivery.status, delivery.error = "blocked", "blocked the bot"
        citizen = session.get(Citizen, delivery.citizen_id) if delivery.citizen_id else None
        if citizen is not None:
            citizen.blocked_at, citizen.notifications = now, False
    elif outcome == "unknown":
        delivery.status, delivery.error = "unknown", "no answer from the channel"
    elif outcome == "unreachable":
        delivery.status, delivery.error = "unreachable", (error or "not reachable now")[:200]
    else:
        delivery.status, delivery.error = "failed", (error or outcome)[:200]


def forget_citizen(session: Session, citizen_id: int) -> None:
    """Erasure: nothing more goes out to this citizen, and their chat id leaves the outbox."""
    session.execute(
        update(Delivery)
        .where(Delivery.citizen_id == citizen_id, Delivery.status == "pending")
        .values(status="skipped", error="erased")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Delivery)
        .where(Delivery.citizen_id == citizen_id)
        .values(chat_id="erased-" + cast(Delivery.id, String), citizen_id=None)
        .execution_options(synchronize_session=False)
    )


def recover_interrupted(session: Session) -> int:
    """At start-up: deliveries left `sending` by a crash become `unknown`, never resent."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == "sending")
        .values(status="unknown", error="in flight during a restart")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        logger.warning("%s broadcast deliveries were in flight during a crash; not resending them", result.rowcount)
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    unknown: int
    waiting: int
    status: str
    unreachable: int = 0

    @property
    def finished(self) -> bool:
        return self.waiting == 0


def progress(session: Session, broadcast_id: int) -> Progress:
    broadcast = session.get(Broadcast, broadcast_id)
    counts = dict(
        session.execute(
            select(Delivery.status, func.count(Delivery.id)).where(Delivery.broadcast_id == broadcast_id).group_by(Delivery.status)
        ).all()
    )
    return Progress(
        total=broadcast.total,
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        blocked=counts.get("blocked", 0),
        skipped=counts.get("skipped", 0),
        unknown=counts.get("unknown", 0),
        waiting=counts.get("pending", 0) + counts.get("sending", 0),
        status=broadcast.status,
        unreachable=counts.get("unreachable", 0),
    )


def finish_if_done(session: Session, broadcast_id: int, now: datetime | None = None) -> bool:
    """Mark a broadcast done once nothing is waiting; True if it is over (done or cancelled)."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast.status != "sending":
        return True
    if progress(session, broadcast_id).waiting:
        return False
    broadcast.status, broadcast.finished_at = "done", now or utcnow()
    return True


def finish_done(session: Session, now: datetime | None = None) -> int:
    """Mark every running broadcast with nothing left to send as done; how many."""
    return sum(finish_if_done(session, broadcast.id, now) for broadcast in running(session))


def running(session: Session) -> list[Broadcast]:
    return list(session.execute(select(Broadcast).where(Broadcast.status == "sending").order_by(Broadcast.id)).scalars())
