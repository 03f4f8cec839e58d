"""Coprod: a Rasa assistant on Telegram for civic co-production."""
