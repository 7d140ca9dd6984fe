"""Keeps the weekly rollup exact when tickets of weeks already rolled up change, in the change's own
transaction.

A ticket counts in the week it was opened, so a change to a ticket opened in a rolled-up week (an
answer, a resolution, a breach flag, a rating, a new category or tier...) or a requester's new job
title would make that week's rows stale. Around each flush that touches such tickets, the tracker
reads the tickets' rows as the rollup counts them before the flush and after it, and writes the
difference as delta rows (`is_delta`): measures that may be negative, and times added or taken
out. Readers add every row up, so the figures equal a live count at any moment, and a week is never
counted again. `flask insights rollup` folds the deltas into the weekly rows now and then.

The SLA check sets its breach flags with an SQL update committed at once; it records each in the
audit trail (a `TicketEvent` "first_response_breached" or "resolution_breached"), and for those
tickets the "before" row is the current one with that flag still unset.

On PostgreSQL a change takes the tenant's rollup lock in shared mode (the rollup takes it
exclusively): a rollup never counts a week while a change to it is under way, and a change always
sees the rollup's `rolled_through` as it is.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import and_, event, insert, inspect, or_, select, text
from sqlalchemy.orm import Session

from portal.auth.models import Membership
from portal.core.db import current_tenant_id, utcnow
from portal.insights.facts import MEASURE_NAMES, TicketTally, clocks_for, pack, start_of, ticket_columns, week_of
from portal.insights.models import CUBES, DurationRow, RollupRow, RollupState
from portal.tickets.models import Ticket, TicketEvent

LOCK_BASE = 0x1A5_0000  # PostgreSQL advisory lock key space of the rollup (+ tenant id)

# The ticket columns any figure of the rollup depends on.
TRACKED = (
    "created_at", "category_id", "channel", "tier", "office", "requester_user_id",
    "first_responded_at", "first_response_due_at", "first_response_breached",
    "resolved_at", "resolution_due_at", "resolution_breached", "rating", "waiting_hours",
)
BREACH_EVENTS = {"first_response_breached": 9, "resolution_breached": 12}  # audit field -> its index in `ticket_columns`
_BEFORE = "insights.before"


def lock_tenants(connection, tenant_ids, shared: bool) -> None:
    """Take the rollup lock of each tenant (PostgreSQL; SQLite has one writer at a time anyway)."""
    if connection.dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    for tenant_id in sorted(set(tenant_ids)):
        connection.execute(text(f"SELECT {function}(:key)"), {"key": LOCK_BASE + tenant_id})


@event.listens_for(Session, "before_flush")
def _before(session: Session, flush_context, instances) -> None:
    ids: set[int] = set()
    requesters: set[tuple[int, int]] = set()
    flagged: dict[int, list[int]] = {}
    tenants: set[int] = set()
    imports = []
    this_week = start_of(week_of(utcnow().date()))  # never rolled up: changes to its tickets need nothing
    for obj in session.dirty:
        if isinstance(obj, Ticket):
            state = inspect(obj)
            if not any(state.attrs[name].history.has_changes() for name in TRACKED):
                continue
            opened = state.attrs.created_at.history
            old_unknown = opened.has_changes() and not opened.deleted  # moved without its old date loaded
            if not old_unknown and all(moment is not None and moment >= this_week for moment in (obj.created_at, *opened.deleted)):
                continue
            ids.add(obj.id)
            tenants.add(obj.tenant_id)
        elif isinstance(obj, Membership) and inspect(obj).attrs.job_title.history.has_changes():
            requesters.add((obj.tenant_id, obj.user_id))
    for obj in session.deleted:
        if isinstance(obj, Ticket):
            ids.add(obj.id)
            tenants.add(obj.tenant_id)
        elif isinstance(obj, Membership):
            requesters.add((obj.tenant_id, obj.user_id))
    for obj in session.new:
        if isinstance(obj, Ticket) and obj.created_at is not None and obj.created_at < this_week:  # opened with a past date: an import
            imports.append(obj)
            tenants.add(obj.tenant_id or current_tenant_id(session))
        elif isinstance(obj, Membership) and obj.job_title and obj.user_id is not None:
            requesters.add((obj.tenant_id or current_tenant_id(session), obj.user_id))
        elif isinstance(obj, TicketEvent) and obj.field in BREACH_EVENTS and obj.ticket_id is not None:
            ids.add(obj.ticket_id)
            flagged.setdefault(obj.ticket_id, []).append(BREACH_EVENTS[obj.field])
            tenants.add(obj.tenant_id or current_tenant_id(session))
    if not (ids or requesters or imports):
        return
    connection = session.connection()
    tenants |= {tenant_id for tenant_id, _user in requesters}
    lock_tenants(connection, tenants - {None}, shared=True)
    states = RollupState.__table__
    rolled = {tid: _as_date(day) for tid, day in connection.execute(select(states.c.tenant_id, states.c.rolled_through).where(states.c.tenant_id.in_(tenants - {None})))}
    if not rolled:
        return
    session.info[_BEFORE] = (ids, requesters, imports, flagged, rolled, _rows_by_id(connection, ids, requesters))


def _rows_by_id(connection, ids: set, requesters: set) -> dict[int, tuple]:
    """{ticket id: the row the rollup counts} for the tickets `ids` and those of the (tenant, user)
    `requesters`, read on the flush's connection (no tenant filter: rows are asked for by id)."""
    conditions = []
    if ids:
        conditions.append(Ticket.id.in_(sorted(ids)))
    for tenant_id, user_id in requesters:
        conditions.append((Ticket.tenant_id == tenant_id) & (Ticket.requester_user_id == user_id))
    if not conditions:
        return {}
    stmt = (select(Ticket.id, *ticket_columns(True)).where(or_(*conditions))
            .outerjoin(Membership, and_(Membership.user_id == Ticket.requester_user_id, Membership.tenant_id == Ticket.tenant_id)))
    return {row[0]: tuple(row[1:]) for row in connection.execute(stmt)}


@event.listens_for(Session, "after_flush")
def _after(session: Session, flush_context) -> None:
    noted = session.info.pop(_BEFORE, None)
    if noted is None:
        return
    ids, requesters, imports, flagged, rolled, before = noted
    ids = ids | {obj.id for obj in imports}
    connection = session.connection()
    after = _rows_by_id(connection, ids, requesters)
    for ticket_id, positions in flagged.items():  # the SQL update already set the flag: unset it in the "before" row
        if ticket_id in before:
            row = list(before[ticket_id])
            for i in positions:
                row[i] = False
            before[ticket_id] = tuple(row)

    def counted(row) -> bool:
        through = rolled.get(row[0])
        return through is not None and row[1].date() <= through

    old_rows = [row for row in before.values() if counted(row)]
    new_rows = [row for row in after.values() if counted(row)]
    if not old_rows and not new_rows:
        return
    origin = min(row[1] for row in old_rows + new_rows)
    clocks = clocks_for({row[0] for row in old_rows + new_rows}, origin)
    old, new = TicketTally(clocks), TicketTally(clocks)
    for row in old_rows:
        old.add(row)
    for row in new_rows:
        new.add(row)
    rows = []
    for cube in CUBES:
        keys = set(old.cubes[cube]) | set(new.cubes[cube])
        for key in keys:
            was, now = old.cubes[cube].get(key, [0] * len(MEASURE_NAMES)), new.cubes[cube].get(key, [0] * len(MEASURE_NAMES))
            delta = [b - a for a, b in zip(was, now)]
            if any(delta):
                tenant_id, week, *dims = key
                rows.append({"tenant_id": tenant_id, "cube": cube, "week": week, "category_id": None, "channel": "", "tier": "", "office": "", "role": "",
                             **dict(zip(CUBES[cube], dims)), **dict(zip(MEASURE_NAMES, delta)), "is_delta": True})
    if rows:
        connection.execute(insert(RollupRow.__table__), rows)
    times = []
    for key in set(old.times) | set(new.times):
        was, now = Counter(old.times.get(key, [])), Counter(new.times.get(key, []))
        tenant_id, week, tier, kind = key
        for values, removed in ((now - was, False), (was - now, True)):
            if values:
                listed = list(values.elements())
                times.append({"tenant_id": tenant_id, "week": week, "tier": tier, "kind": kind, "count": len(listed), "seconds": pack(listed),
                              "is_delta": True, "removed": removed})
    if times:
        connection.execute(insert(DurationRow.__table__), times)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    session.info.pop(_BEFORE, None)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])

