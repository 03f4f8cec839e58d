"""The web chat: a channel for residents without Telegram, on the city's own site."""
