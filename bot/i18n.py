"""Per-language formatting and the few labels actions need (the rest is in domain.yml)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "ar": "العربية"}
SUPPORTED_LANGUAGES = ("en",)

CATEGORY_LABELS = {
    "en": {
        "waste": "Waste and dumping",
        "safety": "Safety",
        "lighting": "Street lighting",
        "roads": "Roads and pavements",
        "green_spaces": "Parks and green spaces",
        "water": "Water and drains",
    },
}

STATUS_LABELS = {
    "en": {
        "new": "received",
        "verified": "checked by staff",
        "in_progress": "being worked on",
        "resolved": "fixed",
        "rejected": "not taken up",
        "duplicate": "already reported",
    },
}


CHANNEL_TEXTS = {
    "en": {
        "unavailable": "The assistant is temporarily unavailable. Your message is saved and I'll answer as soon as I can.",
        "failed": "Sorry, I couldn't handle that message. Please try again in a different way, or tap /help.",
        "expired": "That option has expired. Here is what you can do now:",
        "already_chosen": "You already chose this.",
        "unsupported": "Sorry, I can't read voice messages, videos or stickers yet. Please write to me, or send a photo or your location.",
        "too_big": "That file is too big. Please send a photo under {megabytes} MB.",
        "slow_down": "You're sending messages very fast. I'll read them all, just a little more slowly.",
        "group_hint": "Let's talk in private: tap the button below.",
        "open_chat": "Open Coprod",
        "chosen": "✓ {title}",
        "commands.start": "Start",
        "commands.help": "What I can do",
        "commands.tasks": "Tasks you can join",
        "commands.report": "Report a problem",
        "commands.mytasks": "My tasks",
        "commands.myreports": "My reports",
        "commands.stop": "Stop notifications",
        "commands.language": "Change language",
        "commands.deleteme": "Erase my data",
        "commands.newtask": "Create a task",
        "commands.task": "A task's sign-ups (/task 12)",
        "commands.close": "Close a task (/close 12)",
        "commands.broadcast": "Message citizens",
        "commands.linkgroup": "Link a group to a task (in the group)",
    },
}


NOTICE_TEXTS = {
    "en": {
        "reminder": "⏰ Reminder: {title}\n🗓 {when}\n📍 {place}\n\nWill you be there?",
        "feedback_prompt": "Thank you for signing up for {title} ({when}). Did you take part?",
        "report_resolved": "✅ Good news: your report {reference} ({category}) has been fixed.",
        "report_resolved_note": "✅ Good news: your report {reference} ({category}) has been fixed.\nThe city says: {public_note}",
        "status_update": "📋 Update on your report {reference} ({category}): {status}.\nThe city says: {public_note}",
        "report_followup": "Some time ago your report {reference} ({category}) was fixed. Is it still fixed?",
        "group_progress": "👥 This week your team for {title} covered {covered} of {shifts} shifts and sent {reports} reports. Thank you for taking part!",
        "group_reminder": "⏰ Team reminder: {title}\n🗓 {when}\n📍 {place}\n👥 {taken} of {capacity} signed up",
        "group_group_progress": "👥 This week the team for {title} covered {covered} of {shifts} shifts and sent {reports} reports. Thank you, everyone!",
        "button.coming": "I'll be there",
        "button.not_coming": "I can't make it",
        "button.later": "Remind me later",
        "button.took_part": "Yes, I took part",
        "button.missed": "No",
        "button.still_fixed": "Yes, still fixed",
        "button.broken_again": "No, it's broken again",
        "button.no_progress": "Stop weekly notes",
        "button.series": "All dates from now on",
    },
}


COORDINATOR_TEXTS = {
    "en": {
        "not_coordinator": "This command is for coordinators.",
        "cancelled": "Cancelled. Nothing was saved.",
        "tap_a_button": "Please tap one of the buttons.",
        "invalid": "Sorry, I can't use that. {hint}",
        "button.cancel": "✖ Cancel",
        "button.confirm": "✅ Confirm",
        "button.edit": "✏️ Edit",
        "newtask.title": "New task. What is it called? (for example: Night safety patrol)",
        "newtask.kind": "Is it a group task (a team with places and a schedule) or a collective task (open to everyone)?",
        "newtask.category": "Which category?",
        "newtask.neighbourhood": "Which neighbourhood?",
        "newtask.place": "Where does it happen or where do people meet?",
        "newtask.schedule": "When? For example: every Friday 20:00-22:00, or Sat 5 Dec 9:00-12:00.",
        "newtask.capacity": "How many people per session? Tap or type a number.",
        "newtask.reminders": "When should I remind the people who sign up?",
        "hint.title": "A title has 3 to 120 characters.",
        "hint.place": "Please write a place (2 to 200 characters).",
        "hint.schedule": "Write a day and a time range, like: every Friday 20:00-22:00, or Sat 5 Dec 9:00-12:00.",
        "hint.capacity": "Please write a number from 1 to 500.",
        "hint.text": "A message has up to 4,000 characters (1,000 with a photo).",
        "kind.group": "👥 Group task",
        "kind.collective": "🌍 Collective task",
        "whole_town": "Whole town",
        "no_schedule": "No schedule",
        "reminders.24h+1h": "24 h and 1 h before",
        "reminders.1h": "1 h before",
        "reminders.none": "No reminders",
        "summary.task": "Please check the new task:\n• {title}\n• {kind} · {category}\n• 📍 {place} ({neighbourhood})\n• 📅 {when}\n• {capacity}\n• ⏰ {reminders}",
        "summary.capacity": "{capacity} people per session",
        "summary.open": "open to everyone",
        "summary.every": "{when}, then {rule}",
        "summary.no_schedule": "no fixed time",
        "edit.which": "What would you like to change?",
        "field.title": "Title",
        "field.kind": "Group or collective",
        "field.category": "Category",
        "field.neighbourhood": "Neighbourhood",
        "field.place": "Place",
        "field.schedule": "Date and time",
        "field.capacity": "Places",
        "field.reminders": "Reminders",
        "rule.daily": "every day",
        "rule.weekly": "every {days}",
        "task.created": "✅ Task #{id} is open: {title}.\nShare it: {link}",
        "task.broadcast_it": "📣 Tell citizens",
        "mytasks.none": "You have not created any task yet. Start with /newtask.",
        "mytasks.item": "#{id} {title} · {status}",
        "task.usage": "Write the task number, for example: /task 12",
        "task.not_found": "There is no task #{id}.",
        "task.header": "#{id} {title} ({status})\n{kind} · {category} · 📍 {place}\nShare: {link}",
        "task.session": "📅 {when}: {signed_up} signed up{spots}",
        "task.spots": ", {spots} left",
        "task.no_sessions": "No upcoming sessions.",
        "task.unscheduled": "{count} citizens joined.",
        "close.done": "Task #{id} is closed. I'm telling the {count} citizens who signed up.",
        "close.already": "Task #{id} was already closed.",
        "close.notice": "ℹ️ {title} has been cancelled by the organisers. Thank you for signing up; see /tasks for other ways to help.",
        "linkgroup.usage": "Send /linkgroup followed by the task number inside the group, for example: /linkgroup 12",
        "linkgroup.done": "✅ This group is now linked to task #{id} ({title}). Reminders and weekly team notes will be posted here.",
        "linkgroup.invalid": "Only group tasks can be linked, from inside a group.",
        "broadcast.audience": "Who should get this message?",
        "audience.all": "Everyone who accepts news",
        "audience.neighbourhood": "A neighbourhood",
        "audience.category": "People interested in a category",
        "audience.task": "People signed up to a task",
        "audience.group": "Members of a linked group",
        "broadcast.which_neighbourhood": "Which neighbourhood?",
        "broadcast.which_category": "Which category?",
        "broadcast.which_task": "Which task?",
        "broadcast.which_group": "Which linked group?",
        "broadcast.nothing_to_pick": "There is nothing to choose from yet. Pick another audience.",
        "broadcast.text": "Write the message. You can also send a photo with a caption.",
        "broadcast.button": "Add a sign-up button for a task?",
        "broadcast.no_button": "No button",
        "broadcast.preview": "This message will go to {count} citizens. Here it is as they will see it:",
        "broadcast.send": "✅ Send to {count}",
        "broadcast.nobody": "Nobody in this audience can receive messages right now. Nothing was sent.",
        "broadcast.progress": "📣 Broadcast #{id}: {sent} / {total} sent · {failed} failed · {blocked} blocked",
        "broadcast.waiting_quiet": "\n⏸ Waiting for the end of quiet hours.",
        "broadcast.final": "📣 Broadcast #{id} finished: {sent} of {total} sent · {failed} failed · {blocked} blocked · {skipped} skipped (opted out since){unknown}",
        "broadcast.final_unknown": " · {unknown} uncertain (in flight during a restart)",
        "broadcast.cancelled": "📣 Broadcast #{id} cancelled: {sent} of {total} had been sent.",
        "broadcast.cancel": "✖ Cancel broadcast",
        "broadcast.signup_button": "✅ Sign me up: {title}",
    },
}


def coordinator_text(key: str, language: str = "en", **values: object) -> str:
    """Words of the coordinators' conversations (/newtask, /broadcast, …)."""
    return _catalogue(COORDINATOR_TEXTS, language)[key].format(**values)


def format_number(value: int, language: str = "en") -> str:
    return format_decimal(value, locale=language)


def notice_text(key: str, language: str = "en", **values: object) -> str:
    """A scheduled message's words (reminders, prompts, follow-ups), in the citizen's language."""
    return _catalogue(NOTICE_TEXTS, language)[key].format(**values)


def channel_text(key: str, language: str = "en", **values: object) -> str:
    """A channel-level message (the bridge's own words), in the citizen's language."""
    return _catalogue(CHANNEL_TEXTS, language)[key].format(**values)


def _catalogue(table: dict[str, dict[str, str]], language: str) -> dict[str, str]:
    return table.get(language) or table["en"]


def category_label(category: str | None, language: str = "en") -> str:
    return _catalogue(CATEGORY_LABELS, language).get(category or "", category or "")


def status_label(status: str, language: str = "en") -> str:
    return _catalogue(STATUS_LABELS, language).get(status, status)


def format_when(moment: datetime | None, language: str = "en", tz: str = "UTC") -> str:
    """A local date and time in the citizen's language ("Fri 4 Dec, 20:00")."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment, "EEE d MMM, HH:mm", tzinfo=ZoneInfo(tz), locale=language)
