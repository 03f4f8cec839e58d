"""The fake Telegram server behaves like the Bot API for a real python-telegram-bot client."""
from __future__ import annotations

import asyncio
import threading
import time
from io import BytesIO
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from aiohttp import web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fake_telegram import FakeTelegram

TOKEN = "7000000001:TEST-token"
USER = 42


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        server.add_user(USER)
        yield server


def make_bot(fake: FakeTelegram) -> Bot:
    return Bot(TOKEN, base_url=f"{fake.url}/bot", base_file_url=f"{fake.url}/file/bot")


def api(fake: FakeTelegram, method: str, **params: Any) -> httpx.Response:
    """One raw form-encoded Bot API call, as PTB sends it."""
    return httpx.post(f"{fake.url}/bot{TOKEN}/{method}", data=params)


class Receiver:
    """A small aiohttp webhook endpoint that fails the first `failures` POSTs."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.posts: list[tuple[str | None, dict[str, Any]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=500 if len(self.posts) <= self.failures else 200)

    async def wait_posts(self, count: int, timeout: float = 2.0) -> None:
        """Wait until `count` POSTs arrived."""

        async def poll() -> None:
            while len(self.posts) < count:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)


@pytest.fixture
async def receiver(request: pytest.FixtureRequest) -> AsyncIterator[Receiver]:
    endpoint = Receiver(getattr(request, "param", 0))
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    endpoint.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield endpoint
    await runner.cleanup()


@pytest.mark.anyio
async def test_bot_methods_round_trip(fake: FakeTelegram) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    async with make_bot(fake) as bot:
        assert bot.username == "coprod_test_bot"
        assert (await bot.get_me()).is_bot
        sent = await bot.send_message(USER, "Join the patrol?", reply_markup=markup)
        assert (sent.message_id, sent.chat.id, sent.chat.type) == (1, USER, "private")
        assert sent.from_user.username == "coprod_test_bot" and sent.reply_markup == markup
        edited = await sent.edit_text("Joined")
        assert edited.text == "Joined" and edited.reply_markup is None and edited.edit_date is not None
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("Joined", chat_id=USER, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="to edit not found"):
            await bot.edit_message_reply_markup(chat_id=USER, message_id=99, reply_markup=markup)
        assert await bot.send_chat_action(USER, "typing")
        await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
        assert [command.command for command in await bot.get_my_commands()] == ["start", "help"]
        file_id = fake.add_file(b"\xff\xd8jpeg-bytes", "photo.jpg")
        remote = await bot.get_file(file_id)
        assert remote.file_size == 12
        buffer = BytesIO()
        await remote.download_to_memory(buffer)
        assert buffer.getvalue() == b"\xff\xd8jpeg-bytes"
    assert fake.messages_to(USER) == ["Join the patrol?"]
    assert [call["status"] for call in fake.sent(USER, "editMessageText")] == [200, 400]


@pytest.mark.anyio
async def test_photos_and_callback_answers(fake: FakeTelegram) -> None:
    update = fake.push_message(USER, photo_file_ids=["small-id", "big-id"], caption="Broken bench")
    big = update["message"]["photo"][-1]
    assert (big["file_id"], big["width"]) == ("big-id", 1280)
    async with make_bot(fake) as bot:
        assert (await bot.get_file(big["file_id"])).file_path.endswith(".jpg")
        uploaded = await bot.send_photo(USER, b"\xff\xd8new-photo", caption="Thanks!")
        assert uploaded.caption == "Thanks!"
        again = await bot.send_photo(USER, uploaded.photo[-1].file_id)
        assert again.photo[-1].file_id == uploaded.photo[-1].file_id
        query_id = fake.push_callback(USER, uploaded.to_dict(), "ok")["callback_query"]["id"]
        assert await bot.answer_callback_query(query_id, "Noted")
        with pytest.raises(BadRequest, match="too old"):
            await bot.answer_callback_query(query_id)
    assert fake.messages_to(USER) == ["Thanks!", ""]


@pytest.mark.anyio
async def test_long_polling_waits_for_an_update_and_honours_offset(fake: FakeTelegram) -> None:
    async with make_bot(fake) as bot:
        threading.Timer(0.3, fake.push_message, args=(USER, "/start")).start()
        started = time.monotonic()
        updates = await bot.get_updates(timeout=2)
        assert 0.25 < time.monotonic() - started < 1.5
        assert [u.message.text for u in updates] == ["/start"]
        assert updates[0].message.entities[0].type == "bot_command"
        assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet
        assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert fake.pending_updates == []


def test_rate_limit_answers_429_with_retry_after() -> None:
    with FakeTelegram(rate_limits=True) as fake:
        fake.add_user(USER)
        responses = [api(fake, "sendMessage", chat_id=USER, text=f"message {n}") for n in range(5)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
        body = responses[3].json()
        retry_after = body["parameters"]["retry_after"]
        assert isinstance(retry_after, int) and retry_after >= 1
        assert body == {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                        "parameters": {"retry_after": retry_after}}
        assert len(fake.throttled) == 2 and fake.messages_to(USER) == ["message 0", "message 1", "message 2"]


@pytest.mark.anyio
async def test_blocked_user_raises_forbidden(fake: FakeTelegram) -> None:
    fake.block(USER)
    async with make_bot(fake) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "Hello?")
    assert fake.sent(USER)[-1]["status"] == 403


@pytest.mark.anyio
async def test_webhook_posts_updates_with_secret_and_blocks_get_updates(
    fake: FakeTelegram, receiver: Receiver
) -> None:
    async with make_bot(fake) as bot:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret")
        update = fake.push_message(USER, "hello")
        await receiver.wait_posts(1)
        assert receiver.posts == [("s3cret", update)]
        async with httpx.AsyncClient() as client:
            conflict = await client.get(f"{fake.url}/bot{TOKEN}/getUpdates")
        assert conflict.status_code == 409
        assert conflict.json()["description"].startswith("Conflict: can't use getUpdates method while webhook")
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (receiver.url, 0)
        assert await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()


@pytest.mark.anyio
@pytest.mark.parametrize("receiver", [1], indirect=True)
async def test_webhook_retries_a_failed_post(fake: FakeTelegram, receiver: Receiver) -> None:
    async with make_bot(fake) as bot:
        await bot.set_webhook(receiver.url)
        first, second = fake.push_message(USER, "one"), fake.push_message(USER, "two")
        await receiver.wait_posts(3)
    assert [body["update_id"] for _, body in receiver.posts] == [first["update_id"]] * 2 + [second["update_id"]]
    assert receiver.posts[0][0] is None
    assert [d["attempt"] for d in fake.deliveries] == [1, 2, 1]


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        ({"text": ""}, 400, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, 400, "Bad Request: message is too long"),
        ({"text": "hi", "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "%s"}]]}' % ("d" * 65)},
         400, "Bad Request: BUTTON_DATA_INVALID"),
        ({"text": "<b>bold <i>both</b></i>", "parse_mode": "HTML"}, 400,
         'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 15, expected "</i>", found "</b>"'),
        ({"text": "<b>open", "parse_mode": "HTML"}, 400,
         'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
        ({"text": "Done.", "parse_mode": "MarkdownV2"}, 400,
         "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"),
        ({"text": "hi", "chat_id": 999}, 400, "Bad Request: chat not found"),
    ],
)
def test_send_message_validation(fake: FakeTelegram, params: dict[str, Any], status: int, description: str) -> None:
    response = api(fake, "sendMessage", **{"chat_id": USER, **params})
    assert response.status_code == status
    assert response.json() == {"ok": False, "error_code": status, "description": description}


def test_formatting_methods_and_body_encodings(fake: FakeTelegram) -> None:
    html = api(fake, "SENDMESSAGE", chat_id=USER, text="<b>Hi</b> &amp; <i>bye</i>", parse_mode="HTML").json()
    assert html["result"]["text"] == "Hi & bye"
    assert html["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 2},
                                          {"type": "italic", "offset": 5, "length": 3}]
    markdown = httpx.post(f"{fake.url}/bot{TOKEN}/sendMessage",
                          json={"chat_id": USER, "text": "*Done*\\.", "parse_mode": "MarkdownV2"}).json()
    assert (markdown["result"]["text"], markdown["result"]["message_id"]) == ("Done.", 2)
    query = httpx.get(f"{fake.url}/bot{TOKEN}/getMe", params={"unused": "1"}).json()
    assert query["result"]["username"] == "coprod_test_bot"
    assert api(fake, "sendSticker", chat_id=USER).json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert len(fake.sent(USER, "sendMessage")) == 2


@pytest.mark.anyio
async def test_real_application_answers_commands_and_buttons(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
        await update.effective_message.reply_text(f"Welcome {update.effective_user.first_name}", reply_markup=keyboard)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text(f"Chose {update.callback_query.data}")

    app = (ApplicationBuilder().token(TOKEN).base_url(f"{fake.url}/bot")
           .base_file_url(f"{fake.url}/file/bot").build())
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(press))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=1)
        fake.push_message(USER, "/start")
        welcome = await fake.wait_for_async(lambda c: c["method"] == "sendMessage", timeout=2)
        fake.push_callback(USER, welcome["result"], "go")
        edit = await fake.wait_for_async(lambda c: c["method"] == "editMessageText", timeout=2)
        await app.updater.stop()
        await app.stop()
    assert edit["result"]["text"] == "Chose go"
    assert fake.messages_to(USER) == ["Welcome Ana"]
    assert {call["status"] for call in fake.calls} == {200}
    assert fake.pending_updates == []
