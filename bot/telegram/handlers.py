"""python-telegram-bot handlers: turn updates into inbox messages for the bridge."""
from __future__ import annotations

import json
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
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


def deep_link_payload(argument: str) -> str | None:
    """`task_12` from t.me/<bot>?start=task_12 becomes the task's card."""
    kind, _, value = argument.partition("_")
    if kind == "task" and value.isdigit() and len(value) < 10:
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


class Handlers:
    def __init__(self, bridge: Bridge, coordinator: CoordinatorFlow) -> None:
        self.bridge = bridge
        self.coordinator = coordinator

    def register(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        for command in COMMANDS:
            application.add_handler(CommandHandler(command, self.command, filters=private))
        for command in COORDINATOR_COMMANDS:
            application.add_handler(CommandHandler(command, self.coordinator_command, filters=filters.UpdateType.MESSAGE))
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

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender, chat = _ids(update)
        name = update.effective_message.text.split()[0][1:].split("@")[0].lower()
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
        name = update.effective_message.text.split()[0][1:].split("@")[0].lower()
        self.coordinator.speak_to(sender, _app_code(update))
        if (name == "linkgroup") == (update.effective_chat.type == "private"):
            if name == "linkgroup":
                await self.coordinator.say(chat, coordinator_text("linkgroup.usage", self.bridge.language_of(sender)))
            return
        await self.coordinator.command(sender, chat, name, context.args or [])

    async def group_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In groups the bot only answers commands addressed to it, and invites to a private chat."""
        text = update.effective_message.text or ""
        username = context.bot.username or ""
        if not text.split()[0].lower().endswith(f"@{username.lower()}") or not username:
            return
        language = self.bridge.language_of(_ids(update)[0])
        button = InlineKeyboardButton(channel_text("open_chat", language), url=f"https://t.me/{username}")
        await update.effective_message.reply_text(
            channel_text("group_hint", language), reply_markup=InlineKeyboardMarkup([[button]])
        )

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
        await update.effective_message.reply_text(channel_text("unsupported", self.bridge.language_of(sender)))

    async def callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        sender = str(query.from_user.id)
        chat = str(query.message.chat.id) if query.message else sender
        message = query.message if isinstance(query.message, Message) else None
        press = self.bridge.redeem(chat, query.data or "")
        try:
            await query.answer(self.bridge.press_notice(press, sender))
        except TelegramError as exc:
            logger.info("callback %s not answered: %s", query.id, exc)
        if press.status == "ok" and press.payload.startswith(COORDINATOR_PREFIX):
            self.coordinator.speak_to(sender, query.from_user.language_code)
            await self.bridge.show_choice(message, press.title, sender)
            await self.coordinator.press(sender, chat, press.payload)
            return
        await self.bridge.act_on(press, chat, sender, message, f"tg:{update.update_id}")

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("error while handling an update", exc_info=context.error)
