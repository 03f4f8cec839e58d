"""What each kind of scheduled message says, and its buttons (Rasa payloads)."""
from __future__ import annotations

from bot.i18n import category_label, format_when, notice_text, status_label
from bot.services.notifications import Claimed
from bot.services.text import rasa_payload

Button = tuple[str, str]

BUTTONS: dict[str, list[tuple[str, str]]] = {
    "reminder": [("button.coming", "affirm"), ("button.not_coming", "deny"), ("button.later", "remind_later")],
    "feedback_prompt": [("button.took_part", "affirm"), ("button.missed", "deny"), ("button.later", "remind_later")],
    "report_followup": [("button.still_fixed", "affirm"), ("button.broken_again", "deny")],
    "group_progress": [("button.no_progress", "stop_notifications")],
    "report_resolved": [],
    "status_update": [],
}


def render(notice: Claimed, timezone: str) -> tuple[str, list[Button]]:
    """Text and buttons for a claimed notification; every button names the notification."""
    lang = notice.language
    values = dict(notice.values)
    values["when"] = format_when(values.get("starts_at"), lang, timezone)
    values["category"] = category_label(values.get("category"), lang)
    values["status"] = status_label(values.get("status", ""), lang)
    key = f"group_{notice.kind}" if notice.group else notice.kind
    if key == "report_resolved" and values.get("public_note"):
        key = "report_resolved_note"
    text = notice_text(key, lang, **values)
    if notice.kind == "reminder" and not values.get("place"):
        text = "\n".join(line for line in text.split("\n") if not line.startswith("📍"))
    if notice.group:
        return text, []
    buttons = [
        (notice_text(title, lang), rasa_payload(intent, notice=notice.id)) for title, intent in BUTTONS[notice.kind]
    ]
    return text, buttons
