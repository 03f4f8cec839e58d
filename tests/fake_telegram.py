"""A fake Telegram Bot API server for tests and benchmarks.

It speaks the Bot API over HTTP on 127.0.0.1, so a real python-telegram-bot
``Application`` works against it unchanged::

    with FakeTelegram() as fake:
        app = (ApplicationBuilder().token("123:TEST").base_url(f"{fake.url}/bot")
               .base_file_url(f"{fake.url}/file/bot").build())
        fake.push_message(42, "/start")
        fake.wait_for(lambda call: call["method"] == "sendMessage")

The server runs on its own event loop in a background thread; every helper is
thread-safe and may be called from test code. Deliberate differences from
Telegram: webhooks may use plain ``http://`` URLs, and photo URLs given to
sendPhoto are not fetched (a placeholder image is stored instead).
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import math
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
Files = dict[str, tuple[str, bytes]]
Call = dict[str, Any]

# Methods whose calls are rate limited (when enabled) and counted as sends.
RATE_LIMITED = frozenset({"sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup"})
# Methods that act on a chat; `sent()` lists these.
CHAT_METHODS = RATE_LIMITED | {"sendChatAction", "answerCallbackQuery"}

_FREE_TEXT = frozenset({"text", "caption", "url", "secret_token", "description", "data", "callback_query_id"})
_INT_FIELDS = frozenset({
    "chat_id", "message_id", "offset", "limit", "timeout", "user_id", "reply_to_message_id",
    "message_thread_id", "cache_time", "max_connections", "from_chat_id",
})
_BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
})
_CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
_PHOTO_LADDER = [(90, 67), (320, 240), (800, 600), (1280, 960)]
_FOLDERS = {"jpg": "photos", "jpeg": "photos", "png": "photos", "webp": "stickers", "oga": "voice", "ogg": "voice"}
_PLACEHOLDERS = {
    "photos": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00fake-jpeg\xff\xd9",
    "stickers": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "voice": b"OggS\x00\x02fake-voice",
    "documents": b"%PDF-1.4\n% fake document\n",
}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer of the Bot API: its HTTP status equals `error_code`."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The JSON body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte(text: str, index: int) -> int:
    return len(text[:index].encode())


# --------------------------------------------------------------------------- formatting

class _Builder:
    """Plain text plus entities, offsets counted in UTF-16 units."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[JSON] = []

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.pos += _u16(text)

    def entity(self, start: int, **fields: Any) -> None:
        if self.pos > start:
            self.entities.append({**fields, "offset": start, "length": self.pos - start})

    def result(self) -> tuple[str, list[JSON]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def _parse_error(message: str) -> ApiError:
    return _bad(f"can't parse entities: {message}")


_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "span": "spoiler",
    "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ESCAPES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_HTML_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    stack: list[tuple[str, int, JSON | None]] = []  # tag, start, entity (None: merged into <pre>)
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            end = text.find(">", i)
            if end < 0:
                raise _parse_error(f"Unclosed start tag at byte offset {_byte(text, i)}")
            inner = text[i + 1:end]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise _parse_error(f"Unexpected end tag at byte offset {_byte(text, i)}")
                open_name, start, entity = stack.pop()
                if name != open_name:
                    raise _parse_error(f'Unmatched end tag at byte offset {_byte(text, i)}, '
                                       f'expected "</{open_name}>", found "</{name}>"')
                if entity is not None:
                    out.entity(start, **entity)
            else:
                name, _, rest = inner.strip().partition(" ")
                name = name.lower()
                if name not in _HTML_TAGS:
                    raise _parse_error(f'Unsupported start tag "{name}" at byte offset {_byte(text, i)}')
                attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in _HTML_ATTR.findall(rest)}
                stack.append((name, out.pos, _html_entity(name, attrs, rest, stack, text, i)))
            i = end + 1
        elif ch == "&" and (match := _HTML_ENTITY.match(text, i)) and (decoded := _html_unescape(match[1])):
            out.emit(decoded)
            i = match.end()
        else:
            out.emit(ch)
            i += 1
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_entity(
    name: str, attrs: dict[str, str], rest: str, stack: list[tuple[str, int, JSON | None]], text: str, i: int
) -> JSON | None:
    kind = _HTML_TAGS[name]
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte(text, i)}')
    if name == "a":
        return {"type": kind, "url": attrs["href"]} if attrs.get("href") else None
    if name == "tg-emoji":
        if "emoji-id" not in attrs:
            raise _parse_error(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte(text, i)}')
        return {"type": kind, "custom_emoji_id": attrs["emoji-id"]}
    if name == "blockquote" and "expandable" in rest.split():
        return {"type": "expandable_blockquote"}
    if name == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        pre = stack[-1][2]
        if language.startswith("language-") and pre is not None:
            pre["language"] = language[len("language-"):]
        return None
    return {"type": kind}


def _html_unescape(name: str) -> str:
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _HTML_ESCAPES.get(name.lower(), "")


_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_TOKENS = {
    "*": ("bold", "Bold"), "_": ("italic", "Italic"), "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"), "||": ("spoiler", "Spoiler"),
    "[": ("text_link", "TextUrl"), "![": ("custom_emoji", "CustomEmoji"),
}


def _reserved(ch: str) -> ApiError:
    return _parse_error(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")


def _read_until(text: str, start: int, delimiter: str) -> tuple[str, int]:
    """Read escaped content up to `delimiter`; returns it and the delimiter's index (-1: missing)."""
    chars: list[str] = []
    k = start
    while k < len(text) and not text.startswith(delimiter, k):
        if text[k] == "\\" and k + 1 < len(text):
            chars.append(text[k + 1])
            k += 2
        else:
            chars.append(text[k])
            k += 1
    return "".join(chars), (k if k < len(text) else -1)


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # token, start, byte offset
    quote: int | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 < len(text) and 0 < ord(text[i + 1]) < 127:
                out.emit(text[i + 1])
                i += 2
                continue
            raise _reserved("\\")
        if ch == "\n" and quote is not None and not text.startswith(">", i + 1):
            out.entity(quote, type="blockquote")
            quote = None
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            quote = out.pos if quote is None else quote
            i += 1
            continue
        if ch == "`":
            i = _md2_code(text, i, out)
            continue
        if ch == "]" and stack and stack[-1][0] in ("[", "!["):
            i = _md2_link(text, i, stack.pop(), out)
            continue
        token = next((t for t in ("![", "__", "||", "*", "_", "~", "[") if text.startswith(t, i)), None)
        if token is None:
            if ch in _MD2_RESERVED:
                raise _reserved(ch)
            out.emit(ch)
            i += 1
            continue
        if token in ("[", "!["):
            stack.append((token, out.pos, _byte(text, i)))
        elif any(open_token == token for open_token, _, _ in stack):
            open_token, start, byte = stack[-1]
            if open_token != token:
                raise _parse_error(f"Can't find end of {_MD2_TOKENS[open_token][1]} entity at byte offset {byte}")
            stack.pop()
            out.entity(start, type=_MD2_TOKENS[token][0])
        else:
            stack.append((token, out.pos, _byte(text, i)))
        i += len(token)
    if stack:
        token, _, byte = stack[-1]
        raise _parse_error(f"Can't find end of {_MD2_TOKENS[token][1]} entity at byte offset {byte}")
    if quote is not None:
        out.entity(quote, type="blockquote")
    return out.result()


def _md2_code(text: str, i: int, out: _Builder) -> int:
    """Parse `code` or ```pre``` at `i`; returns the index after it."""
    fence = text.startswith("```", i)
    delimiter = "```" if fence else "`"
    start = i + len(delimiter)
    language = ""
    if fence:
        newline = text.find("\n", start)
        first_line = text[start:newline] if newline >= 0 else ""
        if newline >= 0 and not any(c.isspace() for c in first_line) and "`" not in first_line:
            language, start = first_line, newline + 1
    content, end = _read_until(text, start, delimiter)
    if end < 0:
        raise _parse_error(f"Can't find end of {'Pre' if fence else 'Code'} entity at byte offset {_byte(text, i)}")
    begin = out.pos
    out.emit(content)
    if fence:
        out.entity(begin, type="pre", **({"language": language} if language else {}))
    else:
        out.entity(begin, type="code")
    return end + len(delimiter)


def _md2_link(text: str, i: int, opened: tuple[str, int, int], out: _Builder) -> int:
    """Close a [text](url) or ![emoji](tg://emoji?id=…) whose `]` is at `i`."""
    token, start, _ = opened
    if not text.startswith("(", i + 1):
        raise _reserved("]")
    url, end = _read_until(text, i + 2, ")")
    if end < 0:
        raise _parse_error(f"Can't find end of a URL at byte offset {_byte(text, i + 1)}")
    if token == "![":
        out.entity(start, type="custom_emoji", custom_emoji_id=url.partition("id=")[2])
    else:
        out.entity(start, type="text_link", url=url)
    return end + 1


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
            out.emit(text[i + 1])
            i += 2
            continue
        if ch not in "*_`[":
            out.emit(ch)
            i += 1
            continue
        missing = _parse_error(f"Can't find end of the entity starting at byte offset {_byte(text, i)}")
        begin = out.pos
        if ch == "[":
            close = text.find("](", i)
            end = text.find(")", close) if close >= 0 else -1
            if end < 0:
                raise missing
            out.emit(text[i + 1:close])
            out.entity(begin, type="text_link", url=text[close + 2:end])
            i = end + 1
            continue
        delimiter = "```" if text.startswith("```", i) else ch
        end = text.find(delimiter, i + len(delimiter))
        if end < 0:
            raise missing
        out.emit(text[i + len(delimiter):end])
        kind = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[delimiter]
        out.entity(begin, type=kind)
        i = end + len(delimiter)
    return out.result()


def parse_entities(text: str, parse_mode: str) -> tuple[str, list[JSON]]:
    """Render `text` like Telegram does: the plain text and its entities, or a 400 ApiError."""
    parsers = {"html": _parse_html, "markdownv2": _parse_markdown_v2, "markdown": _parse_markdown}
    parser = parsers.get(parse_mode.lower())
    if parser is None:
        raise _bad("unsupported parse_mode")
    return parser(text)


def _command_entities(text: str) -> list[JSON]:
    match = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
    return [{"type": "bot_command", "offset": 0, "length": _u16(match[0])}] if match else []


# --------------------------------------------------------------------------- server state

@dataclass
class _Bucket:
    """A token bucket: `capacity` tokens, refilled at `rate` per second."""

    capacity: float
    rate: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 if one is)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Described:
    """A successful result that Telegram answers with a `description` too."""

    result: Any
    description: str


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes = field(repr=False)
    sized: bool = True  # Telegram's file_size is optional ("if known")
    served: int = 0  # bytes a download actually read

    def info(self) -> JSON:
        found = {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_path": self.file_path}
        return {**found, "file_size": len(self.content)} if self.sized else found


def _decode(key: str, value: Any) -> Any:
    """Turn a form value into what Telegram understands: JSON objects/arrays, booleans, integers."""
    if not isinstance(value, str) or key in _FREE_TEXT:
        return value
    text = value.strip()
    if text and text[0] in "{[" and text[-1] in "}]":
        try:
            return json.loads(text)
        except ValueError:
            return value
    if text in ("true", "false"):
        return text == "true"
    if key in _INT_FIELDS and re.fullmatch(r"-?\d+", text):
        return int(text)
    return value


async def _read_params(request: web.Request) -> tuple[JSON, Files]:
    """Parameters from the query string and a JSON, url-encoded or multipart body."""
    raw: JSON = dict(request.query)
    files: Files = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON object")
            raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    with value.file:
                        files[key] = (value.filename, value.file.read())
                else:
                    raw[key] = value
    return {key: _decode(key, value) for key, value in raw.items()}, files


class FakeTelegram:
    """A Bot API server on 127.0.0.1 with helpers to play the users' side."""

    def __init__(
        self,
        *,
        port: int = 0,
        bot_username: str = "coprod_test_bot",
        bot_id: int = 7_000_000_001,
        valid_tokens: Iterable[str] | None = None,
        rate_limits: bool = False,
        per_chat_per_sec: float = 1.0,
        per_chat_burst: int = 3,
        global_per_sec: float = 30.0,
        group_per_min: float = 20.0,
        webhook_attempts: int = 3,
        webhook_retry_delay: float = 0.1,
    ) -> None:
        self.port = port
        self.url = ""
        self.bot_username = bot_username
        self.bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": "Coprod Test Bot", "username": bot_username}
        self.valid_tokens = set(valid_tokens) if valid_tokens is not None else None
        self.rate_limits = rate_limits
        self.per_chat_per_sec = per_chat_per_sec
        self.per_chat_burst = per_chat_burst
        self.global_per_sec = global_per_sec
        self.group_per_min = group_per_min
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay = webhook_retry_delay
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Event | None = None
        self._closing = False
        self._next_update_id = random.randint(100_000, 900_000)
        self._poll_generation = 0
        self._methods: dict[str, tuple[str, Callable[[JSON, Files], Any]]] = {
            name.lower(): (name, handler) for name, handler in {
                "getMe": self._get_me, "sendMessage": self._send_message, "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text, "editMessageReplyMarkup": self._edit_reply_markup,
                "answerCallbackQuery": self._answer_callback_query, "getFile": self._get_file,
                "setMyCommands": self._set_my_commands, "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands, "sendChatAction": self._send_chat_action,
                "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info, "getUpdates": self._get_updates,
            }.items()
        }
        self._clear()

    def _clear(self) -> None:
        """Forget all state but the update id counter and poll generation, so a running poller is unaffected."""
        self.calls: list[Call] = []
        self.throttled: list[Call] = []
        self.deliveries: list[JSON] = []
        self.tokens: set[str] = set()
        self._pending: list[JSON] = []
        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._messages: dict[tuple[int, int], JSON] = {}
        self._message_ids: dict[int, int] = {}
        self._callbacks: dict[str, JSON] = {}
        self._files: dict[str, _File] = {}
        self._paths: dict[str, str] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._buckets: dict[tuple[Any, ...], _Bucket] = {}
        self._webhook: _Webhook | None = None
        self._worker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeTelegram":
        """Serve on a free port (or `port`) in a background thread."""
        self._closing = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-telegram", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop serving; waiting long polls are answered first."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def _shutdown(self) -> None:
        self._closing = True
        with self._lock:
            worker = self._worker
            self._stop_webhook()
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    def _notify(self) -> None:
        """Wake every coroutine waiting for a change (runs on the server loop)."""
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    def _wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._notify)

    async def _wait_change(self, timeout: float | None) -> None:
        assert self._changed is not None
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        token, name = request.match_info["token"], request.match_info["method"]
        entry = self._methods.get(name.lower())
        method = entry[0] if entry else name
        params: JSON = {}
        files: Files = {}
        try:
            params, files = await _read_params(request)
            if self.valid_tokens is not None and token not in self.valid_tokens:
                raise ApiError(401, "Unauthorized")
            if entry is None:
                raise ApiError(404, "Not Found")
            if asyncio.iscoroutinefunction(entry[1]):
                result = await entry[1](params, files)
            else:
                with self._lock:
                    result = entry[1](params, files)
            body: JSON = {"ok": True, "result": result}
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            status = 200
        except ApiError as error:
            body, status = error.body(), error.code
        self._record(token, method, params, files, status, body)
        return web.json_response(body, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        token, path = request.match_info["token"], request.match_info["path"]
        with self._lock:
            stored = self._files.get(self._paths.get(path, ""))
        if stored is None or (self.valid_tokens is not None and token not in self.valid_tokens):
            body = ApiError(404, "Not Found").body()
            self._record(token, "downloadFile", {"file_path": path}, {}, 404, body)
            return web.json_response(body, status=404)
        self._record(token, "downloadFile", {"file_path": path}, {}, 200, {"ok": True, "result": stored.info()})
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        try:
            for start in range(0, len(stored.content), 64 * 1024):  # in chunks, as a server streams a big file
                chunk = stored.content[start : start + 64 * 1024]
                await response.write(chunk)
                stored.served += len(chunk)
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass  # the client stopped reading
        return response

    def _record(self, token: str, method: str, params: JSON, files: Files, status: int, body: JSON) -> None:
        shown = {**params, **{key: {"upload": name, "size": len(data)} for key, (name, data) in files.items()}}
        with self._lock:
            chat_id = params.get("chat_id")
            if method == "answerCallbackQuery":
                chat_id = self._callbacks.get(str(params.get("callback_query_id")), {}).get("chat_id")
            call: Call = {
                "method": method, "params": shown, "status": status, "result": body.get("result"),
                "description": body.get("description"), "chat_id": chat_id, "token": token,
                "time": time.monotonic(),
            }
            self.tokens.add(token)
            self.calls.append(call)
            if status == 429:
                self.throttled.append(call)

    # ------------------------------------------------------------------ updates

    async def _get_updates(self, params: JSON, files: Files) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + max(float(params.get("timeout") or 0), 0.0)
        with self._lock:
            self._poll_generation += 1
            generation = self._poll_generation
        self._notify()
        while True:
            with self._lock:
                if self._webhook is not None:
                    raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                        "use deleteWebhook to delete the webhook first")
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                if offset > 0:
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]
                elif offset < 0:
                    self._pending = self._pending[offset:]
                batch = copy.deepcopy(self._pending[:limit])
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                return batch
            await self._wait_change(remaining)

    def _enqueue(self, body: JSON) -> JSON:
        with self._lock:
            update = {"update_id": self._next_update_id, **copy.deepcopy(body)}
            self._next_update_id += 1
            self._pending.append(update)
        self._wake()
        return copy.deepcopy(update)

    async def _deliver(self, hook: _Webhook) -> None:
        """POST pending updates in order to the webhook, retrying failures a few times."""
        attempt = 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while not self._closing:
                with self._lock:
                    if self._webhook is not hook:
                        return
                    update = copy.deepcopy(self._pending[0]) if self._pending else None
                if update is None:
                    await self._wait_change(None)
                    continue
                attempt += 1
                error = await self._post_update(session, hook, update)
                with self._lock:
                    self.deliveries.append({"update_id": update["update_id"], "attempt": attempt,
                                            "error": error, "time": time.monotonic()})
                    if error is not None:
                        hook.last_error_date, hook.last_error_message = int(time.time()), error
                    done = error is None or attempt >= self.webhook_attempts
                    if done and self._pending and self._pending[0]["update_id"] == update["update_id"]:
                        self._pending.pop(0)
                if done:
                    attempt = 0
                else:
                    await asyncio.sleep(self.webhook_retry_delay * 2 ** (attempt - 1))

    @staticmethod
    async def _post_update(session: aiohttp.ClientSession, hook: _Webhook, update: JSON) -> str | None:
        """One webhook POST; returns the error Telegram would report, or None."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        try:
            async with session.post(hook.url, json=update, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return f"Connection failed: {str(exc) or type(exc).__name__}"

    def _stop_webhook(self) -> None:
        self._webhook = None
        if self._worker is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._worker.cancel)
        self._worker = None

    # ------------------------------------------------------------------ method helpers

    def _chat(self, params: JSON) -> JSON:
        """The target chat of a call: 400 if unknown, 403 if its user blocked the bot."""
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            chat = next((c for c in self._chats.values() if c.get("username") == raw[1:]), None)
        else:
            chat = self._chats.get(raw) if isinstance(raw, int) else None
        if chat is None:
            raise _bad("chat not found")
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    @staticmethod
    def _render(text: Any, parse_mode: Any, entities: Any) -> tuple[str, list[JSON]]:
        if parse_mode:
            return parse_entities(str(text), str(parse_mode))
        return str(text), list(entities or [])

    def _text(self, params: JSON) -> dict[str, Any]:
        """Validated text content of a sendMessage / editMessageText call."""
        text = params.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        plain, entities = self._render(text, params.get("parse_mode"), params.get("entities"))
        if not plain.strip():
            raise _bad("message text is empty")
        if _u16(plain) > 4096:
            raise _bad("message is too long")
        return {"text": plain, **({"entities": entities} if entities else {})}

    @staticmethod
    def _inline_markup(markup: Any) -> JSON | None:
        """The inline keyboard to echo in the Message (other keyboards are accepted, not echoed)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        for button in (button for row in rows for button in row):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
            if not _BUTTON_ACTIONS & button.keys():
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        return copy.deepcopy(markup)

    def _reply_to(self, chat: JSON, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        reply = {**params, **reply} if isinstance(reply, dict) else params
        message_id = reply.get("message_id") or reply.get("reply_to_message_id")
        if not message_id:
            return None
        original = self._messages.get((chat["id"], int(message_id)))
        if original is None and not reply.get("allow_sending_without_reply"):
            raise _bad("message to be replied not found")
        return None if original is None else {k: v for k, v in original.items() if k != "reply_to_message"}

    def _throttle(self, chat_id: int) -> None:
        """Consume one send from the token buckets, or answer 429 with the time until one is free."""
        if not self.rate_limits:
            return
        now = time.monotonic()
        buckets = [self._bucket(("chat", chat_id), self.per_chat_burst, self.per_chat_per_sec, now),
                   self._bucket(("global",), self.global_per_sec, self.global_per_sec, now)]
        if chat_id < 0:
            buckets.append(self._bucket(("group", chat_id), self.group_per_min, self.group_per_min / 60, now))
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        for bucket in buckets:
            bucket.tokens -= 1

    def _bucket(self, key: tuple[Any, ...], capacity: float, rate: float, now: float) -> _Bucket:
        return self._buckets.setdefault(key, _Bucket(capacity, rate, capacity, now))

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _bot_message(self, chat: JSON, content: JSON, markup: JSON | None, reply: JSON | None) -> JSON:
        message: JSON = {"message_id": self._next_message_id(chat["id"]), "from": dict(self.bot_user),
                         "chat": dict(chat), "date": int(time.time())}
        if reply:
            message["reply_to_message"] = reply
        message.update(content)
        if markup:
            message["reply_markup"] = markup
        self._messages[(chat["id"], message["message_id"])] = message
        return copy.deepcopy(message)

    def _editable(self, params: JSON) -> JSON:
        chat = self._chat(params)
        message = self._messages.get((chat["id"], int(params.get("message_id") or 0)))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    def _store_edit(self, old: JSON, new: JSON) -> JSON:
        if {k: v for k, v in new.items() if k != "edit_date"} == {k: v for k, v in old.items() if k != "edit_date"}:
            raise _bad(_NOT_MODIFIED)
        self._throttle(old["chat"]["id"])
        new["edit_date"] = int(time.time())
        self._messages[(old["chat"]["id"], old["message_id"])] = new
        return copy.deepcopy(new)

    def _store_file(self, content: bytes, file_name: str, file_id: str | None = None) -> str:
        ext = file_name.rpartition(".")[2].lower() if "." in file_name else "dat"
        folder = _FOLDERS.get(ext, "documents")
        file_id = file_id or f"{'AgAC' if folder == 'photos' else 'BQAC'}AgQAAxkB{secrets.token_urlsafe(24)}"
        unique = "AQAD" + hashlib.sha1(file_id.encode()).hexdigest()[:12]
        path = f"{folder}/file_{len(self._paths)}.{ext}"
        self._files[file_id] = _File(file_id, unique, path, content)
        self._paths[path] = file_id
        return file_id

    def _ensure_file(self, file_id: str, file_name: str) -> _File:
        """The file behind `file_id`, registering a placeholder when it is unknown."""
        if file_id not in self._files:
            folder = _FOLDERS.get(file_name.rpartition(".")[2].lower(), "documents")
            self._store_file(_PLACEHOLDERS[folder], file_name, file_id)
        return self._files[file_id]

    # ------------------------------------------------------------------ Bot API methods

    def _get_me(self, params: JSON, files: Files) -> JSON:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    def _send_message(self, params: JSON, files: Files) -> JSON:
        chat = self._chat(params)
        content = self._text(params)
        markup = self._inline_markup(params.get("reply_markup"))
        reply = self._reply_to(chat, params)
        self._throttle(chat["id"])
        return self._bot_message(chat, content, markup, reply)

    def _send_photo(self, params: JSON, files: Files) -> JSON:
        chat = self._chat(params)
        photo = params.get("photo")
        upload = files.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            upload = files.get(photo[len("attach://"):])
        if upload is None and not (isinstance(photo, str) and photo):
            raise _bad("there is no photo in the request")
        if upload is None and photo not in self._files and not str(photo).startswith(("http://", "https://")):
            raise _bad("wrong file identifier/HTTP URL specified")
        content: JSON = {}
        if params.get("caption"):
            caption, entities = self._render(
                params["caption"], params.get("parse_mode"), params.get("caption_entities"))
            if _u16(caption) > 1024:
                raise _bad("message caption is too long")
            content = {"caption": caption, **({"caption_entities": entities} if entities else {})}
        markup = self._inline_markup(params.get("reply_markup"))
        reply = self._reply_to(chat, params)
        self._throttle(chat["id"])
        if upload is not None:
            file_id = self._store_file(upload[1], upload[0] or "photo.jpg")
        elif photo in self._files:
            file_id = str(photo)
        else:
            file_id = self._store_file(_PLACEHOLDERS["photos"], "photo.jpg")
        return self._bot_message(chat, {"photo": self.photo_sizes(file_id), **content}, markup, reply)

    def _edit_message_text(self, params: JSON, files: Files) -> JSON:
        old = self._editable(params)
        if "text" not in old:
            raise _bad("there is no text in the message to edit")
        content = self._text(params)
        markup = self._inline_markup(params.get("reply_markup"))
        new = {k: v for k, v in old.items() if k not in ("text", "entities", "reply_markup")}
        new.update(content)
        if markup:
            new["reply_markup"] = markup
        return self._store_edit(old, new)

    def _edit_reply_markup(self, params: JSON, files: Files) -> JSON:
        old = self._editable(params)
        markup = self._inline_markup(params.get("reply_markup"))
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        if markup:
            new["reply_markup"] = markup
        return self._store_edit(old, new)

    def _answer_callback_query(self, params: JSON, files: Files) -> bool:
        query = self._callbacks.get(str(params.get("callback_query_id") or ""))
        if query is None or query["answered"]:
            raise _bad(_QUERY_TOO_OLD)
        query["answered"] = True
        return True

    def _get_file(self, params: JSON, files: Files) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return stored.info()

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSON, files: Files) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, params: JSON, files: Files) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSON, files: Files) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _send_chat_action(self, params: JSON, files: Files) -> bool:
        self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _set_webhook(self, params: JSON, files: Files) -> _Described:
        url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if not url:
            self._stop_webhook()
            return _Described(True, "Webhook was deleted")
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token") or None
        current = self._webhook
        if current is not None and (current.url, current.secret_token) == (url, secret):
            return _Described(True, "Webhook is already set")
        self._stop_webhook()
        allowed = params.get("allowed_updates")
        self._webhook = _Webhook(url, secret, int(params.get("max_connections") or 40),
                                 allowed if isinstance(allowed, list) else None)
        self._worker = asyncio.get_running_loop().create_task(self._deliver(self._webhook))
        self._wake()
        return _Described(True, "Webhook was set")

    def _delete_webhook(self, params: JSON, files: Files) -> _Described:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if self._webhook is None:
            return _Described(True, "Webhook is already deleted")
        self._stop_webhook()
        self._wake()
        return _Described(True, "Webhook was deleted")

    def _get_webhook_info(self, params: JSON, files: Files) -> JSON:
        hook = self._webhook
        info: JSON = {"url": hook.url if hook else "", "has_custom_certificate": False,
                      "pending_update_count": len(self._pending)}
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
        return info

    # ------------------------------------------------------------------ test helpers: the users' side

    def add_user(self, user_id: int, first_name: str = "Ana", language_code: str = "en",
                 username: str | None = None) -> JSON:
        """Register a Telegram user who has started the bot (their private chat becomes known)."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            user["username"] = chat["username"] = username
        with self._lock:
            self._users[user_id] = user
            self._chats[user_id] = chat
        return dict(user)

    def _user(self, user_id: int) -> JSON:
        with self._lock:
            return dict(self._users.get(user_id) or self.add_user(user_id))

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to their chat answer 403."""
        with self._lock:
            self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        """The user unblocks the bot."""
        with self._lock:
            self._blocked.discard(user_id)

    def add_file(self, content: bytes, file_name: str = "photo.jpg", sized: bool = True) -> str:
        """Store a file the bot can getFile and download; returns its file_id. `sized=False`:
        getFile does not say the size, as Telegram may not."""
        with self._lock:
            file_id = self._store_file(content, file_name)
            self._files[file_id].sized = sized
            return file_id

    def served(self, file_id: str) -> int:
        """How many bytes of a file downloads have read."""
        with self._lock:
            return self._files[file_id].served

    def photo_sizes(self, *file_ids: str) -> list[JSON]:
        """PhotoSize array, smallest first (e.g. `photo_sizes(small_id, big_id)`); unknown ids get placeholders."""
        sizes = []
        with self._lock:
            for index, file_id in enumerate(file_ids):
                step = round(index * 3 / (len(file_ids) - 1)) if len(file_ids) > 1 else 3
                width, height = _PHOTO_LADDER[step]
                stored = self._ensure_file(file_id, "photo.jpg")
                sizes.append({"file_id": file_id, "file_unique_id": stored.file_unique_id,
                              "file_size": len(stored.content), "width": width, "height": height})
        return sizes

    def push_message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        photo_file_ids: list[str] | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        location: tuple[float, float] | None = None,
        venue: tuple[float, float, str, str] | None = None,
        document: tuple[str, str, str] | None = None,
        sticker: bool = False,
        voice: bool = False,
        entities: list[JSON] | None = None,
    ) -> JSON:
        """A user sends a message; returns the queued update.

        `venue` is (latitude, longitude, title, address); `document` is (file_id, mime_type, file_name).
        Group messages need `chat_id` (negative) and `chat_type` "group" or "supergroup".
        """
        user = self._user(user_id)
        with self._lock:
            if chat_type == "private":
                chat = dict(self._chats[user_id])
            elif chat_id is None:
                raise ValueError("group messages need a chat_id")
            else:
                chat = {"id": chat_id, "type": chat_type, "title": "Test group"}
                self._chats[chat_id] = chat
            message: JSON = {"message_id": self._next_message_id(chat["id"]), "from": user, "chat": chat,
                             "date": int(time.time())}
            if text is not None:
                message["text"] = text
                if entities or _command_entities(text):
                    message["entities"] = entities or _command_entities(text)
            if photo_file_ids:
                message["photo"] = self.photo_sizes(*photo_file_ids)
            if caption is not None:
                message["caption"] = caption
            if media_group_id is not None:
                message["media_group_id"] = str(media_group_id)
            if location is not None:
                message["location"] = {"latitude": location[0], "longitude": location[1]}
            if venue is not None:
                place = {"latitude": venue[0], "longitude": venue[1]}
                message.update(location=place, venue={"location": place, "title": venue[2], "address": venue[3]})
            if document is not None:
                stored = self._ensure_file(document[0], document[2])
                message["document"] = {"file_id": document[0], "file_unique_id": stored.file_unique_id,
                                       "mime_type": document[1], "file_name": document[2],
                                       "file_size": len(stored.content)}
            if sticker:
                stored = self._files[self._store_file(_PLACEHOLDERS["stickers"], "sticker.webp")]
                message["sticker"] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                      "type": "regular", "width": 512, "height": 512, "is_animated": False,
                                      "is_video": False, "emoji": "👍", "file_size": len(stored.content)}
            if voice:
                stored = self._files[self._store_file(_PLACEHOLDERS["voice"], "voice.oga")]
                message["voice"] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                    "duration": 3, "mime_type": "audio/ogg", "file_size": len(stored.content)}
            self._messages[(chat["id"], message["message_id"])] = message
            return self._enqueue({"message": message})

    def push_callback(self, user_id: int, message: JSON, data: str) -> JSON:
        """The user presses an inline button of `message` (a message the bot sent); returns the update."""
        user = self._user(user_id)
        with self._lock:
            chat_id = message["chat"]["id"]
            current = self._messages.get((chat_id, message["message_id"]), message)
            query_id = str(random.getrandbits(62))
            self._callbacks[query_id] = {"chat_id": chat_id, "answered": False}
            chat_instance = str(int(hashlib.sha1(str(chat_id).encode()).hexdigest()[:15], 16))
            return self._enqueue({"callback_query": {"id": query_id, "from": user, "message": current,
                                                     "chat_instance": chat_instance, "data": data}})

    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update as given (an `update_id` is kept, e.g. to replay duplicates)."""
        with self._lock:
            if "update_id" not in update:
                return self._enqueue(update)
            update = copy.deepcopy(update)
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            self._pending.append(update)
        self._wake()
        return copy.deepcopy(update)

    def learn(self, update: JSON) -> JSON:
        """Take in an update that a test hands to the bot itself (`Application.process_update`)
        instead of through getUpdates or the webhook, as if this server had delivered it: its
        users and chats become known, each new message gets the next message id of its chat
        (so replies quoting it find it) and its callback query can be answered once.
        Returns the update as delivered; nothing is queued."""
        update = copy.deepcopy(update)
        with self._lock:
            for kind, value in update.items():
                if not isinstance(value, dict):
                    continue
                for role in ("from", "user"):
                    user = value.get(role)
                    if isinstance(user, dict) and "id" in user and not user.get("is_bot"):
                        self._users.setdefault(user["id"], dict(user))
                        self._chats.setdefault(user["id"], {"id": user["id"], "type": "private",
                                                            "first_name": user.get("first_name", "")})
                chat = value.get("chat")
                if isinstance(chat, dict) and "id" in chat:
                    self._chats.setdefault(chat["id"], dict(chat))
                if kind in ("message", "channel_post", "business_message") and isinstance(chat, dict):
                    value["message_id"] = self._next_message_id(chat["id"])
                    self._messages[(chat["id"], value["message_id"])] = copy.deepcopy(value)
            query = update.get("callback_query")
            if isinstance(query, dict):
                message = query.get("message") or {}
                chat_id = (message.get("chat") or {}).get("id", (query.get("from") or {}).get("id"))
                self._callbacks[str(query.get("id"))] = {"chat_id": chat_id, "answered": False}
        return copy.deepcopy(update)

    # ------------------------------------------------------------------ test helpers: inspection

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by getUpdates nor delivered to the webhook."""
        with self._lock:
            return copy.deepcopy(self._pending)

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        """Recorded chat calls (sends, edits, chat actions, callback answers), failed ones included."""
        with self._lock:
            return [call for call in self.calls if call["method"] in CHAT_METHODS
                    and (chat_id is None or call["chat_id"] == chat_id)
                    and (method is None or call["method"].lower() == method.lower())]

    def messages_to(self, chat_id: int) -> list[str]:
        """Texts (or photo captions) of the messages the bot sent to `chat_id`, in order."""
        return [call["result"].get("text", call["result"].get("caption", "")) for call in self.sent(chat_id)
                if call["status"] == 200 and call["method"] in ("sendMessage", "sendPhoto")]

    def _find(self, predicate: Callable[[Call], bool], start: int) -> Call | None:
        with self._lock:
            snapshot = list(self.calls[start:])
        return next((call for call in snapshot if predicate(call)), None)

    def _timed_out(self, timeout: float) -> AssertionError:
        with self._lock:
            recent = self.calls[-20:]
        lines = [f"  {call['status']} {call['method']} chat={call['chat_id']} "
                 f"{json.dumps(call['params'], ensure_ascii=False)[:300]}" for call in recent]
        return AssertionError(f"no matching call within {timeout}s; last calls:\n" + "\n".join(lines or ["  (none)"]))

    def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 10.0, start: int = 0) -> Call:
        """Block until a recorded call (from index `start`) matches; AssertionError with recent calls otherwise."""
        deadline = time.monotonic() + timeout
        while (call := self._find(predicate, start)) is None:
            if time.monotonic() >= deadline:
                raise self._timed_out(timeout)
            time.sleep(0.02)
        return call

    async def wait_for_async(self, predicate: Callable[[Call], bool], timeout: float = 10.0, start: int = 0) -> Call:
        """`wait_for` for async tests whose event loop also runs the bot."""
        deadline = time.monotonic() + timeout
        while (call := self._find(predicate, start)) is None:
            if time.monotonic() >= deadline:
                raise self._timed_out(timeout)
            await asyncio.sleep(0.02)
        return call

    def set_global_rate(self, per_second: float) -> None:
        """Change the overall sending limit (a 429 storm when lowered); buckets restart full."""
        with self._lock:
            self.global_per_sec = per_second
            self._buckets.pop(("global",), None)

    def reset(self) -> None:
        """Forget calls, users, chats, messages, files, webhook and limits; update ids keep increasing."""
        with self._lock:
            self._stop_webhook()
            self._clear()
        self._wake()
