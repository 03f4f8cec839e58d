"""The web chat's routes, mounted at /chat by the dashboard's app.

- `GET /chat`: the chat, full screen (`?embed=1` inside the widget's frame);
- `GET /chat/widget.js`: the one `<script>` a city's page adds for a launcher;
- `WS /chat/socket`: lines both ways, as JSON events (see static/chat.js);
- `POST /chat/upload`: photos (checked by size and by content, not by name);
- `POST /chat/push`: a browser's Web Push subscription;
- `GET /chat/media/…`: photos of broadcasts.

The identity is a random secret in an HttpOnly cookie scoped to /chat; forms
carry a token derived from it (CSRF), and the socket only accepts pages of
this site (or WEBCHAT_ORIGINS).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
from pathlib import Path
from typing import Any

from limits import parse
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.background import spawn
from bot.commands import START_REPORT, typed
from bot.config import Settings
from bot.counters import counter_storage
from bot.db import Database
from bot.i18n import channel_text, webchat_strings
from bot.inbound import Timing
from bot.rasa_client import RasaClient
from bot.services import citizens, languages
from bot.services.contributions import image_kind, inside_media, new_media_path
from bot.services.inbox import Incoming
from bot.services.messaging import webchat
from bot.web import language as lang
from bot.webchat.hub import Hub
from bot.webchat.inbound import WebInbound, language_event
from bot.webchat.push import WebPush

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
COOKIE = "coprod_chat"
COOKIE_YEARS = 2
CLIENT_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
MAX_PHOTOS = 5
MAX_EVENT = 16 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
EVENTS_PER_VISITOR = parse("60/minute")
SOCKETS_PER_ADDRESS = parse("30/minute")
VISITORS_PER_ADDRESS = parse("30/hour")
UPLOADS_PER_VISITOR = parse("12/minute")
UPLOADS_PER_ADDRESS = parse("30/minute")
MAX_SUBSCRIPTION = 4096


class WebChat:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.hub = Hub(db)
        self.inbound = WebInbound(
            settings, db, RasaClient(settings.rasa_url), self.hub,
            Timing(retry_interval=settings.inbox_retry_seconds, max_backoff=settings.inbox_max_backoff_seconds),
        )
        self.vapid_key = WebPush(settings.webpush_private_key, settings.webpush_contact).public_key if settings.webpush_private_key else ""
        self._limits_storage = counter_storage(settings.redis_url)
        self._limits = MovingWindowRateLimiter(self._limits_storage)
        self._retrying: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.hub.start()
        self._retrying = asyncio.create_task(self.inbound.retry_forever())

    async def stop(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
        for task in list(self._handling):
            task.cancel()
        await self.hub.stop()
        await self.inbound.close()

    def routes(self) -> list[Any]:
        return [
            Route("/chat", self.page),
            Route("/chat/widget.js", self.static_file("widget.js")),
            Route("/chat/sw.js", self.static_file("sw.js", {"Service-Worker-Allowed": "/chat/"})),
            Route("/chat/static/{name:str}", self.static),
            Route("/chat/media/{name:str}", self.media),
            Route("/chat/upload", self.upload, methods=["POST"]),
            Route("/chat/push", self.subscribe, methods=["POST"]),
            WebSocketRoute("/chat/socket", self.socket),
        ]

    # pages ----------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        secret = request.cookies.get(COOKIE)
        visitor = await asyncio.to_thread(self._visitor, secret) if secret else None
        fresh = visitor is None
        if fresh:
            secret = secrets.token_urlsafe(32)
        language = (visitor or {}).get("language") or lang.base(request.query_params.get("lang")) or \
            lang.from_accept_language(request.headers.get("accept-language"))
        nonce = secrets.token_urlsafe(16)
        response = self.templates.TemplateResponse(request, "chat.html", {
            "language": language, "direction": "rtl" if language in lang.RIGHT_TO_LEFT else "ltr",
            "strings": webchat_strings(language), "csrf": csrf_for(secret), "vapid_key": self.vapid_key,
            "embed": request.query_params.get("embed") == "1", "static": "/chat/static", "nonce": nonce,
        })
        response.headers["Content-Security-Policy"] = self._policy(nonce)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "same-origin"
        if fresh:
            # Over HTTPS the widget's frame on the city's site is cross-site: the cookie must be
            # SameSite=None (and Partitioned, so it stays in that site's jar). Plain HTTP (local) keeps Lax.
            https = self.settings.dashboard_https_only
            response.set_cookie(
                COOKIE, secret, max_age=COOKIE_YEARS * 365 * 86400, path="/chat", httponly=True,
                secure=https, samesite="none" if https else "lax", partitioned=https,
            )
        return response

    def _policy(self, nonce: str) -> str:
        ancestors = " ".join(["'self'", *self.settings.webchat_origins]) if self.settings.webchat_origins else "*"
        return (f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
                f"img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; "
                f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'")

    def static_file(self, name: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        async def serve(request: Request) -> Response:
            return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=3600", **(headers or {})})
        return serve

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in {"chat.js", "chat.css"}:
            return Response(status_code=404)
        return FileResponse(STATIC / name, headers={"Cache-Control": "public, max-age=3600"})

    async def media(self, request: Request) -> Response:
        """Photos sent with a broadcast (to everyone in its audience), for pages of the chat."""
        if not request.cookies.get(COOKIE):
            return Response(status_code=403)
        name = request.path_params["name"]
        path = inside_media(self.settings.media_dir, f"broadcasts/{name}") if re.fullmatch(r"[\w.-]{1,120}", name) else None
        if path is None or not path.is_file():
            return Response(status_code=404)
        return FileResponse(path, headers={"Cache-Control": "private, max-age=86400"})

    # the socket -----------------------------------------------------------

    def origin_ok(self, socket: WebSocket) -> bool:
        origin = socket.headers.get("origin")
        if not origin:
            return False
        host = socket.headers.get("host", "")
        if origin in (f"http://{host}", f"https://{host}"):
            return True
        return origin in self.settings.webchat_origins

    async def socket(self, socket: WebSocket) -> None:
        address = socket.client.host if socket.client else "?"
        if not self.origin_ok(socket) or not self._limits.hit(SOCKETS_PER_ADDRESS, "socket", address):
            await socket.close(code=1008)
            return
        secret = socket.cookies.get(COOKIE)
        visitor = await asyncio.to_thread(self._visitor, secret, self._may_create(address)) if secret else None
        if visitor is None:
            await socket.close(code=1008)
            return
        await socket.accept()
        visitor_id, sender = visitor["id"], visitor["sender_id"]
        browser: dict[str, str | None] = {"language": None}  # navigator.language, from hello
        self.hub.join(visitor_id, sender, socket)
        try:
            await asyncio.to_thread(self._seen, visitor_id)
            while True:
                raw = await socket.receive_text()
                if not self._limits.hit(EVENTS_PER_VISITOR, "events", sender):
                    # Not acknowledged, so the page keeps it; it sends it again after reconnecting later.
                    text = await asyncio.to_thread(self.inbound.language_of, sender)
                    await socket.send_json({"type": "error", "text": channel_text("slow_down", text)})
                    await socket.close(code=1013)
                    return
                event = _event(raw)
                if event is None:
                    continue
                await self._on_event(socket, visitor_id, sender, event, browser)
        except WebSocketDisconnect:
            pass
        finally:
            await self.hub.leave(visitor_id, sender, socket)

    async def _on_event(
        self, socket: WebSocket, visitor_id: int, sender: str, event: dict[str, Any], browser: dict[str, str | None]
    ) -> None:
        kind = event.get("type")
        if kind == "hello":
            language = event.get("language")
            browser["language"] = language[:20] if isinstance(language, str) else None
            await self._hello(socket, visitor_id, sender, event.get("last_seen"), browser["language"])
            return
        client_id = event.get("id")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            return
        key = f"web:{visitor_id}:{client_id}"
        meta: dict[str, Any] = {"coprod": {"visitor": visitor_id, "app_language": browser["language"]}}
        place = _location(event) if kind == "location" else None
        if kind == "text" and isinstance(event.get("text"), str) and event["text"].strip():
            text = event["text"][: webchat.MAX_TEXT]
            self._handle(Incoming(key, sender, sender, typed(text), meta), text.strip())
        elif kind == "press" and isinstance(event.get("token"), str):
            await self._press(visitor_id, sender, key, event["token"][:40], meta)
        elif place is not None:
            meta["coprod"]["location"] = place
            shown = webchat_strings(await asyncio.to_thread(self.inbound.language_of, sender))["location_shared"]
            self._handle(Incoming(key, sender, sender, START_REPORT, meta), shown)
        else:  # nothing usable in it: sending it again would not help
            await socket.send_json({"type": "ack", "id": client_id})

    async def _hello(
        self, socket: WebSocket, visitor_id: int, sender: str, last_seen: object, app_language: str | None
    ) -> None:
        """The page (re)connected: its language, then every line after `last_seen`."""
        after = last_seen if isinstance(last_seen, int) else 0
        history, language = await asyncio.to_thread(self._history, visitor_id, sender, max(after, 0), app_language)
        self.inbound.told(sender, language)
        await socket.send_json(language_event(language))
        for line in history:
            await socket.send_json(line.as_event())
        if not history and after == 0:  # a first visit: the assistant speaks first (once per visitor)
            meta = {"coprod": {"visitor": visitor_id, "app_language": app_language}}
            self._handle(Incoming(f"web:{visitor_id}:first-visit", sender, sender, "/greet", meta), "")

    async def _press(self, visitor_id: int, sender: str, key: str, token: str, meta: dict[str, Any]) -> None:
        press = await asyncio.to_thread(self.inbound.redeem, sender, token)
        if press.status != "ok":
            await self.hub.send(visitor_id, {"type": "ack", "id": key.rsplit(":", 1)[-1]})
        if press.status == "used":
            await self.hub.send(visitor_id, {"type": "notice", "text": self.inbound.press_notice(press, sender)})
        elif press.status == "ok":
            self._handle(Incoming(key, sender, sender, press.payload, meta), self.inbound.chosen(press.title, sender))
        else:  # expired, or not a token of this visitor: what can be done now
            await self.hub.send(visitor_id, {"type": "notice", "text": channel_text("expired", self.inbound.language_of(sender))})
            self._handle(Incoming(key, sender, sender, "/help", meta), "")

    def _handle(self, incoming: Incoming, shown: str) -> None:
        """Answer in the background, so the socket keeps reading (and acknowledging)."""
        spawn(self.inbound.say(incoming, shown), self._handling, f"web chat message {incoming.update_key}")

    # forms ----------------------------------------------------------------

    def _may_create(self, address: str) -> bool:
        """New visitors per client address are capped, so made-up cookies cannot fill the database."""
        return self._limits.hit(VISITORS_PER_ADDRESS, "visitor", address)

    def _form_visitor(self, request: Request) -> dict[str, Any] | None:
        secret = request.cookies.get(COOKIE)
        sent = request.headers.get("x-chat-csrf", "")
        if not secret or not hmac.compare_digest(csrf_for(secret), sent):
            return None
        address = request.client.host if request.client else "?"
        if not self._limits.hit(UPLOADS_PER_ADDRESS, "form", address):
            return None
        return self._visitor(secret, create=self._may_create(address))

    @property
    def max_upload_bytes(self) -> int:
        """The largest photo upload a page may send: five photos and a few fields."""
        return MAX_PHOTOS * self.settings.max_photo_bytes + 64 * 1024

    async def upload(self, request: Request) -> Response:
        """Photos for a report: each ≤ MAX_PHOTO_BYTES, at most five, JPEG/PNG/WebP by content."""
        visitor = await asyncio.to_thread(self._form_visitor, request)
        if visitor is None:
            return JSONResponse({"error": "forbidden"}, status_code=403)
        language = await asyncio.to_thread(self.inbound.language_of, visitor["sender_id"])
        limit = self.max_upload_bytes
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            return JSONResponse({"error": "length required"}, status_code=411)
        if int(length) > limit:
            return _refused(413, channel_text("too_big", language, megabytes=self.settings.max_photo_bytes // 2**20))
        if not self._limits.hit(UPLOADS_PER_VISITOR, "upload", visitor["sender_id"]):
            return _refused(429, channel_text("slow_down", language))
        form = await request.form(max_files=MAX_PHOTOS + 1, max_fields=10)
        try:
            client_id = str(form.get("id") or "")
            caption = str(form.get("caption") or "")[: webchat.MAX_TEXT]
            files = [item for item in form.getlist("photo") if hasattr(item, "read")]
            if not CLIENT_ID.match(client_id) or not files:
                return JSONResponse({"error": "bad request"}, status_code=400)
            if len(files) > MAX_PHOTOS:
                return _refused(413, channel_text("web_too_many_photos", language, count=MAX_PHOTOS))
            contents = [await item.read(self.settings.max_photo_bytes + 1) for item in files]
        finally:
            await form.close()
        if any(len(data) > self.settings.max_photo_bytes for data in contents):
            return _refused(413, channel_text("too_big", language, megabytes=self.settings.max_photo_bytes // 2**20))
        kinds = [image_kind(data[:12]) for data in contents]
        if any(kind is None or kind[0] not in PHOTO_TYPES for kind in kinds):
            return _refused(415, channel_text("web_photo_types", language))
        sender = visitor["sender_id"]
        consented = await asyncio.to_thread(self._consented, sender)
        refused = self.inbound.photos_refused(sender, len(contents)) if consented else None
        if refused:
            return _refused(503 if refused == "photos_paused" else 429, channel_text(refused, language))
        photos = [await asyncio.to_thread(self._save, data, kind) for data, kind in zip(contents, kinds)] if consented else []  # type: ignore[arg-type]
        meta = {"coprod": {"visitor": visitor["id"], "photos": photos}}
        shown = webchat_strings(language)["sent_photos"].format(n=len(contents)) + (f"\n{caption}" if caption.strip() else "")
        key = f"web:{visitor['id']}:{client_id}"
        self._handle(Incoming(key, sender, sender, typed(caption) or START_REPORT, meta), shown)
        return JSONResponse({"ok": True}, status_code=202)

    def _save(self, data: bytes, kind: tuple[str, str]) -> dict[str, str]:
        relative, target = new_media_path(self.settings.media_dir, kind[1])
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
        return {"path": relative, "mime_type": kind[0]}

    async def subscribe(self, request: Request) -> Response:
        """Keep a browser's push subscription (endpoint and keys), replacing any earlier one."""
        visitor = await asyncio.to_thread(self._form_visitor, request)
        if visitor is None:
            return JSONResponse({"error": "forbidden"}, status_code=403)
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > MAX_SUBSCRIPTION:
            return JSONResponse({"error": "bad subscription"}, status_code=413)
        body = await request.body()
        subscription = _subscription(body, self.settings.webpush_services)
        if subscription is None:
            return JSONResponse({"error": "bad subscription"}, status_code=400)
        await asyncio.to_thread(self._set_push, visitor["id"], subscription)
        return JSONResponse({"ok": True})

    # database -------------------------------------------------------------

    def _visitor(self, secret: str | None, create: bool = False) -> dict[str, Any] | None:
        with self.db.session() as session:
            visitor = webchat.find_visitor(session, secret)
            if visitor is None and create and secret and 30 <= len(secret) <= 100:
                visitor = webchat.adopt(session, secret)
            if visitor is None:
                return None
            stored = citizens.find_citizen(session, visitor.sender_id)
            language = stored.language if stored is not None else visitor.language
            return {"id": visitor.id, "sender_id": visitor.sender_id, "language": language}

    def _history(
        self, visitor_id: int, sender: str, after: int, app_language: str | None
    ) -> tuple[list[webchat.Line], str]:
        with self.db.session() as session:
            visitor = webchat.by_sender(session, sender)
            guessed = languages.from_app(app_language)
            if visitor is not None and visitor.language is None and guessed:
                webchat.set_language(session, visitor_id, guessed)
            language = citizens.language_for(session, sender, (visitor.language if visitor else None) or guessed)
            return webchat.history(session, visitor_id, after), language

    def _seen(self, visitor_id: int) -> None:
        with self.db.session() as session:
            webchat.seen(session, visitor_id)

    def _consented(self, sender: str) -> bool:
        with self.db.session() as session:
            return citizens.find_citizen(session, sender) is not None

    def _set_push(self, visitor_id: int, subscription: dict[str, Any]) -> None:
        with self.db.session() as session:
            webchat.set_push(session, visitor_id, subscription)


def csrf_for(secret: str) -> str:
    """The token forms send back: readable by the page, not by another site."""
    return hashlib.sha256(b"coprod-chat-csrf:" + secret.encode()).hexdigest()[:32]


def _refused(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def _event(raw: str) -> dict[str, Any] | None:
    if len(raw) > MAX_EVENT:
        return None
    try:
        event = json.loads(raw)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _location(event: dict[str, Any]) -> dict[str, float] | None:
    try:
        latitude, longitude = float(event["latitude"]), float(event["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return {"latitude": latitude, "longitude": longitude}


def _subscription(body: bytes, services: list[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
        endpoint, keys = data["endpoint"], data["keys"]
        p256dh, auth = keys["p256dh"], keys["auth"]
    except (ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(value, str) for value in (endpoint, p256dh, auth)):
        return None
    if not endpoint.startswith(tuple(services)) or len(endpoint) > 1000:
        return None
    if len(p256dh) > 200 or len(auth) > 100:
        return None
    return {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
