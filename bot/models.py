"""SQLAlchemy models. Constraints live in the database so every process agrees."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    JSON,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

CATEGORIES = ("waste", "safety", "lighting", "roads", "green_spaces", "water")
TASK_KINDS = ("group", "collective")
TASK_STATUSES = ("open", "closed")
SIGNUP_STATUSES = ("active", "cancelled")
ATTENDANCE = ("confirmed", "attended", "absent")
OCCURRENCE_STATUSES = ("scheduled", "cancelled")
NOTIFICATION_KINDS = (
    "reminder", "feedback_prompt", "report_resolved", "report_followup", "group_progress", "status_update",
)
STAFF_ROLES = ("staff", "coordinator", "admin")
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "skipped", "expired", "unknown", "failed", "unreachable")
ROLES = ("coordinator",)
AUDIENCES = ("all", "neighbourhood", "category", "task", "group")
BROADCAST_STATUSES = ("sending", "done", "cancelled")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "blocked", "skipped", "unknown", "unreachable")
INBOX_STATUSES = ("held", "pending", "handling", "done", "merged", "failed", "skipped")
CONTRIBUTION_STATUSES = ("new", "verified", "in_progress", "resolved", "rejected", "duplicate")
LANGUAGES = ("en", "fr", "ar")
# How a citizen reaches Coprod. `terminal` (make chat, REST tests) cannot be written to later.
CHANNELS = ("telegram", "web", "terminal")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Neighbourhood(Base):
    __tablename__ = "neighbourhoods"

    id = Column(Integer, primary_key=True)
    name = Column(String(80), nullable=False, unique=True)
    population = Column(Integer, nullable=True)


class Citizen(Base):
    """A person chatting with the assistant. Keyed by Rasa's sender id; reached at
    `address` on `channel` (a Telegram chat id, a web chat visitor's sender id)."""

    __tablename__ = "citizens"
    __table_args__ = (
        CheckConstraint(_in("language", LANGUAGES), name="ck_citizen_language"),
        CheckConstraint(_in("channel", CHANNELS), name="ck_citizen_channel"),
    )

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(64), nullable=False, unique=True)
    channel = Column(String(16), nullable=False, default="telegram", server_default="telegram")
    address = Column(String(64), nullable=True)
    language = Column(String(5), nullable=False, default="en", server_default="en")
    neighbourhood_id = Column(Integer, ForeignKey("neighbourhoods.id", ondelete="SET NULL"))
    consented_at = Column(DateTime, nullable=True)
    notifications = Column(Boolean, nullable=False, default=True, server_default=true())
    progress_notes = Column(Boolean, nullable=False, default=True, server_default=true())
    blocked_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    neighbourhood = relationship(Neighbourhood)


class Task(Base):
    """A co-production task. Group tasks have a schedule and a capacity per occurrence.

    `starts_at`/`ends_at` are the first occurrence (UTC); `recurrence` is an
    RFC 5545 RRULE read in the municipality's time zone, so "every Friday 20:00"
    stays 20:00 across daylight-saving changes.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(_in("kind", TASK_KINDS), name="ck_task_kind"),
        CheckConstraint(_in("category", CATEGORIES), name="ck_task_category"),
        CheckConstraint(_in("status", TASK_STATUSES), name="ck_task_status"),
        CheckConstraint(
            "(kind = 'group' AND capacity IS NOT NULL AND capacity > 0) "
            "OR (kind = 'collective' AND capacity IS NULL)",
            name="ck_task_capacity_kind",
        ),
        CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="ck_task_times"),
        CheckConstraint("feedback_delay_minutes >= 0", name="ck_task_feedback_delay"),
    )

    id = Column(Integer, primary_key=True)
    title = Column(String(120), nullable=False)
    description = Column(Text, nullable=False, default="")
    kind = Column(String(12), nullable=False)
    category = Column(String(20), nullable=False)
    neighbourhood_id = Column(Integer, ForeignKey("neighbourhoods.id", ondelete="SET NULL"))
    place = Column(String(200), nullable=False, default="")
    # {"fr": {"title": ..., "place": ...}, "ar": {...}}: what citizens of that language see.
    translations = Column(JSON, nullable=False, default=dict, server_default="{}")
    starts_at = Column(DateTime, nullable=True)
    ends_at = Column(DateTime, nullable=True)
    capacity = Column(Integer, nullable=True)
    recurrence = Column(String(200), nullable=True)
    created_by = Column(String(64), nullable=True, index=True)
    group_chat_id = Column(String(64), nullable=True, index=True)
    reminder_offsets = Column(String(60), nullable=False, default="1440,60", server_default="1440,60")
    feedback_delay_minutes = Column(Integer, nullable=False, default=60, server_default="60")
    status = Column(String(10), nullable=False, default="open", server_default="open")
    created_at = Column(DateTime, nullable=False, default=utcnow)

    neighbourhood = relationship(Neighbourhood)

    @property
    def reminder_minutes(self) -> list[int]:
        """Minutes before each occurrence a reminder goes out ("1440,60" → [1440, 60])."""
        return [int(part) for part in self.reminder_offsets.split(",") if part.strip().isdigit()]


class Occurrence(Base):
    """One concrete session of a task; sign-ups, attendance and feedback refer to it.

    Capacity is copied from the task so the database can check `taken` itself.
    """

    __tablename__ = "occurrences"
    __table_args__ = (
        CheckConstraint(_in("status", OCCURRENCE_STATUSES), name="ck_occurrence_status"),
        CheckConstraint("ends_at > starts_at", name="ck_occurrence_times"),
        CheckConstraint(
            "taken >= 0 AND (capacity IS NULL OR taken <= capacity)", name="ck_occurrence_taken"
        ),
        UniqueConstraint("task_id", "starts_at", name="uq_occurrence_task_start"),
    )

    id = Column(Integer, primary_key=True)
    task_id = Column(Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    starts_at = Column(DateTime, nullable=False, index=True)
    ends_at = Column(DateTime, nullable=False)
    capacity = Column(Integer, nullable=True)
    taken = Column(Integer, nullable=False, default=0, server_default="0")
    status = Column(String(10), nullable=False, default="scheduled", server_default="scheduled")

    task = relationship(Task)

    @property
    def spots_left(self) -> int | None:
        return None if self.capacity is None else self.capacity - self.taken


class SeriesSignup(Base):
    """A citizen who joined every occurrence of a recurring task, future ones included."""

    __tablename__ = "series_signups"
    __table_args__ = (
        CheckConstraint(_in("status", SIGNUP_STATUSES), name="ck_series_signup_status"),
        Index(
            "uq_series_signup_active",
            "task_id",
            "citizen_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id = Column(Integer, primary_key=True)
    task_id = Column(Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False)
    status = Column(String(10), nullable=False, default="active", server_default="active")
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Signup(Base):
    """A citizen's place in one occurrence (or in an unscheduled collective task).

    At most one active sign-up per citizen and occurrence; `attendance` is what
    the citizen told us (confirmed before, attended or absent after).
    """

    __tablename__ = "signups"
    __table_args__ = (
        CheckConstraint(_in("status", SIGNUP_STATUSES), name="ck_signup_status"),
        CheckConstraint(
            "attendance IS NULL OR " + _in("attendance", ATTENDANCE), name="ck_signup_attendance"
        ),
        Index("ix_signup_occurrence_citizen", "occurrence_id", "citizen_id"),
        Index(
            "uq_signup_active",
            "task_id",
            "citizen_id",
            "occurrence_key",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id = Column(Integer, primary_key=True)
    task_id = Column(Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    occurrence_id = Column(Integer, ForeignKey("occurrences.id", ondelete="CASCADE"), nullable=True)
    # occurrence_id or 0: unique indexes treat NULLs as distinct, so the "one active sign-up"
    # index needs a non-null stand-in for sign-ups to tasks without sessions.
    occurrence_key = Column(Integer, nullable=False, default=0, server_default="0")
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    status = Column(String(10), nullable=False, default="active", server_default="active")
    attendance = Column(String(10), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    cancelled_at = Column(DateTime, nullable=True)

    task = relationship(Task)
    occurrence = relationship(Occurrence)


class Contribution(Base):
    """Something a citizen logged or reported. `reference` is what the citizen sees."""

    __tablename__ = "contributions"
    __table_args__ = (
        CheckConstraint(_in("category", CATEGORIES), name="ck_contribution_category"),
        CheckConstraint(_in("status", CONTRIBUTION_STATUSES), name="ck_contribution_status"),
        CheckConstraint(
            "(latitude IS NULL AND longitude IS NULL) OR "
            "(latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180)",
            name="ck_contribution_coordinates",
        ),
    )

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    task_id = Column(Integer, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    neighbourhood_id = Column(Integer, ForeignKey("neighbourhoods.id", ondelete="SET NULL"))
    category = Column(String(20), nullable=False)
    description = Column(Text, nullable=True)
    location_text = Column(String(300), nullable=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    status = Column(String(12), nullable=False, default="new", server_default="new")
    idempotency_key = Column(String(128), nullable=True, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    resolved_at = Column(DateTime, nullable=True)
    reopened_at = Column(DateTime, nullable=True)
    public_note = Column(Text, nullable=True)
    duplicate_of = Column(Integer, ForeignKey("contributions.id", ondelete="SET NULL"), nullable=True)
    original_description = Column(Text, nullable=True)

    photos = relationship("Photo", cascade="all, delete-orphan", order_by="Photo.id")
    task = relationship(Task)

    @property
    def reference(self) -> str:
        return f"R-{1000 + self.id}"


class Photo(Base):
    """A stored image file belonging to a contribution."""

    __tablename__ = "photos"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="ck_photo_size"),)

    id = Column(Integer, primary_key=True)
    contribution_id = Column(
        Integer, ForeignKey("contributions.id", ondelete="CASCADE"), nullable=False
    )
    path = Column(String(300), nullable=False)
    mime_type = Column(String(60), nullable=False, default="image/jpeg")
    size_bytes = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Feedback(Base):
    """A rating of a task (1-5) or free feedback on the service."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ck_feedback_rating"),
        UniqueConstraint("idempotency_key", name="uq_feedback_idempotency_key"),
        Index(  # a citizen rates a session once (a second rating replaces the first)
            "uq_feedback_citizen_occurrence", "citizen_id", "occurrence_id", unique=True,
            sqlite_where=text("citizen_id IS NOT NULL AND occurrence_id IS NOT NULL"),
            postgresql_where=text("citizen_id IS NOT NULL AND occurrence_id IS NOT NULL"),
        ),
    )

    id = Column(Integer, primary_key=True)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    task_id = Column(Integer, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    occurrence_id = Column(Integer, ForeignKey("occurrences.id", ondelete="SET NULL"), nullable=True)
    rating = Column(Integer, nullable=True)
    comment = Column(Text, nullable=True)
    idempotency_key = Column(String(128), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class InboxMessage(Base):
    """A message a citizen sent, kept until the assistant has answered it.

    `update_key` is the channel's id for the update, so a repeated delivery is
    stored once. Album parts are `held` under one `group_key` until merged. A
    message being answered is `handling`, claimed by one process.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        CheckConstraint(_in("status", INBOX_STATUSES), name="ck_inbox_status"),
        Index("ix_inbox_chat_status", "chat_id", "status", "id"),
    )

    id = Column(Integer, primary_key=True)
    update_key = Column(String(80), nullable=False, unique=True)
    channel = Column(String(16), nullable=False, default="telegram", server_default="telegram")
    sender_id = Column(String(64), nullable=False)
    chat_id = Column(String(64), nullable=False)
    text = Column(Text, nullable=False, default="")
    meta = Column(Text, nullable=False, default="{}")
    status = Column(String(10), nullable=False, default="pending", server_default="pending")
    group_key = Column(String(80), nullable=True, index=True)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    not_before = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    handled_at = Column(DateTime, nullable=True)
    claimed_by = Column(String(64), nullable=True)  # the process handling it (status `handling`)
    claimed_at = Column(DateTime, nullable=True)  # renewed at each stage; a stale claim is released


class Lease(Base):
    """Work one process at a time does (sending reminders and broadcasts): who holds it,
    until when. The holder renews it; another process takes over once it lapses."""

    __tablename__ = "leases"

    name = Column(String(40), primary_key=True)
    holder = Column(String(120), nullable=False)
    expires_at = Column(DateTime, nullable=False)


class CallbackToken(Base):
    """A button's payload kept server-side; Telegram only carries the short token."""

    __tablename__ = "callback_tokens"

    token = Column(String(24), primary_key=True)
    keyboard = Column(String(24), nullable=False, index=True)
    chat_id = Column(String(64), nullable=False)
    payload = Column(Text, nullable=False)
    title = Column(String(200), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    used_at = Column(DateTime, nullable=True)


class StaffAccount(Base):
    """A municipal staff member who uses the dashboard. Passwords are argon2 hashes."""

    __tablename__ = "staff_accounts"
    __table_args__ = (
        CheckConstraint(_in("role", STAFF_ROLES), name="ck_staff_role"),
        CheckConstraint(_in("language", LANGUAGES), name="ck_staff_language"),
    )

    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    password_hash = Column(String(200), nullable=False)
    role = Column(String(20), nullable=False)
    active = Column(Boolean, nullable=False, default=True, server_default=true())
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_login_at = Column(DateTime, nullable=True)
    language = Column(String(5), nullable=False, default="en", server_default="en")


class AuditEntry(Base):
    """Who changed what, when, from what to what. Written in the same transaction as the change."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id", "id"),)

    id = Column(Integer, primary_key=True)
    actor = Column(String(254), nullable=False)
    action = Column(String(40), nullable=False)
    subject_type = Column(String(30), nullable=False)
    subject_id = Column(Integer, nullable=True)
    before = Column(Text, nullable=True)
    after = Column(Text, nullable=True)
    at = Column(DateTime, nullable=False, default=utcnow)


class ContributionNote(Base):
    """A staff note on a contribution: internal, or public (sent to the reporter)."""

    __tablename__ = "contribution_notes"

    id = Column(Integer, primary_key=True)
    contribution_id = Column(Integer, ForeignKey("contributions.id", ondelete="CASCADE"), nullable=False, index=True)
    author = Column(String(254), nullable=False)
    body = Column(Text, nullable=False)
    public = Column(Boolean, nullable=False, default=False, server_default=false())
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Role(Base):
    """A Telegram user's role; checked on the server for every coordinator command.

    A revoked role keeps its row with `revoked_at`, so COORDINATOR_IDS at the next
    start-up does not give back what an admin took away."""

    __tablename__ = "roles"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="ck_role_role"),
        UniqueConstraint("telegram_id", "role", name="uq_role_telegram_id_role"),
    )

    id = Column(Integer, primary_key=True)
    telegram_id = Column(String(64), nullable=False)
    role = Column(String(20), nullable=False)
    granted_by = Column(String(64), nullable=True)
    granted_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime, nullable=True)


class Broadcast(Base):
    """A coordinator's message to an audience; its deliveries are the outbox."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(_in("audience", AUDIENCES), name="ck_broadcast_audience"),
        CheckConstraint(_in("status", BROADCAST_STATUSES), name="ck_broadcast_status"),
    )

    id = Column(Integer, primary_key=True)
    created_by = Column(String(64), nullable=False)
    audience = Column(String(20), nullable=False)
    audience_value = Column(String(80), nullable=True)
    text = Column(Text, nullable=False)
    # {"fr": "...", "ar": "..."}: each citizen gets theirs, the others get `text`.
    texts = Column(JSON, nullable=False, default=dict, server_default="{}")
    photo = Column(String(200), nullable=True)
    signup_task_id = Column(Integer, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    hold_quiet_hours = Column(Boolean, nullable=False, default=True, server_default=true())
    status = Column(String(10), nullable=False, default="sending", server_default="sending")
    total = Column(Integer, nullable=False, default=0, server_default="0")
    progress_chat_id = Column(String(64), nullable=True)
    progress_message_id = Column(String(32), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    finished_at = Column(DateTime, nullable=True)


class Delivery(Base):
    """One recipient of a broadcast, on their channel. Marked sent only with the channel's message id."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="ck_delivery_status"),
        UniqueConstraint("broadcast_id", "chat_id", name="uq_delivery_broadcast_chat"),
        Index("ix_delivery_status_due", "status", "not_before"),
    )

    id = Column(Integer, primary_key=True)
    broadcast_id = Column(Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True)
    channel = Column(String(16), nullable=False, default="telegram", server_default="telegram")
    chat_id = Column(String(64), nullable=False)
    status = Column(String(12), nullable=False, default="pending", server_default="pending")
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    not_before = Column(DateTime, nullable=True)
    message_id = Column(String(32), nullable=True)
    error = Column(String(200), nullable=True)
    sent_at = Column(DateTime, nullable=True)


class CoordinatorDraft(Base):
    """Where a coordinator is in a guided conversation (/newtask, /broadcast); survives restarts."""

    __tablename__ = "coordinator_drafts"

    telegram_id = Column(String(64), primary_key=True)
    kind = Column(String(20), nullable=False)
    step = Column(String(30), nullable=False)
    data = Column(Text, nullable=False, default="{}")
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Notification(Base):
    """A message the assistant sends on its own: a reminder, a prompt, a follow-up.

    `key` is (kind, citizen, subject), so planning twice stores it once. A row
    goes pending → sending (committed before the channel's call) → sent with
    the channel's message id (or unreachable); a row found `sending` after a
    crash becomes `unknown` and is never sent again, so nobody gets the same
    thing twice.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="ck_notification_kind"),
        CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="ck_notification_status"),
        CheckConstraint("(citizen_id IS NULL) <> (group_chat_id IS NULL)", name="ck_notification_target"),
        Index("ix_notification_due", "status", "due_at"),
    )

    id = Column(Integer, primary_key=True)
    key = Column(String(160), nullable=False, unique=True)
    kind = Column(String(20), nullable=False)
    citizen_id = Column(Integer, ForeignKey("citizens.id", ondelete="CASCADE"), nullable=True, index=True)
    group_chat_id = Column(String(64), nullable=True)
    task_id = Column(Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True)
    occurrence_id = Column(Integer, ForeignKey("occurrences.id", ondelete="CASCADE"), nullable=True)
    contribution_id = Column(Integer, ForeignKey("contributions.id", ondelete="CASCADE"), nullable=True)
    due_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=True)
    status = Column(String(12), nullable=False, default="pending", server_default="pending")
    detail = Column(Text, nullable=False, default="{}")
    sent_at = Column(DateTime, nullable=True)
    message_id = Column(String(32), nullable=True)
    answer = Column(String(20), nullable=True)
    answered_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    citizen = relationship(Citizen)
    task = relationship(Task)
    occurrence = relationship(Occurrence)
    contribution = relationship(Contribution)


class WebVisitor(Base):
    """Someone using the web chat. The browser holds a random secret in an HttpOnly
    cookie; only its SHA-256 is stored, so a copy of the database cannot impersonate
    anyone. `seen_at` is refreshed while a page is open (reachable now)."""

    __tablename__ = "web_visitors"

    id = Column(Integer, primary_key=True)
    secret_hash = Column(String(64), nullable=False, unique=True)
    sender_id = Column(String(64), nullable=False, unique=True)
    language = Column(String(5), nullable=True)
    push_subscription = Column(JSON(none_as_null=True), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    seen_at = Column(DateTime, nullable=True)


class WebMessage(Base):
    """One line of a web chat conversation, kept so a reload, a dropped connection or a
    later visit shows everything (replies, reminders, broadcasts) exactly once."""

    __tablename__ = "web_messages"
    __table_args__ = (
        CheckConstraint(_in("role", ("bot", "citizen")), name="ck_web_message_role"),
        Index("ix_web_message_visitor", "visitor_id", "id"),
        {"sqlite_autoincrement": True},  # ids never reused after an erasure: open pages follow them
    )

    id = Column(Integer, primary_key=True)
    visitor_id = Column(Integer, ForeignKey("web_visitors.id", ondelete="CASCADE"), nullable=False)
    role = Column(String(8), nullable=False)
    body = Column(JSON, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
