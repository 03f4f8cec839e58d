"""The commands a citizen can type on any channel (/help), and the Rasa payloads they stand for."""
from __future__ import annotations

COMMANDS = {
    "start": "/greet",
    "help": "/help",
    "tasks": "/list_tasks",
    "report": "/report",
    "mytasks": "/my_signups",
    "myreports": "/my_reports",
    "stop": "/stop_notifications",
    "language": "/change_language",
    "deleteme": "/delete_my_data",
}
START_REPORT = "/report"


def typed(text: str) -> str:
    """What a citizen typed, made safe for Rasa: a known command becomes its payload;
    any other leading slash is dropped, so typed text is never read as an intent
    with entities (`/give_feedback{"rating":"1"}`)."""
    stripped = text.strip()
    if stripped.startswith("/"):
        name = stripped[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(stripped) > 1 else ""
        if name in COMMANDS:
            return COMMANDS[name]
        return stripped.lstrip("/ ").strip()
    return stripped
