"""The query layer of insights: ticket figures from the weekly rollup plus the live part.

`gather` answers "how many tickets, breaches, ratings... and which response and resolution times,
per tenant, week, category, channel, tier, office and role, between two days" the same way whether
the weeks were rolled up or not. A week comes from the rollup when it lies wholly inside the period
and is over (up to the tenant's `rolled_through`): its rows, plus the delta rows that later changes
to its tickets wrote (see `tracking`). Every other day of the period (the partial weeks at its ends,
the current week) is counted from `tickets` directly. The rollup builder and the deltas use the very
same function on each ticket (`TicketTally`), so all parts agree by construction.

Definitions, shared with the ticket desk's service levels:
- Weeks start on Monday; days are UTC calendar days of `Ticket.created_at`. A ticket counts in the
  week it was opened, with its current category, channel, tier, office, rating and times, and the
  requester's current job title as role.
- First response late: the SLA checker flagged it, or the first public reply came after the due
  time. Resolution late: flagged, or resolved after the resolution due time (which the desk moves
  on by the business hours spent waiting for the requester).
- Times are business seconds in the tenant's opening hours (`tickets.business_time`), the calendar
  the due times are set in: first response from opening to the first public staff reply;
  resolution from opening to the (latest) resolution, less the business hours spent waiting for
  the requester. So a ticket is late exactly when its time exceeds its target.
"""
from __future__ import annotations

import bisect
import datetime as dt
import sys
import threading
from array import array
from collections import defaultdict
from dataclasses import dataclass, field, fields
from typing import Iterable

from sqlalchemy import and_, func, literal, or_, select

from portal.auth.models import Membership
from portal.core.db import current_tenant_id, db
from portal.insights.models import CUBES, DurationRow, RollupRow, RollupState
from portal.tickets.business_time import BusinessClock
from portal.tickets.models import Ticket

UTC = dt.timezone.utc
KINDS = ("response", "resolution")


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
    rating_satisfied: int = 0  # ratings of 4 or 5

    def add(self, other: "Measures") -> None:
        for name in MEASURE_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

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


def week_of(day: dt.date) -> dt.date:
    """The Monday of the week of `day`."""
    return day - dt.timedelta(days=day.weekday())


# -- one ticket's contribution -------------------------------------------------------------------

def ticket_columns(with_role: bool):
    """What `TicketTally.add` reads of a ticket (the role needs a join to the requester's membership)."""
    role = func.coalesce(Membership.job_title, "") if with_role else literal("")
    return (
        Ticket.tenant_id, Ticket.created_at, Ticket.category_id, Ticket.channel, Ticket.tier, Ticket.office, role.label("role"),
        Ticket.first_responded_at, Ticket.first_response_due_at, Ticket.first_response_breached,
        Ticket.resolved_at, Ticket.resolution_due_at, Ticket.resolution_breached, Ticket.rating, Ticket.waiting_hours,
    )


def ticket_rows(where, with_role: bool, connection=None):
    """The columns of `ticket_columns` of the tickets matching `where`, in the session's scope (or on
    `connection`, unscoped: the change tracker reads rows by id there, in the middle of a flush)."""
    stmt = select(*ticket_columns(with_role)).where(where)
    if with_role:
        stmt = stmt.outerjoin(Membership, and_(Membership.user_id == Ticket.requester_user_id, Membership.tenant_id == Ticket.tenant_id))
    return (connection or db.session).execute(stmt)


# Business clocks kept per thread and tenant: listing the working windows of two years costs more
# than measuring a ticket, and a change to an old ticket would otherwise list them every time.
_clocks = threading.local()


def clocks_for(tenant_ids: Iterable[int], origin: dt.datetime) -> dict[int, BusinessClock]:
    """One business clock per tenant, in its opening hours and time zone, valid from `origin`."""
    from portal.tenancy.models import Tenant

    kept = _clocks.__dict__.setdefault("by_tenant", {})
    clocks = {}
    for tenant_id in set(tenant_ids):
        settings = db.session.get(Tenant, tenant_id).settings
        hours, tz = settings.support.business_hours, settings.tz
        clock = kept.get(tenant_id)
        if clock is None or clock.hours != hours or clock.tz != tz or clock.origin > origin:
            clock = kept[tenant_id] = BusinessClock(hours, tz, origin - dt.timedelta(days=366))
        clocks[tenant_id] = clock
    return clocks


def _add_into(table: dict, key, values) -> None:
    acc = table.get(key)
    if acc is None:
        table[key] = list(values)
    else:
        for i, v in enumerate(values):
            acc[i] += v


class TicketTally:
    """Adds tickets up into the cubes of the rollup: `cubes[name][(tenant, week, *dimensions)]` is the
    list of MEASURE_NAMES values, and `times[(tenant, week, tier, kind)]` the business seconds."""

    def __init__(self, clocks: dict[int, BusinessClock] | None, people: bool = True):
        self.clocks = clocks  # None: times are not wanted
        self.cubes: dict[str, dict[tuple, list[int]]] = {name: {} for name in CUBES if people or name != "people"}
        self.times: dict[tuple, list[int]] = defaultdict(list)

    def add(self, row) -> None:
        (tenant_id, created, category_id, channel, tier, office, role, responded_at, response_due, response_flag,
         resolved_at, resolution_due, resolution_flag, rating, waiting_hours) = row
        week = week_of(created.date())
        response_late = bool(response_flag) or (responded_at is not None and response_due is not None and responded_at > response_due)
        resolution_late = bool(resolution_flag) or (resolved_at is not None and resolution_due is not None and resolved_at > resolution_due)
        values = (1, int(responded_at is not None), int(response_late), int(resolved_at is not None), int(resolution_late),
                  int(response_late or resolution_late), int(rating is not None), rating or 0, int(rating is not None and rating >= 4))
        cubes = self.cubes
        _add_into(cubes["category"], (tenant_id, week, category_id), values)
        _add_into(cubes["channel"], (tenant_id, week, channel), values)
        _add_into(cubes["tier"], (tenant_id, week, tier), values)
        if "people" in cubes:
            _add_into(cubes["people"], (tenant_id, week, office or "", role or "", category_id), values)
        if self.clocks is not None and (responded_at is not None or resolved_at is not None):
            clock = self.clocks[tenant_id]
            opened = clock.elapsed(created)
            if responded_at is not None:
                self.times[(tenant_id, week, tier, "response")].append(max(round(clock.elapsed(max(responded_at, created)) - opened), 0))
            if resolved_at is not None:
                seconds = clock.elapsed(max(resolved_at, created)) - opened - 3600 * (waiting_hours or 0.0)
                self.times[(tenant_id, week, tier, "resolution")].append(max(round(seconds), 0))


def pack(values: list[int]) -> bytes:
    packed = array("i", sorted(values))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(data: bytes) -> array:
    values = array("i")
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


# -- percentiles over sorted parts ----------------------------------------------------------------

def _kth(parts: list, removed: list, k: int) -> int:
    """The k-th smallest (0-based) of the multiset union of sorted integer sequences `parts` less
    those in `removed` (each a subset of the parts), without merging them."""
    lo = min(p[0] for p in parts)
    hi = max(p[-1] for p in parts)
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(bisect.bisect_right(p, mid) for p in parts) - sum(bisect.bisect_right(r, mid) for r in removed) > k:
            hi = mid
        else:
            lo = mid + 1
    return lo


def percentile_of_parts(parts: list, p: float, removed: list = ()) -> float | None:
    """`percentile` of the union of sorted integer sequences, less the values in `removed`."""
    parts = [part for part in parts if len(part)]
    removed = [part for part in removed if len(part)]
    n = sum(len(part) for part in parts) - sum(len(part) for part in removed)
    if n <= 0:
        return None
    pos = p * (n - 1)
    low = int(pos)
    a = _kth(parts, removed, low)
    b = _kth(parts, removed, low + 1) if low + 1 < n and pos > low else a
    return a + (b - a) * (pos - low)


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not values:
        return None
    xs = sorted(values)
    pos = p * (len(xs) - 1)
    low = int(pos)
    high = min(low + 1, len(xs) - 1)
    return xs[low] + (xs[high] - xs[low]) * (pos - low)


# -- the figures of a period ----------------------------------------------------------------------

# The dimensions of the keys of each cube in `Facts` (people without the week: periods are summed in SQL).
CUBE_KEYS = {
    "tier": ("tenant_id", "week", "tier"),
    "category": ("tenant_id", "week", "category_id"),
    "channel": ("tenant_id", "week", "channel"),
    "people": ("tenant_id", "office", "role", "category_id"),
}


@dataclass
class Facts:
    """Ticket figures of one period: per cube, the MEASURE_NAMES values per key (see CUBE_KEYS), and
    the sorted time parts per (tenant_id, tier, kind, removed)."""

    cubes: dict[str, dict[tuple, list[int]]] = field(default_factory=lambda: {name: {} for name in CUBE_KEYS})
    times: dict[tuple, list] = field(default_factory=lambda: defaultdict(list))

    def by(self, *dims: str) -> dict[tuple, Measures]:
        """Measures summed per combination of `dims`, from the first cube that has them all."""
        cube = next(name for name, keys in CUBE_KEYS.items() if set(dims) <= set(keys))
        index = [CUBE_KEYS[cube].index(d) for d in dims]
        out: dict[tuple, list[int]] = {}
        for key, values in self.cubes[cube].items():
            _add_into(out, tuple(key[i] for i in index), values)
        return {key: Measures(*values) for key, values in out.items()}

    def time_percentile(self, tier: str, kind: str, p: float) -> float | None:
        """The `p` percentile of the times of `kind` of the tickets of `tier`, in business hours."""
        parts, removed = [], []
        for (_tid, t, k, out), ps in self.times.items():
            if t == tier and k == kind:
                (removed if out else parts).extend(ps)
        seconds = percentile_of_parts(parts, p, removed)
        return seconds / 3600 if seconds is not None else None


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


def _plan(first: dt.date, last: dt.date, use_rollup: bool = True) -> tuple[dict[int, tuple[dt.date, dt.date]], list[tuple[int, dt.date, dt.date]]]:
    """Which weeks of each tenant come from the rollup ({tenant: (first week, last week)}) and which
    days are counted live ([(tenant, first day, last day)])."""
    states = rollup_states() if use_rollup else {}
    rolled: dict[int, tuple[dt.date, dt.date]] = {}
    live: list[tuple[int, dt.date, dt.date]] = []
    for tid in _visible_tenant_ids():
        through = states.get(tid)
        week = first if first.weekday() == 0 else week_of(first) + dt.timedelta(days=7)
        end = min(last, through) if through else None
        weeks = max(((end - week).days + 1) // 7, 0) if end else 0  # whole weeks from `week` to `end`
        if weeks:
            rolled[tid] = (week, week + dt.timedelta(days=7 * (weeks - 1)))
            if first < week:
                live.append((tid, first, week - dt.timedelta(days=1)))
            after = week + dt.timedelta(days=7 * weeks)
            if after <= last:
                live.append((tid, after, last))
        else:
            live.append((tid, first, last))
    return rolled, live


def gather(first: dt.date, last: dt.date, *, people: bool = True, times: bool = True, use_rollup: bool = True) -> Facts:
    """The ticket figures of the tickets created from day `first` to day `last` (inclusive), in the
    session's scope: one tenant, or every tenant inside `across_tenants`. `use_rollup=False` counts
    everything live (the reference the rollup is checked against)."""
    facts = Facts()
    rolled, live = _plan(first, last, use_rollup)
    if rolled:
        def in_rollup(model):
            return or_(*[and_(model.tenant_id == tid, model.week >= a, model.week <= b) for tid, (a, b) in rolled.items()])

        # The narrow cubes row by row (a few rows per week); the people cube summed over the weeks.
        measures = [func.sum(getattr(RollupRow, n)) for n in MEASURE_NAMES]
        narrow = (RollupRow.cube, RollupRow.tenant_id, RollupRow.week, RollupRow.category_id, RollupRow.channel, RollupRow.tier)
        position = {"category": 3, "channel": 4, "tier": 5}
        for row in db.session.execute(
            select(*narrow, *measures).where(RollupRow.cube.in_(list(position)), in_rollup(RollupRow)).group_by(*narrow)
        ):
            cube = row[0]
            _add_into(facts.cubes[cube], (row[1], as_date(row[2]), row[position[cube]]), [int(v or 0) for v in row[6:]])
        if people:
            dims = (RollupRow.tenant_id, RollupRow.office, RollupRow.role, RollupRow.category_id)
            for row in db.session.execute(select(*dims, *measures).where(RollupRow.cube == "people", in_rollup(RollupRow)).group_by(*dims)):
                _add_into(facts.cubes["people"], tuple(row[:4]), [int(v or 0) for v in row[4:]])
        if times:
            for tid, tier, kind, removed, data in db.session.execute(
                select(DurationRow.tenant_id, DurationRow.tier, DurationRow.kind, DurationRow.removed, DurationRow.seconds).where(in_rollup(DurationRow))
            ):
                facts.times[(tid, tier, kind, bool(removed))].append(unpack(data))
    if live:
        windows = [and_(Ticket.tenant_id == tid, Ticket.created_at >= start_of(a), Ticket.created_at < start_of(b + dt.timedelta(days=1)))
                   for tid, a, b in live]
        tally = TicketTally(clocks_for({tid for tid, _a, _b in live}, start_of(first)) if times else None, people=people)
        for row in ticket_rows(or_(*windows), with_role=people):
            tally.add(row)
        for name, cells in tally.cubes.items():
            for key, values in cells.items():
                _add_into(facts.cubes[name], key if name != "people" else (key[0], *key[2:]), values)
        for (tid, _week, tier, kind), values in tally.times.items():
            facts.times[(tid, tier, kind, False)].append(sorted(values))
    # Deltas can leave a key with nothing in it (every ticket of it moved elsewhere): no such keys.
    facts.cubes = {name: {key: values for key, values in cells.items() if any(values)} for name, cells in facts.cubes.items()}
    facts.times = dict(facts.times)
    return facts
