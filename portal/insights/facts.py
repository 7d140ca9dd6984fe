"""The query layer of insights: ticket counts from the rollup plus the live part, and time percentiles.

`aggregate` answers "how many tickets, breaches, ratings... per <dimensions> between two days" the
same way whether the days were rolled up or not: days up to a tenant's `rolled_through` are summed
from `insight_rollups`, later days (today at least) are counted from `tickets` directly. The rollup
builder uses the very same live query, so both parts agree by construction.

Days are UTC calendar days of `Ticket.created_at`. A ticket counts on the day it was opened, with its
current category, channel, tier, breach flags and rating.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Iterable

from sqlalchemy import and_, case, func, or_, select

from portal.auth.models import Membership
from portal.core.db import current_tenant_id, db
from portal.insights.models import CUBES, RollupRow, RollupState
from portal.tickets.models import Ticket

UTC = dt.timezone.utc


@dataclass
class Measures:
    tickets: int = 0
    responded: int = 0
    response_breached: int = 0
    resolved: int = 0
    resolution_breached: int = 0
    breached: int = 0  # either target breached
    rating_count: int = 0
    rating_sum: int = 0

    def add(self, other: "Measures") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def sla_met(self) -> int:
        """Tickets that breached neither their first-response nor their resolution target."""
        return self.tickets - self.breached

    @property
    def rating_average(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None


MEASURE_NAMES = [f.name for f in fields(Measures)]


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _role_expr():
    return func.coalesce(Membership.job_title, "")


def _live_columns():
    """Dimension expressions over tickets (joined to the requester's membership for the role)."""
    return {
        "day": func.date(Ticket.created_at),
        "tenant_id": Ticket.tenant_id,
        "category_id": Ticket.category_id,
        "channel": Ticket.channel,
        "tier": Ticket.tier,
        "office": Ticket.office,
        "role": _role_expr(),
    }


def _live_measures():
    def flag(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        func.count(Ticket.id).label("tickets"),
        flag(Ticket.first_responded_at.is_not(None)).label("responded"),
        flag(Ticket.first_response_breached.is_(True)).label("response_breached"),
        flag(Ticket.resolved_at.is_not(None)).label("resolved"),
        flag(Ticket.resolution_breached.is_(True)).label("resolution_breached"),
        flag(or_(Ticket.first_response_breached.is_(True), Ticket.resolution_breached.is_(True))).label("breached"),
        func.count(Ticket.rating).label("rating_count"),
        func.coalesce(func.sum(Ticket.rating), 0).label("rating_sum"),
    ]


def live_query(dims: Iterable[str], start: dt.datetime, end: dt.datetime, extra=None):
    """Counts of tickets created in [start, end) grouped by `dims` (see `_live_columns`)."""
    cols = _live_columns()
    dims = list(dims)
    stmt = select(*[cols[d].label(d) for d in dims], *_live_measures()).where(Ticket.created_at >= start, Ticket.created_at < end)
    if "role" in dims:
        stmt = stmt.outerjoin(Membership, and_(Membership.user_id == Ticket.requester_user_id, Membership.tenant_id == Ticket.tenant_id))
    if extra is not None:
        stmt = stmt.where(extra)
    if dims:
        stmt = stmt.group_by(*[cols[d] for d in dims])
    return stmt


def _visible_tenant_ids() -> list[int]:
    """The current tenant, or every tenant when the session crosses tenants."""
    tenant_id = current_tenant_id(db.session)
    if tenant_id is not None and not db.session.info.get("portal.across_tenants"):
        return [tenant_id]
    from portal.tenancy.models import Tenant

    return list(db.session.scalars(select(Tenant.id)))


def rollup_states() -> dict[int, dt.date]:
    """`rolled_through` per tenant visible to the session (one tenant, or all across tenants)."""
    return {tid: as_date(day) for tid, day in db.session.execute(select(RollupState.tenant_id, RollupState.rolled_through))}


def aggregate(cube: str, dims: Iterable[str], first: dt.date, last: dt.date) -> dict[tuple, Measures]:
    """Measures per combination of `dims` for tickets created from day `first` to day `last` (inclusive).

    Runs in the session's scope: one tenant, or every tenant inside `across_tenants`.
    """
    dims = tuple(dims)
    allowed = set(CUBES[cube]) | {"day", "tenant_id"}
    if not set(dims) <= allowed:
        raise ValueError(f"dimensions {dims} are not in cube {cube}")
    states = rollup_states()
    out: dict[tuple, Measures] = defaultdict(Measures)

    def collect(rows):
        for row in rows:
            key = tuple(as_date(v) if d == "day" else v for d, v in zip(dims, row[: len(dims)]))
            out[key].add(Measures(*[int(v or 0) for v in row[len(dims):]]))

    if states:
        rolled = or_(*[and_(RollupRow.tenant_id == tid, RollupRow.day <= through) for tid, through in states.items()])
        cols = {"day": RollupRow.day, "tenant_id": RollupRow.tenant_id, "category_id": RollupRow.category_id, "channel": RollupRow.channel,
                "tier": RollupRow.tier, "office": RollupRow.office, "role": RollupRow.role}
        stmt = (
            select(*[cols[d] for d in dims], *[func.coalesce(func.sum(getattr(RollupRow, n)), 0) for n in MEASURE_NAMES])
            .where(RollupRow.cube == cube, RollupRow.day >= first, RollupRow.day <= last, rolled)
        )
        if dims:
            stmt = stmt.group_by(*[cols[d] for d in dims])
        collect(db.session.execute(stmt))
    # The live part: per tenant, only the days after its rollup, so the (tenant_id, created_at) index
    # narrows every scan to those days (usually today alone).
    end = start_of(last + dt.timedelta(days=1))
    windows = []
    for tid in _visible_tenant_ids():
        begin = max(first, states[tid] + dt.timedelta(days=1)) if tid in states else first
        if begin <= last:
            windows.append(and_(Ticket.tenant_id == tid, Ticket.created_at >= start_of(begin)))
    if windows:
        collect(db.session.execute(live_query(dims, start_of(first), end, or_(*windows))))
    return dict(out)


def _seconds_between(later, earlier):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not values:
        return None
    xs = sorted(values)
    pos = p * (len(xs) - 1)
    low = int(pos)
    high = min(low + 1, len(xs) - 1)
    return xs[low] + (xs[high] - xs[low]) * (pos - low)


def time_percentiles(first: dt.date, last: dt.date, by: str = "tier") -> dict[str, dict[str, float | None]]:
    """Median and 90th percentile, in hours, of first-response and resolution times per `by` (tier),
    for tickets created from `first` to `last`. Wall-clock hours, not business hours."""
    start, end = start_of(first), start_of(last + dt.timedelta(days=1))
    group = getattr(Ticket, by)
    result: dict[str, dict[str, float | None]] = defaultdict(dict)
    for name, done in (("response", Ticket.first_responded_at), ("resolution", Ticket.resolved_at)):
        seconds = _seconds_between(done, Ticket.created_at)
        where = (Ticket.created_at >= start, Ticket.created_at < end, done.is_not(None))
        if db.engine.dialect.name == "postgresql":
            stmt = select(group, func.percentile_cont(0.5).within_group(seconds), func.percentile_cont(0.9).within_group(seconds)).where(*where).group_by(group)
            for key, p50, p90 in db.session.execute(stmt):
                result[key][f"{name}_p50"] = float(p50) / 3600
                result[key][f"{name}_p90"] = float(p90) / 3600
        else:
            values: dict[str, list[float]] = defaultdict(list)
            for key, s in db.session.execute(select(group, seconds).where(*where)):
                values[key].append(float(s))
            for key, xs in values.items():
                result[key][f"{name}_p50"] = percentile(xs, 0.5) / 3600
                result[key][f"{name}_p90"] = percentile(xs, 0.9) / 3600
    return dict(result)
