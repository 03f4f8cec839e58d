"""A terminal chat with the running assistant, for trying Coprod without Telegram.

Buttons are shown numbered; typing the number presses the button.
"""
from __future__ import annotations

import asyncio
import os
import uuid

from bot.rasa_client import RasaClient, RasaUnavailable
from bot.services.languages import detect


def render(replies: list[dict]) -> list[dict]:
    """Print replies; return the buttons offered, in display order."""
    buttons: list[dict] = []
    for reply in replies:
        if reply.get("text"):
            print(f"bot> {reply['text']}")
        if reply.get("image"):
            print(f"bot> [image] {reply['image']}")
        for button in reply.get("buttons") or []:
            buttons.append(button)
            print(f"     [{len(buttons)}] {button.get('title')}")
    return buttons


async def chat(rasa_url: str, sender_id: str | None = None) -> None:
    sender = sender_id or f"local-{uuid.uuid4().hex[:8]}"
    client = RasaClient(rasa_url)
    print(f"Chatting with {rasa_url} as {sender}. Empty line or Ctrl-D to quit.")
    buttons: list[dict] = []
    try:
        text = "/greet"
        while True:
            try:
                # The terminal's locale (LANG) stands in for Telegram's app language.
                language = detect(text, os.environ.get("LANG"))
                replies = await client.send(sender, text, {"coprod": {"language": language}} if language else None)
            except RasaUnavailable as exc:
                print(f"(the assistant is not reachable yet: {exc}; is `make run` running?)")
                replies = []
            buttons = render(replies) or buttons
            try:
                typed = (await asyncio.to_thread(input, "you> ")).strip()
            except EOFError:
                break
            if not typed:
                break
            if typed.isdigit() and 1 <= int(typed) <= len(buttons):
                text = buttons[int(typed) - 1]["payload"]
            else:
                text = typed
    finally:
        await client.close()
