"""Telegram bridge on python-telegram-bot: Telegram types stay inside this package."""
