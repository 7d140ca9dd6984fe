"""Filling the daily rollup: idempotent, and safe when several servers run it from cron at once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select, text

from portal.core.db import db, utcnow
from portal.insights.facts import as_date, live_query, start_of
from portal.insights.models import CUBES, RollupRow, RollupState
from portal.tickets.models import Ticket

LOCK_BASE = 0x1A5_0000  # PostgreSQL advisory lock key space of the rollup (+ tenant id)
CHUNK_DAYS = 31


def roll_up(tenant, *, days: int = 35, through: dt.date | None = None) -> tuple[dt.date | None, dt.date, int]:
    """Recompute the rollup of `tenant` (the session must be scoped to it) for the last `days` days up
    to `through` (yesterday by default: today is always counted live), in one transaction.

    Recent days are recomputed because tickets change after they are opened (first response,
    resolution, breaches, rating). The first run, or a gap since the last run, starts from the
    tenant's first ticket instead, so the rolled-up days are always contiguous. Rows of the recomputed
    days are deleted and inserted again, so running twice gives the same rows; on PostgreSQL a
    transaction-level advisory lock per tenant serialises concurrent runs (SQLite's write lock does).
    Returns (first day, last day, rows written).
    """
    through = through or (utcnow().date() - dt.timedelta(days=1))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_BASE + tenant.id})
    state = db.session.scalar(select(RollupState))
    first = through - dt.timedelta(days=max(days, 1) - 1)
    if state is None or as_date(state.rolled_through) < first - dt.timedelta(days=1):
        earliest = db.session.scalar(select(func.min(Ticket.created_at)))
        first = min(first, earliest.date()) if earliest else first
    db.session.execute(delete(RollupRow).where(RollupRow.day >= first))
    written = 0
    chunk = first
    while chunk <= through:
        chunk_end = min(chunk + dt.timedelta(days=CHUNK_DAYS - 1), through)
        for cube, dims in CUBES.items():
            dims = ("day",) + dims
            rows = []
            for row in db.session.execute(live_query(dims, start_of(chunk), start_of(chunk_end + dt.timedelta(days=1)))):
                values = row._asdict()
                values["day"] = as_date(values["day"])
                for dim in ("channel", "tier", "office", "role"):
                    values.setdefault(dim, "")
                    values[dim] = values[dim] or ""
                rows.append({"tenant_id": tenant.id, "cube": cube, **values})
            if rows:
                db.session.execute(insert(RollupRow), rows)
                written += len(rows)
        chunk = chunk_end + dt.timedelta(days=1)
    if state is None:
        state = RollupState(tenant_id=tenant.id, rolled_through=through)
        db.session.add(state)
    state.rolled_through = through
    state.updated_at = utcnow()
    db.session.commit()
    return first, through, written
