"""Fuzzing the Telegram bridge: more than 10,000 generated updates through the real handlers.

Hypothesis draws Telegram updates as the Bot API sends them (every update type, odd
unicode, huge and empty fields, forged callback data, repeated and out-of-order update
ids, a small pool of users so chats collide). They go through `Application.process_update`
of a python-telegram-bot application built from the bridge's parts (`Bridge`,
`CoordinatorFlow`, `Handlers`), alone and concurrently, against the fake Bot API server
(tests/fake_telegram.py) and a Rasa stub: a real HTTP server that answers each message
with unique markers (sometimes buttons, several texts, long texts, images, or first an
error status). After each example the inbox is settled and checked; at the end every
marker must have reached Telegram exactly once (at most once where the user blocked the
bot) and Telegram must have been asked nothing it refuses.

The inputs are reproducible (`derandomize=True`); the timing between the bridge's tasks
is not, so every assertion holds whichever order the work happens in.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import logging
import random
import re
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from sqlalchemy import event as sqlalchemy_event, func, select
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, filters

from bot.commands import COMMANDS as CITIZEN_COMMANDS
from bot.config import load_settings
from bot.db import Database
from bot.i18n import SUPPORTED_LANGUAGES, channel_text
from bot.migrate import upgrade
from bot.models import InboxMessage, utcnow
from bot.rasa_client import RasaClient
from bot.services import citizens, roles, tasks
from bot.services.demo import ensure_neighbourhoods
from bot.services.notifications import Rules
from bot.telegram.app import file_url
from bot.telegram.bridge import Bridge, Timing
from bot.telegram.coordinator import COMMANDS as COORDINATOR_COMMANDS
from bot.telegram.coordinator import CoordinatorFlow
from bot.telegram.handlers import Handlers
from tests.fake_telegram import FakeTelegram

JSON = dict[str, Any]
TOKEN = "7000000001:FUZZ-token"
BOT_USERNAME = "coprod_test_bot"
BOT_USER = {"id": 7_000_000_001, "is_bot": True, "first_name": "Coprod Test Bot", "username": BOT_USERNAME}
MIN_UPDATES = 10_000
EXAMPLES = 230
EVENTS = (44, 52)  # events per example (a few resolve to nothing)

# Users: a small pool so chats collide; a few are hot.
USERS = list(range(3001, 3025))
HOT = USERS[:6]
COORDINATORS = (3001, 3002)
CONSENTED = tuple(range(3003, 3013))  # their photos are downloaded
BLOCKERS = (3023, 3024)  # a `kicked` my_chat_member of these makes the fake answer 403 until they write again
GROUP_ANONYMOUS = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
GROUPS = (
    {"id": -5000000001, "type": "group", "title": "Riverside volunteers"},
    {"id": -1001000000002, "type": "supergroup", "title": "فريق الحي 🌳", "is_forum": True},
)
CHANNEL = {"id": -1001000000099, "type": "channel", "title": "City news", "username": "citynews"}
DATE = 1_760_000_000

# Markers that the Rasa stub puts in its answers; never in what users type.
OPEN, CLOSE = "\u27e6", "\u27e7"
MARKER = re.compile(f"{OPEN}(\\d+){CLOSE}")

# --------------------------------------------------------------------------- strategies: text

ODD = [
    "مرحبا بكم في الحي", "שלום", "\u202eevil.exe\u202c", "\u200f", "\u200e", "\u2067ltr\u2069", "\u061c",
    "e\u0301\u0302\u0303\u0304", "Z\u0334\u0321\u031b\u0316a\u0337l\u0336g\u0338o\u0335", "👩‍👩‍👧‍👦", "🏳️‍🌈",
    "👍🏽", "🇩🇿", "🧑‍🚒", "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b",
    "\u00ad", "\ufffd", "\uffff", "\U0010ffff", "\U000e0001", "𝕳𝖊𝖑𝖑𝖔", "ﷺ", "ǅ", "İ", "ß", "٣٤", "²", "١٢",
    "<b>bold</b>", "*md*", "_x_", "[link](http://x)", "&amp;", "%s%n", "{0}", "{title}", "'; DROP TABLE inbox; --",
    "\\", '"', "\t", "\n", "\r\n", "every Friday 20:00-22:00", "Sat 5 Dec 9:00-12:00", "every tue and thu 6pm-7:30pm",
    "12", "0", "501", "cancel", "/cancel", "help", "je veux signaler une poubelle", "salam khoya 3andi mochkil",
    "I want to join", "bonjour", "https://t.me/coprod_test_bot?start=task_1", "@coprod_test_bot", "#tag", "/", "//", " ",
    '/give_feedback{"rating":"1"}', '/choose_language{"language":"ar"}', "coord:confirm",
]
CHARS = st.characters(codec="utf-8", exclude_characters=OPEN + CLOSE)  # no surrogates: JSON can't carry them
plain = st.text(CHARS, max_size=12)
pieces = st.lists(st.sampled_from(ODD), min_size=1, max_size=4).map("".join)


def _repeat(seed: str, length: int) -> str:
    return (seed * (length // len(seed) + 1))[:length]


huge = st.builds(_repeat, st.one_of(pieces, plain.filter(bool)), st.sampled_from([1025, 4095, 4096, 4097, 5000, 9000]))
text = st.one_of(pieces, pieces, pieces, plain, plain, plain, huge, st.just(""))
short = st.one_of(pieces, plain, st.just(""))

KNOWN = [f"/{name}" for name in (*CITIZEN_COMMANDS, *COORDINATOR_COMMANDS)]
command_head = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(KNOWN),
    st.sampled_from(KNOWN).map(str.upper),
    st.sampled_from(KNOWN).map(lambda c: f"{c}@{BOT_USERNAME}"),
    st.sampled_from(KNOWN).map(lambda c: f"{c}@Coprod_Test_Bot"),
    st.sampled_from(KNOWN).map(lambda c: f"{c}@other_bot"),
    st.sampled_from(["/unknown", "/give_feedback", "/list_tasks", "/greet", "/_", "/" + "x" * 70, "/cancel"]),
)
command_tail = st.one_of(
    st.just(""),
    st.sampled_from([
        " ", "?", ",", "!", "-me", "✓", "\u00a0now", " task_1", " task_2", " task_12", " task_abc", " task_²",
        " task_٣", " task_99999999999", " 1", " 2", " ²", " ١٢", " 999999999999", " -1", ' {"rating":"1"}',
        '{"rating":"1"}', '{"task_id":"1"}', " " + "9" * 40, " 1 2 3",
    ]),
    text.map(lambda t: " " + t),
)
command_text = st.builds(lambda head, tail: head + tail, command_head, command_tail)
COMMAND_AT_START = re.compile(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?")


def u16(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


# The strategies below are few and built once; composite functions draw from them through
# helpers (building a strategy per draw costs Hypothesis more than the drawing).
ENTITY_KINDS = st.sampled_from(["bold", "italic", "mention", "hashtag", "spoiler", "url", "code"])
one_in_4, one_in_3, one_in_6, one_in_10 = st.integers(0, 3), st.integers(0, 2), st.integers(0, 5), st.integers(0, 9)
flags = st.booleans()


def with_entities(draw: st.DrawFn, value: str, key: str = "text") -> JSON:
    """A text with the entities Telegram would mark: a leading command, and some formatting."""
    content: JSON = {key: value}
    entities = []
    found = COMMAND_AT_START.match(value)
    if found and key == "text":
        entities.append({"type": "bot_command", "offset": 0, "length": u16(found[0])})
    size = u16(value)
    if size and draw(one_in_4) == 0:
        offset = draw(st.integers(0, size - 1))
        entities.append({"type": draw(ENTITY_KINDS), "offset": offset, "length": draw(st.integers(1, size - offset))})
    if entities:
        content["entities" if key == "text" else "caption_entities"] = entities
    return content


# --------------------------------------------------------------------------- strategies: users, chats, media

NAMES = ["Ana", "محمد", "Zoë", "👩‍🚒", "\u202eoob", "x" * 64, "", "Jean-Luc", "\x00"]
LANGUAGES = [None, None, "en", "fr", "ar", "ar-DZ", "fr-FR", "de", "pt-br", "zh-hans", "x" * 35]
user_ids = st.sampled_from(HOT * 4 + USERS)  # half of the time one of the hot few
profiles = st.sampled_from([(name, language, named) for name in NAMES for language in LANGUAGES for named in (0, 1)])


def a_user(draw: st.DrawFn) -> JSON:
    uid = draw(user_ids)
    name, language, named = draw(profiles)
    user: JSON = {"id": uid, "is_bot": False, "first_name": name}
    if language is not None:
        user["language_code"] = language
    if named:
        user["username"] = f"user{uid}"
    return user


def private_chat(user: JSON) -> JSON:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    if "username" in user:
        chat["username"] = user["username"]
    return chat


# File ids the rig registers with the fake (`FILE:<name>` is replaced by the real id).
FILES = {
    "small": (b"\xff\xd8\xff small photo", True),
    "unsized": (b"\xff\xd8\xff photo without file_size", False),
    "big": (b"\xff\xd8\xff" + b"x" * 5000, True),
    "big_unsized": (b"\xff\xd8\xff" + b"y" * 5000, False),
}
file_ids = st.sampled_from(["FILE:small", "FILE:unsized", "FILE:big", "FILE:big_unsized", "AgACunknown-file-id", ""])
size_counts = st.integers(1, 3)
file_sizes = st.sampled_from([None, None, 0, 30, 4999, 5003, 2**31])


def photo_sizes(draw: st.DrawFn) -> list[JSON]:
    sizes = []
    for index, (width, height) in enumerate([(90, 67), (320, 240), (1280, 960)][: draw(size_counts)]):
        size: JSON = {"file_id": draw(file_ids), "file_unique_id": f"AQAD{index}", "width": width, "height": height}
        file_size = draw(file_sizes)
        if file_size is not None:
            size["file_size"] = file_size
        sizes.append(size)
    return sizes


def _file(kind: str, **extra: Any) -> JSON:
    return {"file_id": f"BQAC{kind}", "file_unique_id": f"AQAD{kind}", **extra}


location = st.builds(
    lambda lat, lon: {"latitude": lat, "longitude": lon},
    st.one_of(st.floats(-90, 90, allow_nan=False), st.sampled_from([0.0, -0.0, 90.0, -90.0, 36.75])),
    st.one_of(st.floats(-180, 180, allow_nan=False), st.sampled_from([0.0, 180.0, -180.0, 3.06])),
)
OTHER_MEDIA = [
    {"sticker": _file("sticker", type="regular", width=512, height=512, is_animated=False, is_video=False, emoji="👍")},
    {"voice": _file("voice", duration=3, mime_type="audio/ogg")},
    {"video": _file("video", width=640, height=480, duration=5)},
    {"video_note": _file("videonote", length=240, duration=4)},
    {"animation": _file("gif", width=1, height=1, duration=1), "document": _file("gif", mime_type="video/mp4")},
    {"audio": _file("audio", duration=100, title="🎵")},
    {"contact": {"phone_number": "+213555000000", "first_name": "Ana", "user_id": 3005}},
    {"dice": {"emoji": "🎲", "value": 6}},
    {"poll": {"id": "p1", "question": "?", "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}],
              "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
              "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}},
    {"new_chat_title": "renamed"},
    {"pinned_message": {"chat": {"id": 1, "type": "private", "first_name": "x"}, "message_id": 1, "date": 0}},
    {"write_access_allowed": {}},
    {"web_app_data": {"data": "{}", "button_text": "open"}},
    {"users_shared": {"request_id": 1, "users": [{"user_id": 3010}]}},
    {"successful_payment": {"currency": "EUR", "total_amount": 100, "invoice_payload": "x",
                            "telegram_payment_charge_id": "t", "provider_payment_charge_id": "p"}},
    {"text": ""},
    {},
]
other_media = st.sampled_from(OTHER_MEDIA)
document = st.builds(
    lambda file_id, mime, name, size: {"document": {
        "file_id": file_id, "file_unique_id": "AQADdoc",
        **({"mime_type": mime} if mime else {}), **({"file_name": name} if name else {}),
        **({"file_size": size} if size is not None else {}),
    }},
    file_ids,
    st.sampled_from(["image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/svg+xml",
                     "application/pdf", "IMAGE/JPEG", None]),
    st.sampled_from(["photo.jpg", "../../etc/passwd", "ملف.png", None, "x" * 300]),
    st.sampled_from([None, 10, 5003]),
)
venue = st.builds(
    lambda place, title, address: {"location": place, "venue": {"location": place, "title": title, "address": address}},
    location, short, short,
)
albums = st.integers(1, 3)


def captioned(draw: st.DrawFn, content: JSON) -> JSON:
    """A caption (words, a command, or none) and maybe an album."""
    choice = draw(one_in_4)
    if choice == 1:
        content.update(with_entities(draw, draw(text), "caption"))
    elif choice == 2:
        content["caption"] = draw(command_text)
    if draw(one_in_3) == 0:
        content["media_group_id"] = f"ALBUM:{draw(albums)}"
    return content


CONTENTS = st.sampled_from(["text"] * 2 + ["command"] * 3 + ["photo"] * 2 + ["document", "location", "live", "venue", "other"])


def contents(draw: st.DrawFn) -> JSON:
    kind = draw(CONTENTS)
    if kind == "text":
        return with_entities(draw, draw(text))
    if kind == "command":
        return with_entities(draw, draw(command_text))
    if kind == "photo":
        return captioned(draw, {"photo": photo_sizes(draw)})
    if kind == "document":
        return captioned(draw, draw(document))
    if kind == "location":
        return {"location": draw(location)}
    if kind == "live":
        return {"location": {**draw(location), "live_period": 60}}
    if kind == "venue":
        return draw(venue)
    return dict(draw(other_media))


def extras(draw: st.DrawFn, chat: JSON, user: JSON | None) -> JSON:
    """What else a message may carry: a forward, a reply, a thread, a via bot, protection."""
    choice = draw(one_in_10)
    if choice == 0:
        return {"forward_origin": {"type": "user", "sender_user": user or BOT_USER, "date": DATE}}
    if choice == 1:
        return {"forward_origin": {"type": "hidden_user", "sender_user_name": draw(short), "date": DATE}}
    if choice == 2:
        return {"reply_to_message": {"message_id": 1, "date": DATE, "chat": chat, "from": BOT_USER, "text": "earlier"}}
    if choice == 3:
        return {"message_thread_id": 7, "is_topic_message": chat.get("is_forum", False), "has_protected_content": True}
    if choice == 4:
        return {"via_bot": {"id": 99, "is_bot": True, "first_name": "other", "username": "other_bot"}}
    return {}


PLACES = st.sampled_from(["private"] * 6 + ["group"] * 3 + ["channel"])
group_chats = st.sampled_from(GROUPS)


def a_message(draw: st.DrawFn, where: str | None = None) -> JSON:
    """A message as the Bot API sends it; its message_id is given by the fake when it is fed."""
    where = where or draw(PLACES)
    user = a_user(draw)
    if where == "private":
        chat, sender = private_chat(user), user
    elif where == "group":
        chat = draw(group_chats)
        sender = GROUP_ANONYMOUS if draw(one_in_6) == 0 else user
    else:
        chat, sender = CHANNEL, None
    message: JSON = {"message_id": 0, "date": DATE, "chat": chat}
    if sender is not None:
        message["from"] = sender
    if sender is None or sender is GROUP_ANONYMOUS:
        message["sender_chat"] = chat
    message.update(contents(draw))
    message.update(extras(draw, chat, sender))
    return message


# --------------------------------------------------------------------------- strategies: updates

garbage_data = st.one_of(
    st.none(),
    st.just(""),
    st.just("x" * 64),
    st.just("é" * 32),
    st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), min_size=16, max_size=16),
    st.text(CHARS, max_size=20),
    st.sampled_from(["coord:confirm", "coord:set:kind=group", "coord:cancel_broadcast:1", "coord:broadcast_task:x",
                     '/give_feedback{"rating":"1"}', "/delete_my_data", "' OR 1=1 --", "%", "\x00", "y" * 300]),
)
one_in_5 = st.integers(0, 4)
message_ids = st.integers(1, 10**6)
instances = st.integers(-(2**63), 2**63 - 1)


def bot_message(draw: st.DrawFn, chat: JSON) -> JSON | None:
    """The message a forged button press claims to be under (the bot's, an old one, or none)."""
    choice = draw(one_in_5)
    if choice == 0:
        return None  # an inline message: inline_message_id instead
    if choice == 1:
        return {"chat": chat, "message_id": draw(message_ids), "date": 0}  # inaccessible (too old)
    message: JSON = {"message_id": 10**8 + draw(message_ids), "date": DATE, "chat": chat, "from": BOT_USER}
    if choice == 2:
        message["photo"] = [{"file_id": "AgACbot", "file_unique_id": "AQADbot", "width": 1, "height": 1}]
    else:
        message["text"] = draw(short) or "…"
    return message


@st.composite
def forged_callback(draw: st.DrawFn) -> JSON:
    user = a_user(draw)
    chat = draw(group_chats) if draw(one_in_5) == 0 else private_chat(user)
    query: JSON = {"id": "0", "from": user, "chat_instance": str(draw(instances))}
    message = bot_message(draw, chat)
    if message is None:
        query["inline_message_id"] = "AgAAAInline"
    else:
        query["message"] = message
    data = draw(garbage_data)
    if data is not None:
        query["data"] = data
    elif draw(flags):
        query["game_short_name"] = "game"
    return {"callback_query": query}


def member(user: JSON, status: str) -> JSON:
    if status == "kicked":
        return {"user": user, "status": "kicked", "until_date": 0}
    return {"user": user, "status": status}


blocking = st.sampled_from([("member", "kicked"), ("kicked", "member")])
joining = st.sampled_from([("left", "member"), ("member", "left"), ("member", "kicked")])
member_keys = st.sampled_from(["my_chat_member", "chat_member"])


@st.composite
def membership(draw: st.DrawFn) -> JSON:
    user = a_user(draw)
    if draw(flags):  # the user blocks or unblocks the bot
        old, new = draw(blocking)
        return {"my_chat_member": {"chat": private_chat(user), "from": user, "date": DATE,
                                   "old_chat_member": member(BOT_USER, old), "new_chat_member": member(BOT_USER, new)}}
    chat = draw(group_chats)
    key = draw(member_keys)
    subject = BOT_USER if key == "my_chat_member" else user
    old, new = draw(joining)
    return {key: {"chat": chat, "from": user, "date": DATE, "old_chat_member": member(subject, old),
                  "new_chat_member": member(subject, new)}}


OTHER_KINDS = st.integers(0, 14)


@st.composite
def other_update(draw: st.DrawFn) -> JSON:
    """The update types the bridge has no handler for: it must ignore them quietly."""
    user = a_user(draw)
    group = draw(group_chats)
    premium = {"source": "premium", "user": user}
    kind = draw(OTHER_KINDS)
    if kind == 0:
        return {"inline_query": {"id": "iq", "from": user, "query": draw(short), "offset": ""}}
    if kind == 1:
        return {"chosen_inline_result": {"result_id": "r", "from": user, "query": draw(short)}}
    if kind == 2:
        return {"shipping_query": {"id": "sq", "from": user, "invoice_payload": "p", "shipping_address": {
            "country_code": "DZ", "state": "", "city": "Alger", "street_line1": draw(short), "street_line2": "",
            "post_code": "16000"}}}
    if kind == 3:
        return {"pre_checkout_query": {"id": "pq", "from": user, "currency": "EUR", "total_amount": 1,
                                       "invoice_payload": "p"}}
    if kind == 4:
        return {"poll": {"id": "p1", "question": draw(short) or "?", "total_voter_count": 1, "is_closed": True,
                         "options": [{"text": "a", "voter_count": 1, "persistent_id": "o1"}], "is_anonymous": True,
                         "type": "regular", "allows_multiple_answers": False, "allows_revoting": True,
                         "members_only": False}}
    if kind == 5:
        return {"poll_answer": {"poll_id": "p1", "option_ids": [0], "option_persistent_ids": ["o1"], "user": user}}
    if kind == 6:
        return {"chat_join_request": {"chat": group, "from": user, "date": DATE, "user_chat_id": user["id"]}}
    if kind == 7:
        return {"chat_boost": {"chat": CHANNEL, "boost": {"boost_id": "b", "add_date": DATE,
                                                          "expiration_date": DATE + 1, "source": premium}}}
    if kind == 8:
        return {"removed_chat_boost": {"chat": CHANNEL, "boost_id": "b", "remove_date": DATE, "source": premium}}
    if kind == 9:
        return {"message_reaction": {"chat": private_chat(user), "message_id": 1, "date": DATE, "user": user,
                                     "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
    if kind == 10:
        return {"message_reaction_count": {"chat": group, "message_id": 1, "date": DATE,
                                           "reactions": [{"type": {"type": "emoji", "emoji": "🔥"}, "total_count": 2}]}}
    if kind == 11:
        return {"business_connection": {"id": "bc", "user": user, "user_chat_id": user["id"], "date": DATE,
                                        "is_enabled": True}}
    if kind == 12:
        return {"deleted_business_messages": {"business_connection_id": "bc", "chat": private_chat(user),
                                              "message_ids": [1]}}
    if kind == 13:
        return {"purchased_paid_media": {"from": user, "paid_media_payload": draw(short)}}
    return {"managed_bot": {"user": user, "bot": {"id": 8_000_000_001, "is_bot": True, "first_name": "Managed"}}}


VARIANTS = st.sampled_from(["edited_message", "channel_post", "edited_channel_post", "business_message",
                            "edited_business_message", "guest_message"])
edited_ids = st.integers(1, 50)


@st.composite
def message_variant(draw: st.DrawFn) -> JSON:
    """Edited messages, channel posts, business and guest messages."""
    key = draw(VARIANTS)
    message = a_message(draw, "channel" if "channel" in key else "private")
    if key.startswith("edited"):
        message["message_id"] = draw(edited_ids)
        message["edit_date"] = message["date"] + 1
    if "business" in key:
        message["business_connection_id"] = "bc"
    if key == "guest_message":
        message["guest_query_id"] = "gq"
    return {key: message}


part_counts = st.integers(2, 4)


@st.composite
def album(draw: st.DrawFn) -> list[JSON]:
    """An album: 2 to 4 photos (or image documents) of one user, sent as separate updates."""
    user = a_user(draw)
    chat = private_chat(user) if draw(one_in_4) else draw(group_chats)
    parts = []
    for _ in range(draw(part_counts)):
        part: JSON = {"message_id": 0, "date": DATE, "chat": chat, "from": user}
        part.update(captioned(draw, {"photo": photo_sizes(draw)} if draw(one_in_4) else draw(document)))
        part["media_group_id"] = "ALBUM:9"
        parts.append({"message": part})
    return parts


messages = st.composite(lambda draw: {"message": a_message(draw)})()
updates = st.one_of(
    *[messages] * 8,
    forged_callback(),
    membership(),
    message_variant(),
    message_variant(),
    other_update(),
    other_update(),
)
events = st.one_of(
    *[updates.map(lambda u: ("new", u))] * 10,
    *[st.integers(0, 10**6).map(lambda i: ("repeat", i))] * 2,  # the same update again (same update_id)
    *[st.integers(0, 10**6).map(lambda i: ("replay", i))] * 2,  # an update of an earlier example again
    album().map(lambda parts: ("album", parts)),
    *[st.tuples(st.just("press"), st.integers(0, 10**6), st.sampled_from(["recent", "any", "stranger", "old"]))] * 2,
)
examples = st.fixed_dictionaries({
    "events": st.lists(events, min_size=EVENTS[0], max_size=EVENTS[1]),
    "order": st.sampled_from(["in order", "reversed", "shuffled", "shuffled"]),
    "seed": st.integers(0, 2**32 - 1),
    "batch": st.sampled_from([1, 3, 8, 1000]),
    "restart": st.integers(0, 19).map(lambda n: n == 0),
})

# --------------------------------------------------------------------------- the Rasa stub

FAILURES: list[list[Any]] = [[]] * 18 + [[500], [502, 503], ["empty"], ["not json"], [400], [500, "empty"]]
PAYLOADS = ['/sign_up{"task_id":"1"}', '/sign_up{"task_id":"2"}', "/affirm", "/deny", '/give_feedback{"rating":"5"}',
            '/choose_language{"language":"fr"}', "/consent", "free words as a payload", "/help", "/report"]
TITLES = ["Yes", "No", "1", "2", "3", "✅ Join: Night safety patrol", "Saturday clean-up 🧹", "نعم", "x" * 80,
          "\u202eright to left", "👩‍👩‍👧‍👦"]


SHAPES = [0] * 6 + [1, 1, 3, 3, 3, 2, 4, 5, 6, 7, 8, 9, 10]  # mostly one short text


class RasaStub:
    """`POST /webhooks/rest/webhook` answering each message with unique markers.

    What it does with a message depends only on the message (sender and text), not on
    the order messages arrive in: a failure first (a 5xx, a 4xx, an empty list, a body
    that is not JSON) for some, then an answer of one of several shapes."""

    def __init__(self) -> None:
        self.url = ""
        self.serial = 0
        self.attempts: Counter[str] = Counter()
        self.answers: dict[str, list[list[int]]] = defaultdict(list)  # message key → markers of each 200
        self.order: list[int] = []  # inbox ids in the order they were answered
        self.again: list[str] = []  # message keys answered a second time
        self.unkeyed = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/webhooks/rest/webhook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def marker(self) -> tuple[str, int]:
        self.serial += 1
        return f"{OPEN}{self.serial}{CLOSE}", self.serial

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, said = str(body.get("sender")), str(body.get("message", ""))
        key = str(((body.get("metadata") or {}).get("coprod") or {}).get("message_key") or "")
        if not key.startswith("inbox:"):
            self.unkeyed += 1
        self.attempts[key] += 1
        digest = int.from_bytes(hashlib.sha256(f"{sender}\x00{said}".encode()).digest()[:8], "big")
        failures = FAILURES[digest % len(FAILURES)]
        attempt = self.attempts[key]
        if attempt <= len(failures):
            failure = failures[attempt - 1]
            if failure == "empty":
                return web.json_response([])
            if failure == "not json":
                return web.Response(text="<html>oops</html>", content_type="text/html")
            return web.json_response({"error": "stub"}, status=failure)
        if digest % 11 == 0:
            await asyncio.sleep(0.005)
        replies, markers = self.compose(digest >> 8, sender, said)
        if self.answers[key]:
            self.again.append(key)
        self.answers[key].append(markers)
        if key.startswith("inbox:"):
            self.order.append(int(key[len("inbox:"):]))
        return web.json_response(replies)

    def compose(self, digest: int, sender: str, said: str) -> tuple[list[JSON], list[int]]:
        numbers: list[int] = []

        def mark() -> str:
            label, number = self.marker()
            numbers.append(number)
            return label

        def reply(**fields: Any) -> JSON:
            return {"recipient_id": sender, **fields}

        shape, rest = SHAPES[digest % len(SHAPES)], digest // len(SHAPES)
        if shape == 0:
            replies = [reply(text=f"{mark()} Thanks!")]
        elif shape == 1:
            replies = [reply(text=f"{mark()} You said: {said[:300]}")]
        elif shape == 2:
            replies = [reply(text=f"{mark()} part") for _ in range(1 + rest % 4)]
        elif shape == 3:
            count = 1 + rest % 12
            buttons = [{"title": TITLES[(rest + i) % len(TITLES)], "payload": PAYLOADS[(rest + i) % len(PAYLOADS)]}
                       for i in range(count)]
            replies = [reply(text=f"{mark()} Pick one:", buttons=buttons)]
        elif shape == 4:
            replies = [reply(text=f"{mark()} " + _repeat("long reply ", 4096 + rest % 6000))]
        elif shape == 5:
            replies = [reply(text=f"{mark()} " + "👍" * (2040 + rest % 3000))]  # 2 UTF-16 units each
        elif shape == 6:
            replies = [reply(text=f"{mark()} Here:"), reply(image=f"https://example.invalid/{mark()}.png")]
        elif shape == 7:
            replies = [reply(custom={"kind": "location_request"}), reply(text=f"{mark()} and words")]
        elif shape == 8:  # many buttons over several replies: split where a message holds no more
            replies = [reply(text=f"{mark()} Tasks:")] + [
                reply(text=f"{mark()} task {i}", buttons=[{"title": f"Join {i}", "payload": PAYLOADS[i % 2]}] * 3)
                for i in range(2 + rest % 5)
            ]
        elif shape == 9:
            replies = [reply(text=f"{mark()} Your report: {said}")]  # echoes all of it, however long
        else:
            replies = [reply(text=f"{mark()} " + _repeat("ab ", 4093)), reply(text=f"{mark()} next")]
        return replies, numbers


# --------------------------------------------------------------------------- the rig


class NoPaceBridge(Bridge):
    """The bridge without Telegram's per-chat pacing (one message a second): the fake does not limit."""

    async def pace(self, chat_id: str) -> None:
        return None


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


OPEN_STATUSES = ("pending", "held")
UNSUPPORTED_ROUTE = (
    filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.TEXT
    & ~(filters.PHOTO | filters.LOCATION | filters.VENUE | filters.Document.IMAGE)
)
UNSUPPORTED_TEXTS = {channel_text("unsupported", language) for language in SUPPORTED_LANGUAGES}
GROUP_HINTS = {channel_text("group_hint", language) for language in SUPPORTED_LANGUAGES}


class Rig:
    """The bridge's application, the fake Bot API, the Rasa stub and what was fed."""

    def __init__(self, tmp: Path, fake: FakeTelegram) -> None:
        self.tmp = tmp
        self.fake = fake
        self.rasa = RasaStub()
        self.url = f"sqlite:///{tmp / 'fuzz.db'}"
        self.history: list[JSON] = []  # every update fed, as fed
        self.fed = 0
        self.examples = 0
        self.next_id = 500_000_000
        self.escaped: list[str] = []
        self.handled_errors: list[str] = []
        self.ever_blocked: set[int] = set()
        self.generation = 0
        self.starts: list[int] = []  # where in fake.calls each application (generation 1, 2, …) began
        self.queries: list[tuple[int, str]] = []  # (generation, callback query id) fed
        self.unsupported: dict[tuple[int, int], set[int]] = defaultdict(set)  # (generation, chat) → update ids
        self.keyboards: list[tuple[int, JSON, str]] = []  # (chat, bot message, callback data) seen sent
        self._scanned = 0
        self._watermark = 0
        self.application: Application | None = None
        self.bridge: Bridge | None = None

    # lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        upgrade(self.url)
        self.db = Database(self.url)
        # No fsync per commit: a crash of the test machine may lose the test's database, nothing else.
        sqlalchemy_event.listen(self.db.engine, "connect", lambda connection, _: connection.execute("PRAGMA synchronous=OFF"))
        with self.db.session() as session:
            ensure_neighbourhoods(session, ["Old Town", "Riverside", "Hillcrest"])
            roles.bootstrap(session, [str(uid) for uid in COORDINATORS])
            for index, uid in enumerate(CONSENTED):
                citizen = citizens.give_consent(session, str(uid), ("en", "fr", "ar")[index % 3])
                citizen.channel, citizen.address = "telegram", str(uid)
            tasks.create_task(session, title="Night safety patrol", kind="group", category="safety", place="Footbridge",
                              starts_at=utcnow().replace(microsecond=0) + timedelta(days=2),
                              ends_at=utcnow().replace(microsecond=0) + timedelta(days=2, hours=2), capacity=3)
            tasks.create_task(session, title="Report illegal dumping", kind="collective", category="waste")
        for uid in USERS:
            self.fake.add_user(uid)
        for chat in (*GROUPS, CHANNEL):
            self.fake.learn({"my_chat_member": {"chat": chat}})
        self.files = {f"FILE:{name}": self.fake.add_file(content, sized=sized) for name, (content, sized) in FILES.items()}
        await self.rasa.start()
        media = self.tmp / "media"
        media.mkdir(exist_ok=True)
        self.settings = load_settings({
            "DATABASE_URL": self.url, "MEDIA_DIR": str(media), "COPROD_VAR_DIR": str(self.tmp),
            "TELEGRAM_TOKEN": TOKEN, "TELEGRAM_BASE_URL": f"{self.fake.url}/bot", "RASA_URL": self.rasa.url,
            "INBOX_RETRY_SECONDS": "0.01", "INBOX_MAX_BACKOFF_SECONDS": "0.04", "MAX_PHOTO_BYTES": "4000",
            "MEDIA_MIN_FREE_MB": "1", "QUIET_HOURS": "off", "COORDINATOR_IDS": ",".join(map(str, COORDINATORS)),
        })
        await self.boot()

    async def boot(self) -> None:
        """The bridge's parts as bot.telegram.app.build wires them, without PTB's rate limiter
        (30 messages a second overall) and the background loops, which the test drives itself."""
        settings = self.settings
        self.bridge = NoPaceBridge(settings, self.db, RasaClient(settings.rasa_url),
                                   Timing(album_wait=0.02, retry_interval=0.01, max_backoff=0.04))
        coordinator = CoordinatorFlow(self.db, self.bridge, settings, Rules.from_settings(settings))
        application = (
            ApplicationBuilder().token(TOKEN).base_url(settings.telegram_base_url)
            .base_file_url(file_url(settings.telegram_base_url)).concurrent_updates(True).job_queue(None)
            .connection_pool_size(64).build()
        )
        Handlers(self.bridge, coordinator).register(application)
        application.add_error_handler(self._handled_error)
        await application.initialize()
        self.bridge.bot = application.bot
        self.application = application
        self.generation += 1
        self.starts.append(len(self.fake.calls))

    async def shutdown(self) -> None:
        if self.bridge is not None:
            await self.bridge.close()
            await asyncio.gather(*getattr(self.bridge, "_tasks", ()), return_exceptions=True)
        if self.application is not None:
            await self.application.shutdown()
        self.bridge = self.application = None

    async def restart(self) -> None:
        """As after a crash: the same database and Telegram, a new process (nothing in memory)."""
        await self.shutdown()
        await self.boot()

    async def stop(self) -> None:
        await self.shutdown()
        await self.rasa.stop()
        self.db.dispose()

    async def _handled_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = getattr(update, "update_id", None)
        self.handled_errors.append(f"update {update_id}: {context.error!r}")

    # feeding -----------------------------------------------------------------

    def harvest(self) -> None:
        """Keyboards the bot sent so far, so that presses can use real tokens."""
        calls = self.fake.calls
        for call in calls[self._scanned:]:
            if call["method"] in ("sendMessage", "sendPhoto") and call["status"] == 200:
                markup = (call["result"] or {}).get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []):
                    for button in row:
                        if "callback_data" in button:
                            self.keyboards.append((call["result"]["chat"]["id"], call["result"], button["callback_data"]))
        self._scanned = len(calls)

    def press(self, index: int, how: str) -> JSON | None:
        """A button press on a message the bot really sent (by its user, a stranger, or too late)."""
        if not self.keyboards:
            return None
        pool = self.keyboards[-12:] if how == "recent" else self.keyboards
        chat_id, message, data = pool[index % len(pool)]
        presser = chat_id if chat_id > 0 else USERS[index % len(USERS)]
        if how == "stranger":
            presser = USERS[(USERS.index(chat_id) + 1) % len(USERS)] if chat_id in USERS else presser
        user = {"id": presser, "is_bot": False, "first_name": "Ana", "language_code": "en"}
        shown = copy.deepcopy(message)
        if how == "old":
            shown = {"chat": message["chat"], "message_id": message["message_id"], "date": 0}
        if how == "stranger" and chat_id > 0:
            shown["chat"] = private_chat(user)  # claims to be under a message of the presser's chat
        return {"callback_query": {"id": "0", "from": user, "chat_instance": "1", "message": shown, "data": data}}

    def finalize(self, body: JSON) -> JSON:
        """Give a drawn update its id, real file ids and album ids, and let the fake learn it."""
        self.next_id += 1
        update = json.loads(json.dumps(body))
        update["update_id"] = self.next_id
        for value in update.values():
            if isinstance(value, dict) and isinstance(value.get("media_group_id"), str):
                value["media_group_id"] = f"{self.examples}{value['media_group_id'][len('ALBUM:'):]}"
        if "callback_query" in update:
            update["callback_query"]["id"] = str(self.next_id)
        text_form = json.dumps(update)
        for symbol, real in self.files.items():
            text_form = text_form.replace(f'"{symbol}"', json.dumps(real))
        return self.fake.learn(json.loads(text_form))

    def resolve(self, drawn: list[tuple[Any, ...]]) -> list[JSON]:
        self.harvest()
        fed: list[JSON] = []
        for event in drawn:
            kind = event[0]
            if kind == "new":
                fed.append(self.finalize(event[1]))
            elif kind == "album":
                fed.extend(self.finalize(part) for part in event[1])
            elif kind == "repeat" and fed:
                fed.append(fed[event[1] % len(fed)])
            elif kind == "replay" and self.history:
                recent = self.history[-2000:]
                fed.append(recent[event[1] % len(recent)])
            elif kind == "press":
                pressed = self.press(event[1], event[2])
                if pressed is not None:
                    fed.append(self.finalize(pressed))
        return fed

    def side_effects(self, update: JSON) -> None:
        """Blocking: a user who blocked the bot gets 403s until they write or unblock."""
        member = update.get("my_chat_member")
        if member and member["chat"]["type"] == "private" and member["chat"]["id"] in BLOCKERS:
            if member["new_chat_member"]["status"] == "kicked":
                self.ever_blocked.add(member["chat"]["id"])
                self.fake.block(member["chat"]["id"])
            else:
                self.fake.unblock(member["chat"]["id"])
        for key in ("message", "callback_query"):
            sender = (update.get(key) or {}).get("from") or {}
            if sender.get("id") in BLOCKERS:
                self.fake.unblock(sender["id"])

    async def process(self, data: JSON) -> None:
        assert self.application is not None
        self.fed += 1
        self.side_effects(data)
        try:
            update = Update.de_json(copy.deepcopy(data), self.application.bot)
        except Exception as exc:  # noqa: BLE001 - a strategy drew an update the Bot API never sends
            self.escaped.append(f"not an update {json.dumps(data)[:300]}: {exc!r}")
            return
        if "callback_query" in data:
            self.queries.append((self.generation, data["callback_query"]["id"]))
        if UNSUPPORTED_ROUTE.check_update(update):
            self.unsupported[(self.generation, update.effective_chat.id)].add(update.update_id)
        try:
            await self.application.process_update(update)
        except Exception as exc:  # noqa: BLE001 - what escapes is the finding
            self.escaped.append(f"update {data['update_id']}: {exc!r}")

    async def run(self, example: JSON) -> None:
        self.examples += 1
        if example["restart"]:
            await self.restart()
        fed = self.resolve(example["events"])
        order = list(range(len(fed)))
        if example["order"] == "reversed":
            order.reverse()
        elif example["order"] == "shuffled":
            random.Random(example["seed"]).shuffle(order)
        size = example["batch"]
        for start in range(0, len(order), size):
            await asyncio.gather(*(self.process(fed[i]) for i in order[start:start + size]))
        self.history.extend(fed)
        now = await self.settle()
        self.check_inbox(now)
        assert not self.escaped, self.escaped[:5]
        assert not self.handled_errors, self.handled_errors[:5]

    # settling and checking ---------------------------------------------------

    async def settle(self, everything: bool = False, timeout: float = 60.0) -> Any:
        """Let the bridge finish: its background work, then retries, until no message is due
        (`everything`: until none is left at all). Returns the moment it was so."""
        assert self.bridge is not None
        deadline = time.monotonic() + timeout
        while True:
            running = [task for task in getattr(self.bridge, "_tasks", ()) if not task.done()]
            if running:
                await asyncio.wait(running, timeout=max(0.1, deadline - time.monotonic()))
            await self.bridge.retry_once()
            running = [task for task in getattr(self.bridge, "_tasks", ()) if not task.done()]
            with self.db.session() as session:
                now = utcnow()
                open_items = session.execute(
                    select(InboxMessage.chat_id, InboxMessage.status, InboxMessage.not_before)
                    .where(InboxMessage.status.in_(OPEN_STATUSES))
                ).all()
            due = [row for row in open_items if row.status == "held" or row.not_before is None or row.not_before <= now]
            if not running and not (open_items if everything else due):
                return now
            if time.monotonic() > deadline:
                raise AssertionError(f"the inbox did not settle: {len(running)} tasks, open {open_items[:10]}")
            await asyncio.sleep(0.01)

    def check_inbox(self, now: Any, everything: bool = False) -> None:
        """The inbox after settling at `now`. Rows that were finished at the last check cannot
        change any more (done, merged, skipped are final), so only later ones are read again."""
        low = 0 if everything else self._watermark
        columns = (InboxMessage.id, InboxMessage.update_key, InboxMessage.chat_id, InboxMessage.status,
                   InboxMessage.not_before, InboxMessage.group_key)
        with self.db.session() as session:
            rows = session.execute(select(*columns).where(InboxMessage.id >= low).order_by(InboxMessage.id)).all()
            statuses = dict(session.execute(select(InboxMessage.status, func.count()).group_by(InboxMessage.status)).all())
            repeated = session.execute(
                select(InboxMessage.update_key).group_by(InboxMessage.update_key).having(func.count() > 1)
            ).scalars().all() if everything else []
            groups = {row.group_key for row in rows if row.status == "merged"}
            survivors = dict(session.execute(
                select(InboxMessage.group_key, func.min(InboxMessage.id))
                .where(InboxMessage.group_key.in_(groups), InboxMessage.status != "merged")
                .group_by(InboxMessage.group_key)
            ).all()) if groups else {}
        assert not repeated, f"updates stored twice: {repeated[:5]}"
        assert not statuses.get("handling") and not statuses.get("held"), statuses
        assert not statuses.get("failed"), "no message keeps failing: the stub fails at most twice"
        first_open: dict[str, Any] = {}
        for row in rows:
            if row.status in OPEN_STATUSES:
                first_open.setdefault(row.chat_id, row)
        stuck = [row for row in first_open.values() if row.not_before is None or row.not_before <= now]
        assert not stuck, f"pending with nothing holding them: {stuck[:5]}"
        orphans = [row for row in rows if row.status == "merged" and not survivors.get(row.group_key, row.id) < row.id]
        assert not orphans, f"album parts merged into nothing: {orphans[:5]}"
        unanswered = [row for row in rows if row.status == "done" and not self.rasa.answers.get(f"inbox:{row.id}")]
        assert not unanswered, f"marked done without an answer: {unanswered[:5]}"
        assert not self.rasa.again, f"messages handed to Rasa again after they were answered: {self.rasa.again[:5]}"
        assert not self.rasa.unkeyed, "every message to Rasa carries its inbox key"
        still_open = [row.id for row in rows if row.status in OPEN_STATUSES]
        self._watermark = min(still_open) if still_open else (rows[-1].id + 1 if rows else low)

    def check_telegram(self) -> None:
        """After the last example: what Telegram got, against what the stub answered."""
        calls = self.fake.calls
        refused = [
            call for call in calls
            if call["method"] in ("sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup")
            and call["status"] != 200 and not (call["status"] == 403 and call["chat_id"] in self.ever_blocked)
        ]
        assert not refused, [(c["method"], c["status"], c["description"], str(c["params"])[:200]) for c in refused[:5]]
        seen: Counter[int] = Counter()
        for call in calls:
            if call["method"] in ("sendMessage", "sendPhoto") and call["status"] == 200:
                params = call["params"]
                shown = f"{params.get('text') or ''} {params.get('caption') or ''} {params.get('photo') or ''}"
                seen.update(int(number) for number in MARKER.findall(shown))
        assert not [n for n, count in seen.items() if count > 1], "an answer reached Telegram twice"
        with self.db.session() as session:
            chat_of = dict(session.execute(select(InboxMessage.id, InboxMessage.chat_id)).all())
        lost = []
        for key, answers in self.rasa.answers.items():
            chat = int(chat_of[int(key[len("inbox:"):])])
            if chat not in self.ever_blocked:
                lost += [number for markers in answers for number in markers if seen[number] != 1]
        assert not lost, f"answers that never reached Telegram: {lost[:10]}"
        by_chat: dict[str, list[int]] = defaultdict(list)
        for item_id in self.rasa.order:
            by_chat[chat_of[item_id]].append(item_id)
        assert all(ids == sorted(ids) for ids in by_chat.values()), "a chat's messages went to Rasa out of order"
        self.check_once_per_update(calls)

    def check_once_per_update(self, calls: list[JSON]) -> None:
        """Replies that do not go through the inbox: once per update within a running process."""
        starts = self.starts + [len(calls)]
        answered: Counter[tuple[int, str]] = Counter()
        unsupported: Counter[tuple[int, int]] = Counter()
        hints: Counter[tuple[int, int, int]] = Counter()
        for generation, (begin, end) in enumerate(zip(starts, starts[1:]), start=1):
            for call in calls[begin:end]:
                params = call["params"]
                if call["method"] == "answerCallbackQuery":
                    answered[(generation, str(params.get("callback_query_id")))] += 1
                    assert call["status"] == 200 or "query is too old" in (call["description"] or ""), call
                elif call["method"] == "sendMessage" and call["status"] == 200:
                    if params.get("text") in UNSUPPORTED_TEXTS:
                        unsupported[(generation, call["chat_id"])] += 1
                    if params.get("text") in GROUP_HINTS:
                        quoted = (params.get("reply_parameters") or {}).get("message_id")
                        hints[(generation, call["chat_id"], quoted)] += 1
        twice = [key for key, count in answered.items() if count > 1]
        assert not twice, f"a button press answered twice: {twice[:5]}"
        never = [key for key in set(self.queries) if key not in answered]
        assert not never, f"button presses never answered: {never[:5]}"
        extra = {key: count for key, count in unsupported.items() if count > len(self.unsupported.get(key, ()))}
        assert not extra, f"'unsupported' said more often than such messages came: {extra}"
        missing = {key: ids for key, ids in self.unsupported.items()
                   if key[1] not in self.ever_blocked and unsupported[key] != len(ids)}
        assert not missing, f"'unsupported' not said once per such message: {list(missing.items())[:3]}"
        assert not [key for key, count in hints.items() if count > 1], "a group told twice"



# --------------------------------------------------------------------------- the test


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(bot_username=BOT_USERNAME) as server:
        yield server


def test_generated_updates_are_answered_once_and_nothing_escapes(tmp_path: Path, fake: FakeTelegram) -> None:
    errors = Errors()
    root = logging.getLogger()
    root.addHandler(errors)
    loop = asyncio.new_event_loop()
    rig = Rig(tmp_path, fake)
    try:
        loop.run_until_complete(rig.start())

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
        @given(example=examples)
        def feed(example: JSON) -> None:
            loop.run_until_complete(rig.run(example))
            assert not errors.records, [f"{r.name}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''}"
                                        for r in errors.records[:5]]

        feed()
        loop.run_until_complete(rig.settle(everything=True))
        rig.check_inbox(utcnow(), everything=True)
        rig.check_telegram()
        assert rig.fed >= MIN_UPDATES, f"only {rig.fed} updates were generated"
        assert not errors.records
    finally:
        root.removeHandler(errors)
        leftover = asyncio.all_tasks(loop)  # only after a failure mid-example
        for task in leftover:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.run_until_complete(rig.stop())
        loop.close()
