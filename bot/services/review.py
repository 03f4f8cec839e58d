"""Staff review of contributions: the queue, one contribution, and the workflow
(new → verified → in progress → resolved, or rejected / duplicate), FixMyStreet-style."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.models import CATEGORIES, CONTRIBUTION_STATUSES, Contribution, ContributionNote, Photo, utcnow
from bot.services import audit, notifications, workflow
from bot.services.errors import InvalidInput
from bot.services.notifications import Rules
from bot.services.text import clean_text

PAGE_SIZE = 25
NEXT_STATUSES = {
    "new": ("verified", "in_progress", "resolved", "rejected", "duplicate"),
    "verified": ("in_progress", "resolved", "rejected", "duplicate"),
    "in_progress": ("verified", "resolved", "rejected", "duplicate"),
    "resolved": ("in_progress",),
    "rejected": ("new",),
    "duplicate": ("new",),
}
SORTS = {
    "newest": (Contribution.created_at.desc(), Contribution.id.desc()),
    "oldest": (Contribution.created_at, Contribution.id),
    "status": (Contribution.status, Contribution.created_at.desc()),
    "category": (Contribution.category, Contribution.created_at.desc()),
}


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None
    category: str | None = None
    neighbourhood_id: int | None = None
    task_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    has_photos: bool | None = None
    text: str | None = None
    sort: str = "newest"
    page: int = 1

    @classmethod
    def parse(cls, params: dict[str, str]) -> "QueueFilter":
        """From query parameters; anything malformed is simply not applied."""
        def pick(name: str, allowed: tuple[str, ...]) -> str | None:
            value = params.get(name) or None
            return value if value in allowed else None

        def number(name: str) -> int | None:
            value = params.get(name, "")
            return int(value) if value.isdecimal() and len(value) < 10 else None  # "²".isdigit(), but int("²") fails

        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(params.get(name, ""))
            except ValueError:
                return None

        photos = {"yes": True, "no": False}.get(params.get("photos", ""))
        return cls(
            status=pick("status", CONTRIBUTION_STATUSES), category=pick("category", CATEGORIES),
            neighbourhood_id=number("neighbourhood"), task_id=number("task"), date_from=day("from"),
            date_to=day("to"), has_photos=photos, text=(params.get("q") or "").strip()[:100] or None,
            sort=params.get("sort") if params.get("sort") in SORTS else "newest", page=max(1, number("page") or 1),
        )


def _filtered(wanted: QueueFilter):  # type: ignore[no-untyped-def]
    query = select(Contribution)
    if wanted.status:
        query = query.where(Contribution.status == wanted.status)
    if wanted.category:
        query = query.where(Contribution.category == wanted.category)
    if wanted.neighbourhood_id:
        query = query.where(Contribution.neighbourhood_id == wanted.neighbourhood_id)
    if wanted.task_id:
        query = query.where(Contribution.task_id == wanted.task_id)
    if wanted.date_from:
        query = query.where(Contribution.created_at >= datetime.combine(wanted.date_from, datetime.min.time()))
    if wanted.date_to:
        query = query.where(Contribution.created_at < datetime.combine(wanted.date_to + timedelta(days=1), datetime.min.time()))
    if wanted.has_photos is not None:
        with_photos = select(Photo.contribution_id)
        query = query.where(Contribution.id.in_(with_photos) if wanted.has_photos else Contribution.id.not_in(with_photos))
    if wanted.text:
        pattern = "%" + wanted.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Contribution.description.ilike(pattern, escape="\\"), Contribution.location_text.ilike(pattern, escape="\\"))
        )
    return query


@dataclass(frozen=True)
class Page:
    items: list[Contribution]
    total: int
    page: int
    pages: int


def queue(session: Session, wanted: QueueFilter) -> Page:
    query = _filtered(wanted)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(wanted.page, pages)
    items = session.execute(
        query.options(selectinload(Contribution.photos))
        .order_by(*SORTS[wanted.sort])
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).scalars().all()
    return Page(list(items), total, page, pages)


def awaiting_review(session: Session) -> int:
    return session.execute(select(func.count(Contribution.id)).where(Contribution.status == "new")).scalar_one()


def pseudonym(citizen_id: int | None, secret: bytes) -> str:
    """A stable name for a citizen that reveals nothing ("Citizen 4F2A9C0D1E2B3A4C"): 64 bits,
    so two citizens of a city do not share one (collisions start near 4 billion people)."""
    if citizen_id is None:
        return "—"
    digest = hmac.new(secret, str(citizen_id).encode(), hashlib.sha256).hexdigest()[:16].upper()
    return f"Citizen {digest}"


def notes(session: Session, contribution_id: int) -> list[ContributionNote]:
    query = select(ContributionNote).where(ContributionNote.contribution_id == contribution_id).order_by(ContributionNote.id)
    return list(session.execute(query).scalars())


def _snapshot(contribution: Contribution) -> dict[str, Any]:
    return {"status": contribution.status, "public_note": contribution.public_note, "duplicate_of": contribution.duplicate_of}


def change(
    session: Session,
    actor: str,
    contribution_id: int,
    rules: Rules,
    status: str,
    public_note: str | None = None,
    internal_note: str | None = None,
    duplicate_of: int | None = None,
    now: datetime | None = None,
) -> Contribution:
    """Move a contribution on, with notes; the reporter hears of it when there is a public note
    (and always when it is resolved). Every change goes to the audit log."""
    now = now or utcnow()
    contribution = session.get(Contribution, contribution_id)
    if contribution is None:
        raise InvalidInput(contribution_id)
    public = clean_text(public_note or "") or None
    internal = clean_text(internal_note or "") or None
    if status != contribution.status and status not in NEXT_STATUSES[contribution.status]:
        raise InvalidInput(status)
    if status == "duplicate":
        original = session.get(Contribution, duplicate_of) if duplicate_of else None
        if original is None or original.id == contribution.id:
            raise InvalidInput(duplicate_of)
        contribution.duplicate_of = original.id
    before = _snapshot(contribution)
    if public:
        contribution.public_note = public
    workflow.set_status(session, contribution.id, status, rules, now=now)
    if public and status != "resolved" and contribution.citizen_id is not None:
        notifications.plan_status_update(session, contribution, rules, now)
    for body, is_public in ((internal, False), (public, True)):
        if body:
            session.add(ContributionNote(contribution_id=contribution.id, author=actor, body=body, public=is_public))
    audit.record(session, actor, "contribution.change", "contribution", contribution.id, before, _snapshot(contribution))
    return contribution


def moderate(session: Session, actor: str, contribution_id: int, text: str) -> Contribution:
    """Edit what a citizen wrote (a phone number, an insult); the original is kept once, for the record."""
    contribution = session.get(Contribution, contribution_id)
    if contribution is None:
        raise InvalidInput(contribution_id)
    cleaned = clean_text(text)
    if not cleaned:
        raise InvalidInput("text")
    if contribution.original_description is None:
        contribution.original_description = contribution.description or ""
    before = {"description": contribution.description}
    contribution.description = cleaned
    audit.record(session, actor, "contribution.moderate", "contribution", contribution.id, before, {"description": cleaned})
    return contribution
