"""The inbox (nothing lost, nothing twice, order kept) and server-side button tokens."""
from __future__ import annotations

from datetime import timedelta

from bot.db import Database
from bot.models import InboxMessage, utcnow
from bot.services import buttons, inbox
from bot.services.inbox import Incoming
from bot.telegram.replies import Outgoing, merge


def test_duplicate_updates_are_stored_once(db: Database) -> None:
    with db.session() as session:
        assert inbox.accept(session, Incoming("tg:1", "7", "7", "hi", {})) is not None
        assert inbox.accept(session, Incoming("tg:1", "7", "7", "hi", {})) is None
        assert session.query(InboxMessage).count() == 1


def test_messages_are_handed_out_oldest_first_and_deferred_ones_wait(db: Database) -> None:
    with db.session() as session:
        first = inbox.accept(session, Incoming("tg:1", "7", "7", "one", {})).id
        inbox.accept(session, Incoming("tg:2", "7", "7", "two", {}))
        inbox.defer(session, first, timedelta(minutes=5))
        assert inbox.next_pending(session, "7") is None, "a later message must not overtake"
        assert inbox.chats_with_due_messages(session) == []
        inbox.hold_until(session, first, utcnow() - timedelta(seconds=1))
        assert inbox.next_pending(session, "7").text == "one"
        inbox.mark_done(session, first)
        assert inbox.next_pending(session, "7").text == "two"


def test_album_parts_merge_into_one_message(db: Database) -> None:
    part = {"telegram_files": [{"file_id": "a"}], "coprod": {"location": {"latitude": 1.0, "longitude": 2.0}}}
    with db.session() as session:
        inbox.accept(session, Incoming("tg:1", "7", "7", "/report", part, "album:7:x"))
        inbox.accept(session, Incoming("tg:2", "7", "7", "rubbish here", {"telegram_files": [{"file_id": "b"}]}, "album:7:x"))
        assert inbox.next_pending(session, "7") is None
        assert inbox.stale_groups(session, timedelta(seconds=0), utcnow() + timedelta(seconds=1)) == ["album:7:x"]
        merged = inbox.release_group(session, "album:7:x")
        meta = inbox.meta_of(merged)
        assert [f["file_id"] for f in meta["telegram_files"]] == ["a", "b"]
        assert meta["coprod"]["location"] == {"latitude": 1.0, "longitude": 2.0}
        assert merged.text == "rubbish here"
        assert inbox.next_pending(session, "7").id == merged.id


def test_a_keyboard_is_pressed_once_by_its_own_chat(db: Database) -> None:
    with db.session() as session:
        yes, no = buttons.issue(session, "7", [("Yes", "/affirm"), ("No", "/deny")])
    with db.session() as session:
        assert buttons.redeem(session, "8", yes).status == "expired", "another chat cannot use it"
        assert buttons.redeem(session, "7", "forged-data").status == "expired"
        assert buttons.redeem(session, "7", yes) == buttons.Press("ok", "/affirm", "Yes")
        assert buttons.redeem(session, "7", no).status == "used"
        assert buttons.redeem(session, "7", yes).status == "used"
    assert len(yes) <= 64


def test_replies_merge_into_few_messages() -> None:
    replies = [
        {"text": "Here are tasks you can join:"},
        {"text": "Patrol", "buttons": [{"title": "Join: Patrol", "payload": "/sign_up{\"task_id\":\"1\"}"}]},
        {"text": "Clean-up", "buttons": [{"title": "Join: Clean-up", "payload": "/sign_up{\"task_id\":\"2\"}"}]},
    ]
    [message] = merge(replies)
    assert message.text == "Here are tasks you can join:\n\nPatrol\n\nClean-up"
    assert [title for title, _ in message.buttons] == ["Join: Patrol", "Join: Clean-up"]
    rating = Outgoing("Rate", buttons=[(str(n), f"/r{n}") for n in range(1, 6)])
    assert len(rating.rows()) == 1
    huge = merge([{"text": "x" * 5000}])
    assert [len(m.text) for m in huge] == [4096, 904]
    assert merge([{"text": ""}]) == []
