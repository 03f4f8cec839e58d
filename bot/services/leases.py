"""Leases: work that one process at a time may do, held by renewing it before it lapses.

Taking or renewing is one conditional update (or the first insert), so two
processes can never both hold a lease, on SQLite or PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Lease, utcnow


def hold(session: Session, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the lease for `ttl`; False while another holder's lease runs."""
    now = now or utcnow()
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount == 1:
        return True
    if session.get(Lease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def let_go(session: Session, name: str, holder: str) -> None:
    """Give the lease up (a clean stop), so another process takes over at once."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
