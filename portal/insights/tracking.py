"""Marks the rolled-up weeks whose figures a change makes stale, in the transaction of the change.

A ticket counts in the week it was opened, so a change to a ticket opened in a week that is already
rolled up (an answer, a resolution, a breach flag, a rating, a new category or tier...) marks that
week in `insight_dirty_weeks`; so does a new job title of a requester, for the weeks of their
tickets. Dashboards count marked weeks live and the next rollup counts them again: the figures stay
exact between runs, and weeks nothing touched are never counted again.

Changes are noted before the flush (when the old values are still known) and written after it, with
plain inserts that cannot conflict with a concurrent writer.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from portal.auth.models import Membership
from portal.core.db import current_tenant_id
from portal.insights.facts import start_of, week_of
from portal.insights.models import DirtyWeek, RollupState
from portal.tickets.models import Ticket, TicketEvent

# The ticket columns any figure of the rollup depends on.
TRACKED = (
    "tenant_id", "created_at", "category_id", "channel", "tier", "office", "requester_user_id",
    "first_responded_at", "first_response_due_at", "first_response_breached",
    "resolved_at", "resolution_due_at", "resolution_breached", "rating", "waiting_hours",
)
_NOTES = "insights.changes"


def _notes(session: Session) -> dict[str, set]:
    return session.info.setdefault(_NOTES, {"moments": set(), "tickets": set(), "requesters": set()})


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context, instances) -> None:
    notes = None
    for obj in session.dirty:
        if isinstance(obj, Ticket):
            state = inspect(obj)
            histories = [state.attrs[name].history for name in TRACKED]
            if not any(h.has_changes() for h in histories):
                continue
            notes = notes or _notes(session)
            tenants = {obj.tenant_id, *state.attrs.tenant_id.history.deleted}
            for moment in {obj.created_at, *state.attrs.created_at.history.deleted}:
                for tenant_id in tenants:
                    notes["moments"].add((tenant_id, moment))
        elif isinstance(obj, Membership) and inspect(obj).attrs.job_title.history.has_changes():
            notes = notes or _notes(session)
            notes["requesters"].add((obj.tenant_id, obj.user_id))
    for obj in session.new:
        if isinstance(obj, Ticket) and obj.created_at is not None:  # opened with a past date: an import
            (notes := notes or _notes(session))["moments"].add((obj.tenant_id or current_tenant_id(session), obj.created_at))
        elif isinstance(obj, TicketEvent) and obj.ticket_id is not None:  # also after changes made in SQL (breach flags)
            (notes := notes or _notes(session))["tickets"].add(obj.ticket_id)
        elif isinstance(obj, Membership) and obj.job_title:
            (notes := notes or _notes(session))["requesters"].add((obj.tenant_id or current_tenant_id(session), obj.user_id))
    for obj in session.deleted:
        if isinstance(obj, Ticket):
            (notes := notes or _notes(session))["moments"].add((obj.tenant_id, obj.created_at))
        elif isinstance(obj, Membership):
            (notes := notes or _notes(session))["requesters"].add((obj.tenant_id, obj.user_id))


@event.listens_for(Session, "after_flush")
def _mark_weeks(session: Session, flush_context) -> None:
    notes = session.info.pop(_NOTES, None)
    if not notes:
        return
    conn = session.connection()
    states = RollupState.__table__
    rolled = dict(conn.execute(select(states.c.tenant_id, states.c.rolled_through)).all())
    if not rolled:
        return
    tickets = Ticket.__table__
    moments = {(tid, m) for tid, m in notes["moments"] if tid in rolled and m is not None}
    loaded = {t.id: t for t in session.identity_map.values() if isinstance(t, Ticket) and t.id in notes["tickets"]}
    moments.update((t.tenant_id, t.created_at) for t in loaded.values())
    unknown = notes["tickets"] - set(loaded)
    if unknown:
        moments.update(conn.execute(select(tickets.c.tenant_id, tickets.c.created_at).where(tickets.c.id.in_(unknown))).all())
    for tenant_id, user_id in notes["requesters"]:
        if tenant_id in rolled:
            moments.update(conn.execute(
                select(tickets.c.tenant_id, tickets.c.created_at).where(
                    tickets.c.tenant_id == tenant_id, tickets.c.requester_user_id == user_id,
                    tickets.c.created_at < start_of(rolled[tenant_id] + dt.timedelta(days=1)))
            ).all())
    weeks = {(tid, week_of(m.date())) for tid, m in moments if tid in rolled and m is not None and m.date() <= _as_date(rolled[tid])}
    if weeks:
        conn.execute(insert(DirtyWeek.__table__), [{"tenant_id": tid, "week": week} for tid, week in sorted(weeks)])


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    session.info.pop(_NOTES, None)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])
