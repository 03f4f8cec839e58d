"""Domain logic. Functions take a SQLAlchemy `Session`; no Telegram, Rasa or HTTP here."""
