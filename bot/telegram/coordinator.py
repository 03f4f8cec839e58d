"""Coordinators in Telegram: /newtask, /mytasks, /task N, /close N, /linkgroup N, /broadcast.

These conversations are guided by buttons and need no language understanding,
so they are handled here instead of in Rasa. Every entry point checks the
coordinator role in the database; drafts are stored, so a restart mid-way
loses nothing. Button payloads start with `coord:` and stay on the server.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from babel.lists import format_list

from bot.config import Settings
from bot.db import Database
from bot.i18n import LANGUAGE_NAMES, babel_locale, category_label, coordinator_text, format_number, format_when, plural_text
from bot.models import CATEGORIES, Broadcast, Neighbourhood, Task, utcnow
from bot.services import audit, broadcasts, citizens, coordination, notifications, occurrences, roles
from bot.services.broadcasts import Audience
from bot.services.coordination import Draft
from bot.services.errors import InvalidInput, TaskNotFound
from bot.services.notifications import Rules
from bot.services.schedules import DAYS
from bot.telegram.progress import cancel_button, progress_text

if TYPE_CHECKING:
    from bot.telegram.bridge import Bridge

logger = logging.getLogger(__name__)

COMMANDS = ("newtask", "task", "close", "broadcast", "linkgroup")
PREFIX = "coord:"
CAPACITIES = ("4", "6", "8", "10", "15", "20")
HINTS = {"title": "hint.title", "place": "hint.place", "schedule": "hint.schedule", "capacity": "hint.capacity", "text": "hint.text"}
Button = tuple[str, str]


# The language of the coordinator being answered, set at each entry point (one update at a
# time per asyncio task), so every step's words and dates follow it without threading it through.
_speaking: ContextVar[str] = ContextVar("coordinator_language", default="en")


def t(key: str, **values: object) -> str:
    return coordinator_text(key, _speaking.get(), **values)


def pt(key: str, count: int, **values: object) -> str:
    return plural_text(key, count, _speaking.get(), **values)


class CoordinatorFlow:
    def __init__(self, db: Database, bridge: "Bridge", settings: Settings, rules: Rules,
                 poke: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.bridge = bridge
        self.settings = settings
        self.rules = rules
        self.tz = ZoneInfo(settings.timezone)
        self.poke = poke
        # Who has a draft, so a citizen's message costs no database visit here. Only this
        # flow writes drafts, and it runs in the one bridge process.
        self._drafting: set[str] | None = None

    # entry points -----------------------------------------------------------

    def is_coordinator(self, sender: str) -> bool:
        with self.db.session() as session:
            return roles.is_coordinator(session, sender)

    def speak_to(self, sender: str, app_language: str | None = None) -> None:
        """Answer this coordinator in their language (stored, else their Telegram app's)."""
        with self.db.session() as session:
            _speaking.set(citizens.language_for(session, sender, app_language))

    def _load(self, sender: str) -> Draft | None:
        if self._drafting is None:
            with self.db.session() as session:
                self._drafting = coordination.drafters(session)
        if sender not in self._drafting:
            return None
        with self.db.session() as session:
            return coordination.load(session, sender)

    def _save(self, sender: str, draft: Draft) -> None:
        with self.db.session() as session:
            coordination.save(session, sender, draft)
        if self._drafting is not None:
            self._drafting.add(sender)

    def _forget(self, sender: str) -> None:
        """After the draft's row is gone (committed)."""
        if self._drafting is not None:
            self._drafting.discard(sender)

    async def command(self, sender: str, chat: str, name: str, args: list[str]) -> None:
        if not self.is_coordinator(sender):
            await self.say(chat, t("not_coordinator"))
            return
        handler: dict[str, Callable[[str, str, list[str]], Awaitable[None]]] = {
            "newtask": self._newtask, "task": self._task, "close": self._close,
            "broadcast": self._broadcast, "linkgroup": self._linkgroup, "mytasks": self._mytasks,
        }
        await handler[name](sender, chat, args)

    async def text(self, sender: str, chat: str, text: str) -> bool:
        """A typed answer to the current step; False when the coordinator has no draft."""
        draft = self._load(sender)
        if draft is None:
            return False
        if not self.is_coordinator(sender):
            await self._drop(sender, chat, t("not_coordinator"))
            return True
        if text.strip().lower() in ("cancel", "/cancel", "stop"):
            await self._drop(sender, chat, t("cancelled"))
            return True
        await self._answer(sender, chat, draft, text)
        return True

    async def photo(self, sender: str, chat: str, file_id: str, caption: str) -> bool:
        """A photo while a broadcast's message is asked: photo and caption become the message."""
        draft = self._load(sender)
        if draft is None or draft.kind != "broadcast" or coordination.next_field(draft) != "text":
            return False
        if not self.is_coordinator(sender):
            await self._drop(sender, chat, t("not_coordinator"))
            return True
        draft.data["photo"] = file_id
        await self._answer(sender, chat, draft, caption or "")
        return True

    async def press(self, sender: str, chat: str, payload: str) -> None:
        if not self.is_coordinator(sender):
            await self.say(chat, t("not_coordinator"))
            return
        action, _, value = payload[len(PREFIX):].partition(":")
        if action == "cancel_broadcast":
            await self._cancel_broadcast(chat, value, sender)
            return
        if action == "broadcast_task":
            await self._start(sender, chat, Draft("broadcast", "audience", {"signup_task": int(value)}))
            return
        if action == "show":
            await self._task(sender, chat, [value])
            return
        if action == "noop":
            return
        draft = self._load(sender)
        if draft is None:
            await self.say(chat, t("cancelled"))
        elif action == "cancel":
            await self._drop(sender, chat, t("cancelled"))
        elif action == "edit":
            await self._edit(sender, chat, draft, value)
        elif action == "confirm":
            await self._confirm(sender, chat, draft)
        elif action == "set":
            name, _, chosen = value.partition("=")
            if name == coordination.next_field(draft):
                await self._answer(sender, chat, draft, chosen, pressed=True)

    # sending ----------------------------------------------------------------

    async def say(self, chat: str, text: str, choices: list[Button] | None = None) -> str | None:
        """Send one message (buttons stay on the server); returns its message id."""
        delivery = await self.bridge.send_notice(chat, text, choices or [])
        return str(delivery.message_id) if delivery.message_id is not None else None

    # drafts -----------------------------------------------------------------

    async def _start(self, sender: str, chat: str, draft: Draft) -> None:
        draft.step = coordination.next_field(draft)
        self._save(sender, draft)
        await self._ask(sender, chat, draft)

    async def _drop(self, sender: str, chat: str, text: str) -> None:
        with self.db.session() as session:
            coordination.clear(session, sender)
        self._forget(sender)
        await self.say(chat, text)

    async def _answer(self, sender: str, chat: str, draft: Draft, raw: str, pressed: bool = False) -> None:
        step = coordination.next_field(draft)
        if step == "summary" or step == "confirm":
            await self.say(chat, t("tap_a_button"))
            return
        try:
            with self.db.session() as session:
                if draft.kind == "newtask":
                    if step in ("kind", "category", "neighbourhood", "reminders") and not pressed:
                        raise InvalidInput(step)
                    coordination.set_task_field(session, draft, step, raw, self.tz, utcnow())
                else:
                    self._set_broadcast_field(session, sender, draft, step, raw, pressed)
                draft.step = coordination.next_field(draft)
                coordination.save(session, sender, draft)
        except (InvalidInput, TaskNotFound):
            hint = t(HINTS[step]) if step in HINTS else t("tap_a_button")
            await self.say(chat, t("invalid", hint=hint) if step in HINTS else hint)
            await self._ask(sender, chat, draft)
            return
        await self._ask(sender, chat, draft)

    def _set_broadcast_field(self, session: object, sender: str, draft: Draft, step: str, raw: str, pressed: bool) -> None:
        if step in ("audience", "audience_value", "signup_task", "translations") and not pressed:
            raise InvalidInput(step)
        if step == "audience":
            if raw not in ("all", "neighbourhood", "category", "task", "group"):
                raise InvalidInput(raw)
            draft.data["audience"] = raw
        elif step == "audience_value":
            Audience(draft.data["audience"], raw).check(session)  # type: ignore[arg-type]
            draft.data["audience_value"] = raw
        elif step in ("text", "translation_text"):
            text = raw.strip()
            limit = broadcasts.MAX_CAPTION if draft.data.get("photo") else broadcasts.MAX_TEXT
            if not text or len(text) > limit:
                raise InvalidInput("text")
            if step == "text":
                draft.data["text"] = text
            else:
                draft.data.setdefault("texts", {})[draft.data.pop("translating")] = text
        elif step == "translations":
            if raw == "none":
                draft.data["translations"] = "done"
            elif raw in LANGUAGE_NAMES and raw not in draft.data.get("texts", {}):
                draft.data["translating"] = raw
            else:
                raise InvalidInput(raw)
        elif step == "signup_task":
            draft.data["signup_task"] = None if raw == "none" else int(raw)

    async def _edit(self, sender: str, chat: str, draft: Draft, field: str) -> None:
        if not field:
            fields = [f for f in coordination.NEWTASK_FIELDS if f in draft.data]
            await self.say(chat, t("edit.which"), [(t(f"field.{f}"), f"{PREFIX}edit:{f}") for f in fields] + [self._cancel()])
            return
        if field in coordination.NEWTASK_FIELDS:
            draft.data.pop(field, None)
            if field == "kind":
                draft.data.pop("capacity", None)
                draft.data.pop("schedule", None)
        await self._start(sender, chat, draft)

    # asking -----------------------------------------------------------------

    def _cancel(self) -> Button:
        return (t("button.cancel"), f"{PREFIX}cancel")

    def _choices(self, name: str, options: list[tuple[str, str]]) -> list[Button]:
        return [(title, f"{PREFIX}set:{name}={value}") for title, value in options] + [self._cancel()]

    async def _ask(self, sender: str, chat: str, draft: Draft) -> None:
        step = coordination.next_field(draft)
        if draft.kind == "newtask":
            await self._ask_task(chat, draft, step)
        else:
            await self._ask_broadcast(sender, chat, draft, step)

    async def _ask_task(self, chat: str, draft: Draft, step: str) -> None:
        if step == "kind":
            options = [(t("kind.group"), "group"), (t("kind.collective"), "collective")]
        elif step == "category":
            options = [(category_label(c, _speaking.get()), c) for c in CATEGORIES]
        elif step == "neighbourhood":
            options = [(name, str(key)) for key, name in self._neighbourhoods()] + [(t("whole_town"), "all")]
        elif step == "schedule" and draft.data.get("kind") == "collective":
            options = [(t("no_schedule"), "none")]
        elif step == "capacity":
            options = [(n, n) for n in CAPACITIES]
        elif step == "reminders":
            options = [(t(f"reminders.{key}"), key) for key in coordination.REMINDER_CHOICES]
        elif step == "summary":
            await self.say(chat, self._summary(draft), [
                (t("button.confirm"), f"{PREFIX}confirm"), (t("button.edit"), f"{PREFIX}edit"), self._cancel(),
            ])
            return
        else:
            options = []
        await self.say(chat, t(f"newtask.{step}"), self._choices(step, options))

    async def _ask_broadcast(self, sender: str, chat: str, draft: Draft, step: str) -> None:
        if step == "audience":
            keys = ("all", "neighbourhood", "category", "task", "group")
            await self.say(chat, t("broadcast.audience"), self._choices(step, [(t(f"audience.{k}"), k) for k in keys]))
        elif step == "audience_value":
            options = self._audience_options(sender, draft.data["audience"])
            if not options:
                draft.data.pop("audience", None)
                self._save(sender, draft)
                await self.say(chat, t("broadcast.nothing_to_pick"))
                await self._ask(sender, chat, draft)
                return
            await self.say(chat, t(f"broadcast.which_{draft.data['audience']}"), self._choices(step, options))
        elif step == "text":
            await self.say(chat, t("broadcast.text"), [self._cancel()])
        elif step == "translations":
            given = draft.data.get("texts", {})
            options = [(name, code) for code, name in LANGUAGE_NAMES.items() if code not in given]
            await self.say(chat, t("broadcast.translate"), self._choices(step, options + [(t("broadcast.no_translation"), "none")]))
        elif step == "translation_text":
            await self.say(chat, t("broadcast.translation_text", language_name=LANGUAGE_NAMES[draft.data["translating"]]), [self._cancel()])
        elif step == "signup_task":
            tasks = [(task.title, str(task.id)) for task in self._open_tasks()]
            await self.say(chat, t("broadcast.button"), self._choices(step, [(t("broadcast.no_button"), "none")] + tasks))
        else:
            await self._preview(sender, chat, draft)

    def _neighbourhoods(self) -> list[tuple[int, str]]:
        with self.db.session() as session:
            return [(n.id, n.name) for n in session.query(Neighbourhood).order_by(Neighbourhood.name)]

    def _open_tasks(self, limit: int = 8) -> list[Task]:
        with self.db.session() as session:
            return session.query(Task).filter(Task.status == "open").order_by(Task.id.desc()).limit(limit).all()

    def _audience_options(self, sender: str, kind: str) -> list[tuple[str, str]]:
        if kind == "neighbourhood":
            return [(name, str(key)) for key, name in self._neighbourhoods()]
        if kind == "category":
            return [(category_label(c, _speaking.get()), c) for c in CATEGORIES]
        if kind == "task":
            return [(task.title, str(task.id)) for task in self._open_tasks()]
        with self.db.session() as session:
            linked = session.query(Task).filter(Task.group_chat_id.isnot(None), Task.status == "open").all()
            return [(task.title, task.group_chat_id) for task in linked]

    def _summary(self, draft: Draft) -> str:
        data = draft.data
        schedule = data.get("schedule")
        when = t("summary.no_schedule")
        if schedule:
            when = format_when(datetime.fromisoformat(schedule["starts_at"]), _speaking.get(), self.settings.timezone)
            if schedule.get("recurrence"):
                when = t("summary.every", when=when, rule=describe_rule(schedule["recurrence"], _speaking.get()))
        neighbourhood = t("whole_town")
        if data.get("neighbourhood"):
            neighbourhood = dict(self._neighbourhoods()).get(data["neighbourhood"], neighbourhood)
        capacity = pt("summary.capacity", int(data["capacity"])) if data.get("capacity") else t("summary.open")
        return t(
            "summary.task", title=data["title"], kind=t(f"kind.{data['kind']}"), category=category_label(data["category"], _speaking.get()),
            place=data["place"], neighbourhood=neighbourhood, when=when, capacity=capacity,
            reminders=t(f"reminders.{data['reminders']}"),
        )

    # finishing --------------------------------------------------------------

    async def _confirm(self, sender: str, chat: str, draft: Draft) -> None:
        if coordination.next_field(draft) not in ("summary", "confirm"):
            await self._ask(sender, chat, draft)
            return
        if draft.kind == "broadcast":
            await self._send_broadcast(sender, chat, draft)
            return
        with self.db.session() as session:
            task = coordination.create_task_from(session, draft, sender, self.tz)
            audit.record(session, _actor(sender), "task.create", "task", task.id, None, {"title": task.title, "kind": task.kind})
            coordination.clear(session, sender)
            key, title = task.id, task.title
        self._forget(sender)
        await self.say(
            chat, t("task.created", id=key, title=title, link=self._link(key)),
            [(t("task.broadcast_it"), f"{PREFIX}broadcast_task:{key}")],
        )

    async def _preview(self, sender: str, chat: str, draft: Draft) -> None:
        data = draft.data
        audience = Audience(data["audience"], data.get("audience_value"))
        with self.db.session() as session:
            count = broadcasts.count(session, audience)
            by_language = broadcasts.count_by_language(session, audience)
            by_channel = broadcasts.count_by_channel(session, audience)
            unreachable = broadcasts.count_unreachable(session, audience)
            task = session.get(Task, data["signup_task"]) if data.get("signup_task") else None
            button_title = t("broadcast.signup_button", title=task.title) if task else None
        if count == 0:
            await self._drop(sender, chat, t("broadcast.nobody"))
            return
        await self.say(chat, pt("broadcast.preview", count))
        counts = ", ".join(f"{LANGUAGE_NAMES[code]} {format_number(by_language.get(code, 0), _speaking.get())}" for code in LANGUAGE_NAMES)
        await self.say(chat, t("broadcast.by_language", counts=counts))
        speaking = _speaking.get()
        reach = t("broadcast.by_channel", **{name: format_number(by_channel.get(name, 0), speaking) for name in ("telegram", "web")})
        if unreachable:
            reach += "\n" + t("broadcast.unreachable_now", count=format_number(unreachable, speaking))
        await self.say(chat, reach)
        for code, text in data.get("texts", {}).items():
            await self.say(chat, t("broadcast.preview_text", language_name=LANGUAGE_NAMES[code], text=text))
        sample = [(button_title, f"{PREFIX}noop")] if button_title else []
        if data.get("photo"):
            await self.bridge.send_preview_photo(chat, data["photo"], data["text"])
            if sample:
                await self.say(chat, button_title or "", [])
        else:
            await self.say(chat, data["text"], sample)
        await self.say(chat, "⬆️", [(t("broadcast.send", count=format_number(count, _speaking.get())), f"{PREFIX}confirm"), self._cancel()])

    async def _send_broadcast(self, sender: str, chat: str, draft: Draft) -> None:
        data = draft.data
        with self.db.session() as session:
            broadcast = broadcasts.start(
                session, sender, Audience(data["audience"], data.get("audience_value")), data["text"],
                photo=data.get("photo"), signup_task_id=data.get("signup_task"), progress_chat_id=chat,
                texts=data.get("texts"),
            )
            audit.record(session, _actor(sender), "broadcast.send", "broadcast", broadcast.id, None,
                         {"audience": broadcast.audience, "audience_value": broadcast.audience_value, "total": broadcast.total})
            coordination.clear(session, sender)
            key, total = broadcast.id, broadcast.total
        self._forget(sender)
        with self.db.session() as session:
            text = progress_text(key, broadcasts.progress(session, key), language=_speaking.get())
        markup = cancel_button(self.db, key, chat, _speaking.get())
        message = await self.bridge.send_markup(chat, text, markup)
        with self.db.session() as session:
            session.get(Broadcast, key).progress_message_id = message
        logger.info("coordinator %s started broadcast %s to %s citizens", sender, key, total)
        self.poke()

    async def _cancel_broadcast(self, chat: str, value: str, sender: str) -> None:
        with self.db.session() as session:
            cancelled = broadcasts.cancel(session, int(value)) if value.isdigit() else None
            if cancelled is not None:
                audit.record(session, _actor(sender), "broadcast.cancel", "broadcast", cancelled.id)
        if cancelled is not None:
            self.poke()

    # one-shot commands ------------------------------------------------------

    async def _newtask(self, sender: str, chat: str, args: list[str]) -> None:
        await self._start(sender, chat, Draft("newtask", "title"))

    async def _broadcast(self, sender: str, chat: str, args: list[str]) -> None:
        await self._start(sender, chat, Draft("broadcast", "audience"))

    async def _mytasks(self, sender: str, chat: str, args: list[str]) -> None:
        with self.db.session() as session:
            mine = [(task.id, task.title, task.status) for task in coordination.tasks_of(session, sender)]
        if not mine:
            await self.say(chat, t("mytasks.none"))
            return
        lines = [t("mytasks.item", id=key, title=title, status=status) for key, title, status in mine]
        await self.say(chat, "\n".join(lines), [(f"#{key}", f"{PREFIX}show:{key}") for key, _, _ in mine[:8]])

    async def _task(self, sender: str, chat: str, args: list[str]) -> None:
        if not args:
            await self.say(chat, t("task.usage"))
            return
        try:
            with self.db.session() as session:
                task, lines, unscheduled = coordination.overview(session, args[0], utcnow())
                header = t(
                    "task.header", id=task.id, title=task.title, status=task.status, kind=t(f"kind.{task.kind}"),
                    category=category_label(task.category, _speaking.get()), place=task.place, link=self._link(task.id),
                )
        except TaskNotFound:
            await self.say(chat, t("task.not_found", id=args[0][:12]))
            return
        body = [
            pt("task.session", line.signed_up, when=format_when(line.starts_at, _speaking.get(), self.settings.timezone),
                        spots=pt("task.spots", line.spots_left) if line.spots_left is not None else "")
            for line in lines
        ]
        if unscheduled:
            body.append(pt("task.unscheduled", unscheduled))
        await self.say(chat, "\n".join([header, ""] + (body or [t("task.no_sessions")])))

    async def _close(self, sender: str, chat: str, args: list[str]) -> None:
        if not args:
            await self.say(chat, t("task.usage"))
            return
        try:
            with self.db.session() as session:
                task, was_open, count = coordination.close_and_tell(session, args[0], sender)
                key = task.id
                if was_open:
                    audit.record(session, _actor(sender), "task.close", "task", key, {"status": "open"},
                                 {"status": "closed", "told": count})
        except TaskNotFound:
            await self.say(chat, t("task.not_found", id=args[0][:12]))
            return
        await self.say(chat, pt("close.done", count, id=key) if was_open else t("close.already", id=key))
        self.poke()

    async def _linkgroup(self, sender: str, chat: str, args: list[str]) -> None:
        if not args or not chat.startswith("-"):
            await self.say(chat, t("linkgroup.usage"))
            return
        try:
            with self.db.session() as session:
                task = coordination.link_group(session, args[0], chat)
                audit.record(session, _actor(sender), "task.link_group", "task", task.id, None, {"group_chat_id": chat})
                for occurrence in occurrences.upcoming(session, task.id, utcnow(), limit=60):
                    notifications.plan_group(session, occurrence, self.rules)
                key, title = task.id, task.title
        except (TaskNotFound, InvalidInput):
            await self.say(chat, t("linkgroup.invalid"))
            return
        await self.say(chat, t("linkgroup.done", id=key, title=title))

    def _link(self, task_id: int) -> str:
        return f"https://t.me/{self.bridge.bot.username}?start=task_{task_id}"


def describe_rule(rule: str, language: str = "en") -> str:
    """`FREQ=WEEKLY;BYDAY=TU,TH` → "every Tuesday and Thursday"."""
    if rule == "FREQ=DAILY":
        return coordinator_text("rule.daily", language)
    names = get_day_names("wide", locale=babel_locale(language))
    codes = rule.split("BYDAY=")[-1].split(",")
    days = format_list([names[DAYS.index(code)] for code in codes if code in DAYS], locale=babel_locale(language))
    return coordinator_text("rule.weekly", language, days=days)


def _actor(sender: str) -> str:
    """How the audit log names a coordinator acting from Telegram."""
    return f"telegram:{sender}"
