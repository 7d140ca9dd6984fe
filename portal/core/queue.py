"""What every durable queue of the portal shares (the channels' outbox, system mail): rows written in
the caller's transaction, claimed by one worker at a time, retried with growing delays.

A queue table has an `id` and the columns of `Queued`: `status` ("pending", "sending", then a final
status), `attempts`, `next_attempt_at`, `claimed_by`, `claimed_at`, `last_error` and `sent_at`. Several workers on several servers may
run at once: a row is claimed by exactly one of them, and a claim that a worker did not finish
(it crashed) is taken again after CLAIM_LEASE.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import uuid

from sqlalchemy import String, Table, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import db, utcnow

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=6)
CLAIM_LEASE = dt.timedelta(minutes=15)  # a claim older than this belongs to a worker that died
PENDING, SENDING = "pending", "sending"


class Queued:
    """The columns of a queue table's rows (see the module docstring)."""

    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_at: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[dt.datetime | None]


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, ... capped at 6 hours."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_due(table: Table, limit: int = 20, worker: str | None = None, now: dt.datetime | None = None) -> list[int]:
    """Claim up to `limit` due rows of `table` for this worker and commit; no other worker gets them.

    PostgreSQL: the candidate rows are locked with FOR UPDATE SKIP LOCKED, so concurrent workers
    pick disjoint rows without waiting. SQLite: the UPDATE only takes rows still due, and the claim
    token tells which rows this worker won. The caller sets the tenant scope its table needs.
    """
    now = now or utcnow()
    token = f"{worker or worker_name()}:{uuid.uuid4().hex[:8]}"
    due = or_(
        (table.c.status == PENDING) & (table.c.next_attempt_at <= now),
        (table.c.status == SENDING) & (table.c.claimed_at <= now - CLAIM_LEASE),
    )
    candidates = select(table.c.id).where(due).order_by(table.c.next_attempt_at, table.c.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(candidates))
    if not ids:
        db.session.commit()
        return []
    db.session.execute(
        update(table).where(table.c.id.in_(ids), due)
        .values(status=SENDING, claimed_by=token, claimed_at=now, attempts=table.c.attempts + 1)
    )
    claimed = list(db.session.scalars(select(table.c.id).where(table.c.claimed_by == token, table.c.status == SENDING)))
    db.session.commit()
    return claimed


def retry_later(row, error: str, *, permanent: bool = False) -> bool:
    """Record a failed attempt on a claimed row: pending again after its backoff, or False when it
    should be given up (a permanent error, or MAX_ATTEMPTS reached; the caller marks it failed)."""
    row.last_error = error[:1000]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        return False
    row.status = PENDING
    row.next_attempt_at = utcnow() + backoff(row.attempts)
    return True
