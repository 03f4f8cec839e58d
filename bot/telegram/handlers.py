"""python-telegram-bot handlers: turn updates into inbox messages for the bridge."""
from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.i18n import channel_text, coordinator_text
from bot.services.inbox import Incoming
from bot.commands import COMMANDS, START_REPORT, typed
from bot.telegram.bridge import Bridge
from bot.telegram.coordinator import COMMANDS as COORDINATOR_COMMANDS
from bot.telegram.coordinator import PREFIX as COORDINATOR_PREFIX
from bot.telegram.coordinator import CoordinatorFlow
from bot.telegram.media import EXTENSIONS

logger = logging.getLogger(__name__)

# Update ids remembered to drop a repeated delivery (a webhook answer Telegram did not get).
SEEN_UPDATES = 100_000
ADDRESSED = re.compile(r"/[A-Za-z0-9_]+@([A-Za-z0-9_]+)")


def _ids(update: Update) -> tuple[str, str]:
    return str(update.effective_user.id), str(update.effective_chat.id)


def _app_code(update: Update) -> str | None:
    return update.effective_user.language_code if update.effective_user else None


def _app_language(update: Update, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The language the citizen's Telegram app is set to: a hint for a first conversation."""
    meta = dict(meta or {})
    code = _app_code(update)
    if code:
        meta["coprod"] = {**meta.get("coprod", {}), "app_language": code[:10]}
    return meta


def _command(message: Message) -> str:
    """`/Help@coprod_bot?` → `help`: what the leading bot_command entity covers, as CommandHandler
    matched it (the first word may go on: "/help?", "/tasks,")."""
    return message.text[1 : message.entities[0].length].split("@")[0].lower()


def deep_link_payload(argument: str) -> str | None:
    """`task_12` from t.me/<bot>?start=task_12 becomes the task's card."""
    kind, _, value = argument.partition("_")
    if kind == "task" and value.isascii() and value.isdigit() and len(value) < 10:
        return "/list_tasks" + json.dumps({"task_id": value}, separators=(",", ":"))
    return None


def media_of(message: Message) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
    """Telegram files to fetch later, and the location, of one message."""
    files = []
    if message.photo:
        files.append({"file_id": message.photo[-1].file_id, "mime_type": "image/jpeg"})
    document = message.document
    if document is not None and (document.mime_type or "") in EXTENSIONS:
        files.append({"file_id": document.file_id, "mime_type": document.mime_type})
    location = None
    if message.venue is not None:
        venue = message.venue
        location = {"latitude": venue.location.latitude, "longitude": venue.location.longitude,
                    "address": ", ".join(p for p in (venue.title, venue.address) if p)}
    elif message.location is not None:
        location = {"latitude": message.location.latitude, "longitude": message.location.longitude}
    return files, location


async def _reply(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """A direct answer to one message; if Telegram refuses it (the user blocked the bot,
    the group is gone), there is nothing to retry."""
    try:
        await message.reply_text(text, reply_markup=markup)
    except TelegramError as exc:
        logger.info("could not answer in chat %s: %s", message.chat_id, exc)


class Handlers:
    def __init__(self, bridge: Bridge, coordinator: CoordinatorFlow) -> None:
        self.bridge = bridge
        self.coordinator = coordinator
        self._seen: OrderedDict[int, None] = OrderedDict()

    def register(self, application: Application) -> None:
        application.add_handler(TypeHandler(Update, self.once), group=-1)
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        for command in COMMANDS:
            application.add_handler(CommandHandler(command, self.command, filters=private))
        people = filters.UpdateType.MESSAGE & (filters.ChatType.PRIVATE | filters.ChatType.GROUPS)  # not channels: no sender
        for command in COORDINATOR_COMMANDS:
            application.add_handler(CommandHandler(command, self.coordinator_command, filters=people))
        application.add_handler(
            MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.COMMAND, self.group_command)
        )
        application.add_handler(CallbackQueryHandler(self.callback))
        # After the commands: an unknown "/command" is read as words (typed), never dropped.
        application.add_handler(MessageHandler(private & filters.TEXT, self.text))
        media_filter = filters.PHOTO | filters.LOCATION | filters.VENUE | filters.Document.IMAGE
        application.add_handler(MessageHandler(private & media_filter, self.media))
        application.add_handler(MessageHandler(private & ~filters.COMMAND, self.unsupported))
        application.add_error_handler(self.error)

    async def once(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle each update once: Telegram repeats one whose webhook answer it did not get.
        (The inbox drops repeats of what it stores across restarts too; coordinator steps,
        button answers and the replies below do not go through it.)"""
        if update.update_id in self._seen:
            logger.info("repeated update %s ignored", update.update_id)
            raise ApplicationHandlerStop
        self._seen[update.update_id] = None
        if len(self._seen) > SEEN_UPDATES:
            self._seen.popitem(last=False)

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender, chat = _ids(update)
        name = _command(update.effective_message)
        if name == "mytasks" and self.coordinator.is_coordinator(sender):
            self.coordinator.speak_to(sender, _app_code(update))
            await self.coordinator.command(sender, chat, name, context.args or [])
            return
        key = f"tg:{update.update_id}"
        await self.bridge.receive(Incoming(key, sender, chat, COMMANDS[name], _app_language(update)))
        if name == "start" and context.args:
            payload = deep_link_payload(context.args[0])
            if payload:
                await self.bridge.receive(Incoming(f"{key}:link", sender, chat, payload, {}))

    async def coordinator_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/newtask, /task, /close, /broadcast in private; /linkgroup inside a group."""
        sender, chat = _ids(update)
        name = _command(update.effective_message)
        self.coordinator.speak_to(sender, _app_code(update))
        if (name == "linkgroup") == (update.effective_chat.type == "private"):
            if name == "linkgroup":
                await self.coordinator.say(chat, coordinator_text("linkgroup.usage", self.bridge.language_of(sender)))
            return
        await self.coordinator.command(sender, chat, name, context.args or [])

    async def group_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In groups the bot only answers commands addressed to it, and invites to a private chat."""
        addressed = ADDRESSED.match(update.effective_message.text or "")
        username = context.bot.username or ""
        if not username or addressed is None or addressed[1].lower() != username.lower():
            return
        language = self.bridge.language_of(_ids(update)[0])
        button = InlineKeyboardButton(channel_text("open_chat", language), url=f"https://t.me/{username}")
        await _reply(update.effective_message, channel_text("group_hint", language), InlineKeyboardMarkup([[button]]))

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender, chat = _ids(update)
        self.coordinator.speak_to(sender, _app_code(update))
        if await self.coordinator.text(sender, chat, update.effective_message.text):
            return
        text = typed(update.effective_message.text) or COMMANDS["help"]  # never read as a Rasa payload
        await self.bridge.receive(Incoming(f"tg:{update.update_id}", sender, chat, text, _app_language(update)))

    async def media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender, chat = _ids(update)
        message = update.effective_message
        self.coordinator.speak_to(sender, _app_code(update))
        if message.photo and await self.coordinator.photo(sender, chat, message.photo[-1].file_id, message.caption or ""):
            return
        files, location = media_of(message)
        meta: dict[str, Any] = {"telegram_files": files}
        if location:
            meta["coprod"] = {"location": location}
        text = typed(message.caption or "") or START_REPORT
        group = f"album:{chat}:{message.media_group_id}" if message.media_group_id else None
        await self.bridge.receive(Incoming(f"tg:{update.update_id}", sender, chat, text, _app_language(update, meta), group))

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender, chat = _ids(update)
        await _reply(update.effective_message, channel_text("unsupported", self.bridge.language_of(sender)))

    async def callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        sender = str(query.from_user.id)
        chat = str(query.message.chat.id) if query.message else sender
        # PTB 22 parses an inaccessible message (date 0: too old or deleted) as a Message too.
        message = query.message if isinstance(query.message, Message) and query.message.is_accessible else None
        press = self.bridge.redeem(chat, query.data or "")
        try:
            await query.answer(self.bridge.press_notice(press, sender))
        except TelegramError as exc:
            logger.info("callback %s not answered: %s", query.id, exc)
        if chat != sender:  # under a group's message (they carry no buttons of ours): no conversation there
            return
        if press.status == "ok" and press.payload.startswith(COORDINATOR_PREFIX):
            self.coordinator.speak_to(sender, query.from_user.language_code)
            await self.bridge.show_choice(message, press.title, sender)
            await self.coordinator.press(sender, chat, press.payload)
            return
        await self.bridge.act_on(press, chat, sender, message, f"tg:{update.update_id}")

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("error while handling an update", exc_info=context.error)
