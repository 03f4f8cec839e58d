"""What a citizen types reaches Rasa as words; only our own commands become payloads."""
from __future__ import annotations

import pytest

from bot.commands import typed


@pytest.mark.parametrize(("text", "sent"), [
    ("/help", "/help"),
    ("/HELP@coprod_bot", "/help"),
    ("/deleteme now", "/delete_my_data"),
    ('/give_feedback{"rating":"1","task_id":"7"}', 'give_feedback{"rating":"1","task_id":"7"}'),
    ('/ give_feedback{"rating":"1"}', 'give_feedback{"rating":"1"}'),
    ("//affirm", "affirm"),
    ("/", ""),
    ("  hello  ", "hello"),
    ("كاين الزبل", "كاين الزبل"),
])
def test_typed_text_is_never_a_payload_unless_it_is_one_of_our_commands(text: str, sent: str) -> None:
    assert typed(text) == sent
