"""Filling the weekly rollup: only what changed, idempotent, and safe when several servers run it at once."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, text

from portal.core.db import db, utcnow
from portal.insights.facts import MEASURE_NAMES, TicketTally, as_date, clocks_for, pack, start_of, ticket_rows, week_of
from portal.insights.models import CUBES, DirtyWeek, DurationRow, RollupRow, RollupState
from portal.tickets.models import Ticket

LOCK_BASE = 0x1A5_0000  # PostgreSQL advisory lock key space of the rollup (+ tenant id)
CHUNK_WEEKS = 8  # weeks counted per query, to bound the memory of the first run
WEEK = dt.timedelta(days=7)


@dataclass
class RollupRun:
    weeks: int  # weeks (re)computed
    rolled_through: dt.date
    rows: int  # rows written


def last_sunday(before: dt.date) -> dt.date:
    """The Sunday ending the last week that is over on day `before`."""
    return before - dt.timedelta(days=before.weekday() + 1)


def _runs(weeks: list[dt.date]) -> list[list[dt.date]]:
    """Sorted weeks cut into runs of consecutive weeks, at most CHUNK_WEEKS long."""
    runs: list[list[dt.date]] = []
    for week in sorted(weeks):
        if runs and runs[-1][-1] + WEEK == week and len(runs[-1]) < CHUNK_WEEKS:
            runs[-1].append(week)
        else:
            runs.append([week])
    return runs


def _write(tenant, weeks: list[dt.date]) -> int:
    """Count the tickets of consecutive `weeks` again and replace their rows."""
    first, last = weeks[0], weeks[-1] + dt.timedelta(days=6)
    db.session.execute(delete(RollupRow).where(RollupRow.week >= first, RollupRow.week <= last))
    db.session.execute(delete(DurationRow).where(DurationRow.week >= first, DurationRow.week <= last))
    tally = TicketTally(clocks_for([tenant.id], start_of(first)))
    for row in ticket_rows((Ticket.created_at >= start_of(first)) & (Ticket.created_at < start_of(last + dt.timedelta(days=1))), with_role=True):
        tally.add(row)
    empty = {"category_id": None, "channel": "", "tier": "", "office": "", "role": ""}
    rows = []
    for cube, cells in tally.cubes.items():
        for (_tid, week, *values_of_dims), values in cells.items():
            rows.append({**empty, "tenant_id": tenant.id, "cube": cube, "week": week, **dict(zip(CUBES[cube], values_of_dims)), **dict(zip(MEASURE_NAMES, values))})
    if rows:
        db.session.execute(insert(RollupRow), rows)
    times = [{"tenant_id": tenant.id, "week": week, "tier": tier, "kind": kind, "count": len(values), "seconds": pack(values)}
             for (_tid, week, tier, kind), values in tally.times.items()]
    if times:
        db.session.execute(insert(DurationRow), times)
    return len(rows) + len(times)


def roll_up(tenant, *, through: dt.date | None = None, full: bool = False) -> RollupRun:
    """Bring the rollup of `tenant` (the session must be scoped to it) up to the last week that is
    over on day `through` (default: yesterday, so a week is rolled up from the Monday after it), in
    one transaction.

    Only weeks not yet rolled up and weeks marked as changed are counted (`full` counts every week
    again, after a change of opening hours for example); the first run starts at the tenant's
    first ticket. A week's rows are deleted and inserted again, so running twice gives the same
    rows. On PostgreSQL a transaction-level advisory lock per tenant serialises concurrent runs
    (SQLite's write lock does). Marks are removed up to the highest one read before counting, so a
    change committed meanwhile keeps its mark for the next run.
    """
    target = last_sunday((through or utcnow().date() - dt.timedelta(days=1)) + dt.timedelta(days=1))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_BASE + tenant.id})
    state = db.session.scalar(select(RollupState))
    marked_up_to = db.session.scalar(select(func.max(DirtyWeek.id)))
    rolled_through = as_date(state.rolled_through) if state else None
    target = max(target, rolled_through) if rolled_through else target
    weeks: set[dt.date] = set()
    if rolled_through is None or full:
        earliest = db.session.scalar(select(func.min(Ticket.created_at)))
        week = week_of(earliest.date()) if earliest else target + dt.timedelta(days=1)
    else:
        week = rolled_through + dt.timedelta(days=1)
        if marked_up_to is not None:
            weeks.update(as_date(w) for w in db.session.scalars(select(DirtyWeek.week).where(DirtyWeek.id <= marked_up_to).distinct()))
    while week + dt.timedelta(days=6) <= target:
        weeks.add(week)
        week += WEEK
    written = sum(_write(tenant, run) for run in _runs([w for w in weeks if w <= target]))
    if marked_up_to is not None:
        db.session.execute(delete(DirtyWeek).where(DirtyWeek.id <= marked_up_to))
    if state is None:
        state = RollupState(tenant_id=tenant.id, rolled_through=target)
        db.session.add(state)
    state.rolled_through = target
    state.updated_at = utcnow()
    db.session.commit()
    return RollupRun(len(weeks), target, written)
