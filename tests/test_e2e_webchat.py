"""The web chat against the real Rasa server and action server, over its real socket:
consent with buttons, a report with an uploaded photo and the browser's location,
history after a reload, nothing answered twice, hostile input refused politely."""
from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatusCode

from bot.config import load_settings
from bot.db import Database
from bot.models import Citizen, Contribution, InboxMessage
from bot.services.messaging import webchat
from bot.web.app import create_app
from tests.processes import Assistant, served

pytestmark = pytest.mark.e2e
PHOTO = (Path(__file__).parent / "data" / "bins.jpg").read_bytes()


@pytest.fixture
def site(assistant: Assistant, tmp_path: Path) -> Iterator[str]:
    settings = load_settings({
        "DATABASE_URL": assistant.env["DATABASE_URL"], "MEDIA_DIR": assistant.env["MEDIA_DIR"],
        "RASA_URL": assistant.rasa_url, "COPROD_VAR_DIR": str(tmp_path), "DASHBOARD_SECRET": "web-chat-test",
    })
    with served(create_app(settings)) as url:
        yield url


class Visitor:
    """A browser: its cookie jar, and one open socket at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url)
        page = self.http.get("/chat", headers={"accept-language": "fr-FR,fr;q=0.9"})
        assert page.status_code == 200
        self.page = page.text
        self.csrf = re.search(r'name="chat-csrf" content="([^"]+)"', page.text).group(1)
        self.cookie = f"coprod_chat={self.http.cookies['coprod_chat']}"
        self.seen: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.socket: Any = None
        self.mark = 0  # events before this came before the last thing sent

    async def connect(self, last_seen: int = 0, origin: str | None = None) -> None:
        self.socket = await websockets.connect(
            self.url.replace("http", "ws") + "/chat/socket",
            extra_headers={"Cookie": self.cookie, "Origin": origin or self.url},
        )
        await self.send({"type": "hello", "last_seen": last_seen, "language": "fr-FR"})

    async def send(self, event: dict[str, Any]) -> str:
        self.mark = len(self.events)
        event.setdefault("id", str(uuid.uuid4()))
        await self.socket.send(json.dumps(event))
        return event["id"]

    async def until(self, found: Any, timeout: float = 60) -> dict[str, Any]:
        """The first event since the last send that satisfies `found`, reading more as needed."""
        for event in self.events[self.mark:]:
            if found(event):
                return event

        async def read() -> dict[str, Any]:
            while True:
                event = json.loads(await self.socket.recv())
                self.events.append(event)
                if event["type"] == "message":
                    self.seen[event["id"]] = event
                if found(event):
                    return event
        try:
            return await asyncio.wait_for(read(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"not seen in {timeout} s; the last events: {self.events[-6:]}") from None

    async def reply(self, contains: str) -> dict[str, Any]:
        return await self.until(lambda e: e["type"] == "message" and e["role"] == "bot" and contains in e["text"])

    async def press(self, title: str) -> None:
        buttons = {b["title"]: b["token"] for m in self.seen.values() for b in m["buttons"]}
        await self.send({"type": "press", "token": buttons[title]})


def test_a_resident_with_only_a_browser_consents_reports_with_a_photo_and_location_and_finds_it_all_after_a_reload(
    site: str, assistant: Assistant
) -> None:
    visitor = Visitor(site)
    assert 'lang="fr"' in visitor.page  # the browser's language, before anything is stored

    async def conversation() -> str:
        await visitor.connect()
        language = await visitor.until(lambda e: e["type"] == "language")
        assert language["language"] == "fr" and language["strings"]["send"] == "Envoyer"
        hello = await visitor.send({"type": "text", "text": "bonjour"})
        await visitor.until(lambda e: e == {"type": "ack", "id": hello})
        await visitor.until(lambda e: e["type"] == "message" and e["role"] == "citizen" and e["text"] == "bonjour")
        notice = await visitor.until(lambda e: e["type"] == "message" and e["role"] == "bot" and e["buttons"])
        await visitor.press(notice["buttons"][0]["title"])  # j'accepte
        await visitor.until(lambda e: e["type"] == "message" and e["role"] == "bot" and len(e["buttons"]) >= 3)
        await visitor.press("Riverside")
        await visitor.reply("Riverside")

        upload = httpx.post(
            f"{site}/chat/upload", headers={"Cookie": visitor.cookie, "X-Chat-CSRF": visitor.csrf},
            data={"id": str(uuid.uuid4()), "caption": "le lampadaire est cassé"},
            files=[("photo", ("lampe.jpg", PHOTO, "image/jpeg"))],
        )
        assert upload.status_code == 202, upload.text
        await visitor.until(lambda e: e["type"] == "message" and e["role"] == "citizen" and "📷" in e["text"])
        where = await visitor.until(lambda e: e["type"] == "message" and e["role"] == "bot" and "?" in e["text"])
        assert where["text"]
        await visitor.send({"type": "location", "latitude": 35.9311, "longitude": 0.0892})
        await visitor.until(lambda e: e["type"] == "message" and e["role"] == "citizen" and "📍" in e["text"])
        summary = await visitor.until(lambda e: e["type"] == "message" and e["role"] == "bot" and e["buttons"])
        await visitor.press(summary["buttons"][0]["title"])  # send it
        await visitor.reply("R-")
        await visitor.socket.close()

        # A reload: the whole conversation comes back once, in order.
        before = sorted(visitor.seen)
        visitor.seen.clear()
        await visitor.connect()
        await visitor.until(lambda e: e["type"] == "message" and e["id"] == before[-1])
        assert sorted(visitor.seen) == before

        # The same message sent twice (a retry after a drop) is stored and answered once.
        again = str(uuid.uuid4())
        for _ in range(2):
            await visitor.send({"id": again, "type": "text", "text": "merci"})
        await visitor.until(lambda e: e["type"] == "message" and e["role"] == "citizen" and e["text"] == "merci")
        await asyncio.sleep(3)
        await visitor.socket.close()
        return again

    again = asyncio.run(conversation())
    db = Database(assistant.env["DATABASE_URL"])
    with db.session() as session:
        citizen = session.query(Citizen).filter(Citizen.sender_id.like("web-%")).order_by(Citizen.id.desc()).first()
        assert (citizen.channel, citizen.address, citizen.language) == ("web", citizen.sender_id, "fr")
        echoes = [e for e in visitor.events if e["type"] == "message" and e["text"] == "merci"]
        assert len({e["id"] for e in echoes}) == 1
        me = webchat.find_visitor(session, visitor.cookie.split("=", 1)[1])
        assert me.sender_id == citizen.sender_id
        assert session.query(InboxMessage).filter(InboxMessage.update_key == f"web:{me.id}:{again}").count() == 1
        reports = session.query(Contribution).filter_by(citizen_id=citizen.id).all()
        assert reports and reports[-1].photos and reports[-1].category == "lighting"
    db.dispose()


def test_hostile_requests_get_a_clear_refusal_and_store_nothing(site: str) -> None:
    visitor = Visitor(site)
    headers = {"Cookie": visitor.cookie, "X-Chat-CSRF": visitor.csrf}
    forged = httpx.post(f"{site}/chat/upload", headers={"Cookie": visitor.cookie},
                        data={"id": str(uuid.uuid4())}, files=[("photo", ("a.jpg", PHOTO, "image/jpeg"))])
    assert forged.status_code == 403
    not_a_photo = httpx.post(f"{site}/chat/upload", headers=headers, data={"id": str(uuid.uuid4())},
                             files=[("photo", ("a.jpg", b"#!/bin/sh\nrm -rf /", "image/jpeg"))])
    assert not_a_photo.status_code == 415 and "JPEG" in not_a_photo.json()["error"]
    too_many = httpx.post(f"{site}/chat/upload", headers=headers, data={"id": str(uuid.uuid4())},
                          files=[("photo", (f"{n}.jpg", PHOTO, "image/jpeg")) for n in range(6)])
    assert too_many.status_code == 413
    bad_push = httpx.post(f"{site}/chat/push", headers=headers,
                          json={"endpoint": "http://127.0.0.1:5005/webhooks/rest/webhook", "keys": {"p256dh": "x", "auth": "y"}})
    assert bad_push.status_code == 400  # a subscription may only point at a browser's push service
    assert httpx.get(f"{site}/chat/static/../../config.py").status_code == 404
    assert httpx.get(f"{site}/chat/media/..%2F..%2Fcoprod.db", headers={"Cookie": visitor.cookie}).status_code == 404

    async def sockets() -> None:
        with pytest.raises(InvalidStatusCode):
            await visitor.connect(origin="https://evil.example")
        with pytest.raises(InvalidStatusCode):  # no cookie: no conversation
            await websockets.connect(site.replace("http", "ws") + "/chat/socket", extra_headers={"Origin": site})
        await visitor.connect()
        for junk in ("not json", json.dumps([1, 2]), json.dumps({"type": "text", "id": "../../x", "text": "hi"}),
                     json.dumps({"type": "press", "id": str(uuid.uuid4()), "token": "forged-token"}),
                     json.dumps({"type": "location", "id": str(uuid.uuid4()), "latitude": 999, "longitude": 0}),
                     "x" * 100_000):
            await visitor.socket.send(junk)
        notice = await visitor.until(lambda e: e["type"] == "notice")
        assert notice["text"]  # the forged button: "that option has expired", then what can be done
        await visitor.reply("")
        await visitor.socket.close()

    asyncio.run(sockets())
