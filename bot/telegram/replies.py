"""Turn Rasa's replies into as few Telegram messages as possible, buttons included."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_TEXT = 4096
MAX_BUTTONS = 12


@dataclass
class Outgoing:
    """One Telegram message to send: text, optional image and button rows (title, payload)."""

    text: str = ""
    image: str | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def rows(self) -> list[list[tuple[str, str]]]:
        """Lay buttons out like a keypad: short ones share a row, long ones get their own."""
        if not self.buttons:
            return []
        if all(len(title) <= 3 for title, _ in self.buttons):
            return [self.buttons]
        longest = max(len(title) for title, _ in self.buttons)
        per_row = 2 if longest <= 20 else 1
        return [self.buttons[i : i + per_row] for i in range(0, len(self.buttons), per_row)]


def merge(replies: list[dict[str, Any]]) -> list[Outgoing]:
    """Join consecutive replies into one message while text and buttons fit.

    Telegram allows about one message per second per chat; a task list of six
    replies becomes one message with one button per task. Lengths are counted
    as Telegram counts them, in UTF-16 code units (most emoji take two).
    """
    merged: list[Outgoing] = []
    for reply in replies:
        text = str(reply.get("text") or "")
        text = text if text.strip() else ""  # Telegram refuses a blank message
        buttons = [(str(b.get("title", "")), str(b.get("payload", ""))) for b in reply.get("buttons") or []]
        image = reply.get("image")
        current = merged[-1] if merged else None
        fits = (
            current is not None
            and image is None
            and current.image is None
            and units(current.text) + units(text) + 2 <= MAX_TEXT
            and len(current.buttons) + len(buttons) <= MAX_BUTTONS
        )
        if fits and current is not None:
            current.text = f"{current.text}\n\n{text}" if current.text and text else current.text or text
            current.buttons += buttons
        else:
            for piece in pieces(text):
                merged.append(Outgoing(text=piece, image=image))
            merged[-1].buttons = buttons
    return [m for m in merged if m.text or m.image or m.buttons]


def units(text: str) -> int:
    """A text's length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def pieces(text: str, limit: int = MAX_TEXT) -> list[str]:
    """The text cut into messages of at most `limit` UTF-16 units, never inside a character;
    a piece that would be blank is left out (there is always one piece, maybe empty)."""
    if units(text) <= limit:
        return [text if text.strip() else ""]
    cut, start, size = [], 0, 0
    for index, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > limit:
            cut.append(text[start:index])
            start, size = index, 0
        size += width
    cut.append(text[start:])
    return [piece for piece in cut if piece.strip()] or [""]


def keyboard(outgoing: Outgoing, tokens: list[str]) -> InlineKeyboardMarkup | None:
    """The message's buttons laid out in rows, each carrying its callback token."""
    rows = outgoing.rows()
    if not rows or not tokens:
        return None
    remaining = iter(tokens)
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(title[:64], callback_data=next(remaining)) for title, _ in row] for row in rows]
    )
