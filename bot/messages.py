"""The English source of every text Python composes for citizens and coordinators.

Each area maps a key to its English words; bot.i18n looks the English up in the
gettext catalogue of the reader's language (bot/locale/<lang>/LC_MESSAGES/coprod.po).
`N_` and `NP_` change nothing at run time: they mark the strings for `make messages`
(`pybabel extract -k N_ -k NP_:1,2`), which refreshes bot/locale/coprod.pot and the
.po files. A new or changed string here needs its French and Arabic translations
(tests/test_catalogues.py fails until they are written).

Placeholders (`{title}`) are filled by `str.format`; translations keep them as they are.
Texts that count something are pairs in PLURAL_TEXTS: the number is `{count}`.
"""
from __future__ import annotations


def N_(message: str) -> str:
    """Marks a text for extraction."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a text that counts something (`{count}`): singular and plural English."""
    return singular, plural


CATEGORY_LABELS = {
    "waste": N_("Waste and dumping"),
    "safety": N_("Safety"),
    "lighting": N_("Street lighting"),
    "roads": N_("Roads and pavements"),
    "green_spaces": N_("Parks and green spaces"),
    "water": N_("Water and drains"),
}

# A citizen's report, as its status is told to them ("Update on your report …: {status}").
STATUS_LABELS = {
    "new": N_("received"),
    "verified": N_("checked by staff"),
    "in_progress": N_("being worked on"),
    "resolved": N_("fixed"),
    "rejected": N_("not taken up"),
    "duplicate": N_("already reported"),
}

# The channels' own words (Telegram's bridge, the web chat).
CHANNEL_TEXTS = {
    # TRANSLATORS: the title of a web notification (a reminder, a broadcast) on a phone or computer.
    "web_push_title": N_("Message from your city"),
    "web_photo_types": N_("Please send photos as JPEG, PNG or WebP."),
    "web_too_many_photos": N_("Please send at most {count} photos at a time."),
    "web_chosen": N_("✓ {title}"),
    "photo_quota": N_("You have sent a lot of photos today, so I kept your message without the new ones. You can send more tomorrow."),
    "photos_paused": N_("I can't accept photos right now, so I kept your message without them. Please try again later."),
    "unavailable": N_("The assistant is temporarily unavailable. Your message is saved and I'll answer as soon as I can."),
    "failed": N_("Sorry, I couldn't handle that message. Please try again in a different way, or tap /help."),
    "expired": N_("That option has expired. Here is what you can do now:"),
    "already_chosen": N_("You already chose this."),
    "unsupported": N_("Sorry, I can't read voice messages, videos or stickers yet. Please write to me, or send a photo or your location."),
    "too_big": N_("That file is too big. Please send a photo under {megabytes} MB."),
    "slow_down": N_("You're sending messages faster than I can read them, so I skipped some. Please wait a moment, then send again what I missed."),
    "group_hint": N_("Let's talk in private: tap the button below."),
    # TRANSLATORS: a button.
    "open_chat": N_("Open Coprod"),
    # TRANSLATORS: added under a message once a button of it was tapped; {title} is the button's words.
    "chosen": N_("✓ {title}"),
    # TRANSLATORS: Telegram's command menu (at most 256 characters, best under 30).
    "commands.start": N_("Start"),
    "commands.help": N_("What I can do"),
    "commands.tasks": N_("Tasks you can join"),
    "commands.report": N_("Report a problem"),
    "commands.mytasks": N_("My tasks"),
    "commands.myreports": N_("My reports"),
    "commands.stop": N_("Stop notifications"),
    "commands.language": N_("Change language"),
    "commands.deleteme": N_("Erase my data"),
    "commands.newtask": N_("Create a task"),
    "commands.task": N_("A task's sign-ups (/task 12)"),
    "commands.close": N_("Close a task (/close 12)"),
    "commands.broadcast": N_("Message citizens"),
    "commands.linkgroup": N_("Link a group to a task (in the group)"),
}

# Scheduled messages: reminders, prompts, follow-ups, weekly team notes, and their buttons.
NOTICE_TEXTS = {
    # TRANSLATORS: keep the line that starts with 📍 on its own line, starting with 📍 (it is left out when there is no place).
    "reminder": N_("⏰ Reminder: {title}\n🗓 {when}\n📍 {place}\n\nWill you be there?"),
    "feedback_prompt": N_("Thank you for signing up for {title} ({when}). Did you take part?"),
    "report_resolved": N_("✅ Good news: your report {reference} ({category}) has been fixed."),
    "report_resolved_note": N_("✅ Good news: your report {reference} ({category}) has been fixed.\nThe city says: {public_note}"),
    "status_update": N_("📋 Update on your report {reference} ({category}): {status}.\nThe city says: {public_note}"),
    "report_followup": N_("Some time ago your report {reference} ({category}) was fixed. Is it still fixed?"),
    "group_progress": N_("👥 This week your team for {title} covered {covered} of {shifts} shifts and sent {reports} reports. Thank you for taking part!"),
    "group_reminder": N_("⏰ Team reminder: {title}\n🗓 {when}\n📍 {place}\n👥 {taken} of {capacity} signed up"),
    "group_group_progress": N_("👥 This week the team for {title} covered {covered} of {shifts} shifts and sent {reports} reports. Thank you, everyone!"),
    # TRANSLATORS: buttons (at most 64 characters, best under 25).
    "button.coming": N_("I'll be there"),
    "button.not_coming": N_("I can't make it"),
    "button.later": N_("Remind me later"),
    "button.took_part": N_("Yes, I took part"),
    "button.missed": N_("No"),
    "button.still_fixed": N_("Yes, still fixed"),
    "button.broken_again": N_("No, it's broken again"),
    "button.no_progress": N_("Stop weekly notes"),
    "button.series": N_("All dates from now on"),
}

# The coordinators' conversations (/newtask, /task, /close, /linkgroup, /broadcast).
COORDINATOR_TEXTS = {
    "not_coordinator": N_("This command is for coordinators."),
    "cancelled": N_("Cancelled. Nothing was saved."),
    "tap_a_button": N_("Please tap one of the buttons."),
    # TRANSLATORS: {hint} is one of the "hint" texts below.
    "invalid": N_("Sorry, I can't use that. {hint}"),
    "button.cancel": N_("✖ Cancel"),
    "button.confirm": N_("✅ Confirm"),
    "button.edit": N_("✏️ Edit"),
    "newtask.title": N_("New task. What is it called? (for example: Night safety patrol)"),
    "newtask.kind": N_("Is it a group task (a team with places and a schedule) or a collective task (open to everyone)?"),
    "newtask.category": N_("Which category?"),
    "newtask.neighbourhood": N_("Which neighbourhood?"),
    "newtask.place": N_("Where does it happen or where do people meet?"),
    # TRANSLATORS: the schedule reader knows "every" + English day names, and one-off dates in English or French: keep examples it reads.
    "newtask.schedule": N_("When? For example: every Friday 20:00-22:00, or Sat 5 Dec 9:00-12:00."),
    "newtask.capacity": N_("How many people per session? Tap or type a number."),
    "newtask.reminders": N_("When should I remind the people who sign up?"),
    "hint.title": N_("A title has 3 to 120 characters."),
    "hint.place": N_("Please write a place (2 to 200 characters)."),
    # TRANSLATORS: examples as in "newtask.schedule".
    "hint.schedule": N_("Write a day and a time range, like: every Friday 20:00-22:00, or Sat 5 Dec 9:00-12:00."),
    "hint.capacity": N_("Please write a number from 1 to 500."),
    "hint.text": N_("A message has up to 4,000 characters (1,000 with a photo)."),
    "kind.group": N_("👥 Group task"),
    "kind.collective": N_("🌍 Collective task"),
    "whole_town": N_("Whole town"),
    "no_schedule": N_("No schedule"),
    "reminders.24h+1h": N_("24 h and 1 h before"),
    "reminders.1h": N_("1 h before"),
    "reminders.none": N_("No reminders"),
    # TRANSLATORS: {capacity} is "summary.capacity" or "summary.open"; {when} is a date, "summary.every" or "summary.no_schedule".
    "summary.task": N_("Please check the new task:\n• {title}\n• {kind} · {category}\n• 📍 {place} ({neighbourhood})\n• 📅 {when}\n• {capacity}\n• ⏰ {reminders}"),
    "summary.open": N_("open to everyone"),
    # TRANSLATORS: {when} is the first date, {rule} is "rule.daily" or "rule.weekly".
    "summary.every": N_("{when}, then {rule}"),
    "summary.no_schedule": N_("no fixed time"),
    "edit.which": N_("What would you like to change?"),
    "field.title": N_("Title"),
    "field.kind": N_("Group or collective"),
    "field.category": N_("Category"),
    "field.neighbourhood": N_("Neighbourhood"),
    "field.place": N_("Place"),
    "field.schedule": N_("Date and time"),
    "field.capacity": N_("Places"),
    "field.reminders": N_("Reminders"),
    "rule.daily": N_("every day"),
    # TRANSLATORS: {days} is a list of day names ("Tuesday, Thursday").
    "rule.weekly": N_("every {days}"),
    "task.created": N_("✅ Task #{id} is open: {title}.\nShare it: {link}"),
    "task.broadcast_it": N_("📣 Tell citizens"),
    "mytasks.none": N_("You have not created any task yet. Start with /newtask."),
    "mytasks.item": N_("#{id} {title} · {status}"),
    "task.usage": N_("Write the task number, for example: /task 12"),
    "task.not_found": N_("There is no task #{id}."),
    "task.header": N_("#{id} {title} ({status})\n{kind} · {category} · 📍 {place}\nShare: {link}"),
    "task.no_sessions": N_("No upcoming sessions."),
    "close.already": N_("Task #{id} was already closed."),
    "close.notice": N_("ℹ️ {title} has been cancelled by the organisers. Thank you for signing up; see /tasks for other ways to help."),
    "linkgroup.usage": N_("Send /linkgroup followed by the task number inside the group, for example: /linkgroup 12"),
    "linkgroup.done": N_("✅ This group is now linked to task #{id} ({title}). Reminders and weekly team notes will be posted here."),
    "linkgroup.invalid": N_("Only group tasks can be linked, from inside a group."),
    "broadcast.audience": N_("Who should get this message?"),
    "audience.all": N_("Everyone who accepts news"),
    "audience.neighbourhood": N_("A neighbourhood"),
    "audience.category": N_("People interested in a category"),
    "audience.task": N_("People signed up to a task"),
    "audience.group": N_("Members of a linked group"),
    "broadcast.which_neighbourhood": N_("Which neighbourhood?"),
    "broadcast.which_category": N_("Which category?"),
    "broadcast.which_task": N_("Which task?"),
    "broadcast.which_group": N_("Which linked group?"),
    "broadcast.nothing_to_pick": N_("There is nothing to choose from yet. Pick another audience."),
    "broadcast.text": N_("Write the message. You can also send a photo with a caption."),
    "broadcast.button": N_("Add a sign-up button for a task?"),
    "broadcast.translate": N_("Add the same message in another language? Each citizen gets the text in their language; the others get this one."),
    "broadcast.no_translation": N_("No, that's all"),
    "broadcast.translation_text": N_("Write the message in {language_name}."),
    "broadcast.by_language": N_("By language: {counts}"),
    "broadcast.preview_text": N_("{language_name}:\n{text}"),
    "broadcast.no_button": N_("No button"),
    # TRANSLATORS: a button; {count} is how many citizens will get the message.
    "broadcast.send": N_("✅ Send to {count}"),
    "broadcast.nobody": N_("Nobody in this audience can receive messages right now. Nothing was sent."),
    "broadcast.progress": N_("📣 Broadcast #{id}: {sent} / {total} sent · {failed} failed · {blocked} blocked"),
    # TRANSLATORS: added to the end of the progress line; keep the line break at the start.
    "broadcast.waiting_quiet": N_("\n⏸ Waiting for the end of quiet hours."),
    # TRANSLATORS: {unknown} is "broadcast.final_unknown" or nothing.
    "broadcast.final": N_("📣 Broadcast #{id} finished: {sent} of {total} sent · {failed} failed · {blocked} blocked · {skipped} skipped (opted out since){unknown}"),
    # TRANSLATORS: added to the end of "broadcast.final"; keep the space and the dot at the start.
    "broadcast.final_unknown": N_(" · {unknown} uncertain (in flight during a restart)"),
    # TRANSLATORS: added to the end of "broadcast.final"; keep the space and the dot at the start.
    "broadcast.final_unreachable": N_(" · {unreachable} not reachable now (web chat: shown at their next visit)"),
    # TRANSLATORS: in a broadcast's preview, how many citizens each channel reaches.
    "broadcast.by_channel": N_("By channel: Telegram {telegram} · web chat {web}"),
    "broadcast.unreachable_now": N_("Not reachable now: {count} (offline web chat visitors see it at their next visit)."),
    "broadcast.cancelled": N_("📣 Broadcast #{id} cancelled: {sent} of {total} had been sent."),
    "broadcast.cancel": N_("✖ Cancel broadcast"),
    # TRANSLATORS: a button under a broadcast, cut at 64 characters.
    "broadcast.signup_button": N_("✅ Sign me up: {title}"),
}

# Texts that count something, for bot.i18n.plural_text(key, count, …); `{count}` is the number.
# The web chat page's own words (buttons, labels, states). `{n}` is a number.
WEBCHAT_TEXTS = {
    "title": N_("Chat with your city"),
    "placeholder": N_("Type a message"),
    "send": N_("Send"),
    "photo": N_("Add photos"),
    "location": N_("Share my location"),
    "locating": N_("Finding your location…"),
    "location_denied": N_("Location not shared. You can type the address instead."),
    "notify": N_("Notify me"),
    "notify_on": N_("Notifications are on"),
    "notify_denied": N_("Notifications are blocked in this browser"),
    "connecting": N_("Connecting…"),
    "offline": N_("Offline. Your messages will be sent when the connection is back."),
    "queued": N_("Waiting to send"),
    "sent_photos": N_("📷 Photos sent: {n}"),
    "upload_failed": N_("The photos could not be sent: {reason}"),
    "close": N_("Close chat"),
    "open": N_("Chat with the city"),
    "new_messages": N_("New messages"),
    "you": N_("You"),
    "bot": N_("City assistant"),
    "caption": N_("Add a caption (optional)"),
    "location_shared": N_("📍 Location shared"),
    "remove_photos": N_("Remove the photos"),
}

PLURAL_TEXTS = {
    # TRANSLATORS: one line of the summary of a new task.
    "summary.capacity": NP_("{count} person per session", "{count} people per session"),
    # TRANSLATORS: a session of a task, for its coordinator; {spots} is "task.spots" or nothing.
    "task.session": NP_("📅 {when}: {count} signed up{spots}", "📅 {when}: {count} signed up{spots}"),
    # TRANSLATORS: added to the end of "task.session": places still free.
    "task.spots": NP_(", {count} left", ", {count} left"),
    # TRANSLATORS: citizens signed up to a task that has no dates.
    "task.unscheduled": NP_("{count} citizen joined.", "{count} citizens joined."),
    "close.done": NP_(
        "Task #{id} is closed. I'm telling the {count} citizen who signed up.",
        "Task #{id} is closed. I'm telling the {count} citizens who signed up.",
    ),
    "broadcast.preview": NP_(
        "This message will go to {count} citizen. Here it is as they will see it:",
        "This message will go to {count} citizens. Here it is as they will see it:",
    ),
}
