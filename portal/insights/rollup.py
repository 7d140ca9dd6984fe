"""Filling the weekly rollup: weeks that ended, once; deltas folded in; idempotent, and safe when several
servers run it at once."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select

from portal.core.db import db, utcnow
from portal.insights.facts import MEASURE_NAMES, TicketTally, as_date, clocks_for, pack, start_of, ticket_rows, unpack, week_of
from portal.insights.models import CUBES, DurationRow, RollupRow, RollupState
from portal.insights.tracking import lock_tenants
from portal.tickets.models import Ticket

CHUNK_WEEKS = 8  # weeks counted per query, to bound the memory of the first run
WEEK = dt.timedelta(days=7)


@dataclass
class RollupRun:
    weeks: int  # weeks counted
    rolled_through: dt.date
    rows: int  # rows written
    folded: int = 0  # weeks whose delta rows were folded in


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


def _fold_deltas() -> int:
    """Replace the rows of every week that has delta rows by their sums (zero rows dropped), and its
    times by one sorted list; returns the number of weeks folded."""
    weeks = set(map(as_date, db.session.scalars(select(RollupRow.week).where(RollupRow.is_delta.is_(True)).distinct())))
    weeks |= set(map(as_date, db.session.scalars(select(DurationRow.week).where(DurationRow.is_delta.is_(True)).distinct())))
    if not weeks:
        return 0
    tenant_id = None
    sums: dict[tuple, list[int]] = {}
    dims = ("category_id", "channel", "tier", "office", "role")
    columns = [RollupRow.tenant_id, RollupRow.cube, RollupRow.week, *[getattr(RollupRow, d) for d in dims], *[getattr(RollupRow, n) for n in MEASURE_NAMES]]
    for tenant_id, cube, week, *rest in db.session.execute(select(*columns).where(RollupRow.week.in_(sorted(weeks)))):
        key = (cube, as_date(week), *rest[:len(dims)])
        acc = sums.setdefault(key, [0] * len(MEASURE_NAMES))
        for i, v in enumerate(rest[len(dims):]):
            acc[i] += v
    times: dict[tuple, list] = {}
    for tenant_id, week, tier, kind, removed, seconds in db.session.execute(
        select(DurationRow.tenant_id, DurationRow.week, DurationRow.tier, DurationRow.kind, DurationRow.removed, DurationRow.seconds)
        .where(DurationRow.week.in_(sorted(weeks)))
    ):
        added, taken = times.setdefault((as_date(week), tier, kind), [[], []])
        (taken if removed else added).extend(unpack(seconds))
    db.session.execute(delete(RollupRow).where(RollupRow.week.in_(sorted(weeks))))
    db.session.execute(delete(DurationRow).where(DurationRow.week.in_(sorted(weeks))))
    rows = [{"tenant_id": tenant_id, "cube": cube, "week": week, **dict(zip(dims, values_of_dims)), **dict(zip(MEASURE_NAMES, values))}
            for (cube, week, *values_of_dims), values in sums.items() if any(values)]
    if rows:
        db.session.execute(insert(RollupRow), rows)
    packed = []
    for (week, tier, kind), (added, taken) in times.items():
        values = list((Counter(added) - Counter(taken)).elements())
        if values:
            packed.append({"tenant_id": tenant_id, "week": week, "tier": tier, "kind": kind, "count": len(values), "seconds": pack(values)})
    if packed:
        db.session.execute(insert(DurationRow), packed)
    return len(weeks)


def roll_up(tenant, *, through: dt.date | None = None, full: bool = False) -> RollupRun:
    """Bring the rollup of `tenant` (the session must be scoped to it) up to the last week that is
    over on day `through` (default: yesterday, so a week is rolled up from the Monday after it), and
    fold in the delta rows that changes to tickets of rolled-up weeks wrote, in one transaction.

    Each week is counted once, when it is over (`full` counts every week again, after a change of
    opening hours for example); the first run starts at the tenant's first ticket. Running twice
    gives the same rows. The tenant's rollup lock (exclusive here, shared by the changes that write
    deltas, see `tracking`) serialises concurrent runs and keeps changes out while weeks are counted.
    """
    today = utcnow().date()
    # Never the current week: changes to its tickets write no deltas (see `tracking`).
    target = last_sunday(min(through or today, today - dt.timedelta(days=1)) + dt.timedelta(days=1))
    lock_tenants(db.session.connection(), [tenant.id], shared=False)
    state = db.session.scalar(select(RollupState))
    rolled_through = as_date(state.rolled_through) if state else None
    target = max(target, rolled_through) if rolled_through else target
    if rolled_through is None or full:
        earliest = db.session.scalar(select(func.min(Ticket.created_at)))
        week = week_of(earliest.date()) if earliest else target + dt.timedelta(days=1)
    else:
        week = rolled_through + dt.timedelta(days=1)
    weeks = []
    while week + dt.timedelta(days=6) <= target:
        weeks.append(week)
        week += WEEK
    folded = 0 if full else _fold_deltas()
    written = sum(_write(tenant, run) for run in _runs(weeks))
    if state is None:
        state = RollupState(tenant_id=tenant.id, rolled_through=target)
        db.session.add(state)
    state.rolled_through = target
    state.updated_at = utcnow()
    db.session.commit()
    return RollupRun(len(weeks), target, written, folded)
