"""Pre-aggregated ticket figures (the weekly rollup), its progress per tenant, the weeks to redo, and
the article an agent says would have answered a ticket.

The rollup is kept per week (Monday to Sunday, UTC) and per narrow "cube": each row counts the
tickets created in one week that share the values of the cube's dimensions (the other dimension
columns stay empty). `category`, `channel` and `tier` carry every measure (tickets, service levels,
ratings) for one dimension each, a handful of rows per week; `people` is keyed by office (district),
requester role and category, for the concentration of tickets behind training recommendations.
`insight_durations` keeps, per week and tier, every first-response and resolution time in business
seconds, sorted, so that medians and percentiles stay exact when weeks are combined.

A week is rolled up once it is over and never counted again: when a ticket of a rolled-up week
changes (an answer, a resolution, a breach flag, a rating, a new category or tier...), the change
writes, in its own transaction, delta rows (`is_delta`) that take the ticket's old contribution out
and put the new one in (see `tracking`); readers simply add all rows up. `flask insights rollup`
rolls up the weeks that ended and folds the deltas into the weekly rows.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import TenantScoped, db, utcnow
from portal.tickets.models import Ticket

CUBES: dict[str, tuple[str, ...]] = {
    "category": ("category_id",),
    "channel": ("channel",),
    "tier": ("tier",),
    "people": ("office", "role", "category_id"),
}


class RollupRow(TenantScoped, db.Model):
    """Counts of the tickets created in the week starting `week` with the same dimension values in one cube."""

    __tablename__ = "insight_rollups"
    __table_args__ = (Index("ix_insight_rollups_week", "tenant_id", "cube", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cube: Mapped[str] = mapped_column(String(20))
    week: Mapped[dt.date] = mapped_column(Date)  # its Monday
    category_id: Mapped[int | None]  # no foreign key: a deleted category keeps its history
    channel: Mapped[str] = mapped_column(String(20), default="")
    tier: Mapped[str] = mapped_column(String(2), default="")
    office: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(100), default="")
    tickets: Mapped[int] = mapped_column(default=0)
    responded: Mapped[int] = mapped_column(default=0)
    response_breached: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    resolution_breached: Mapped[int] = mapped_column(default=0)
    breached: Mapped[int] = mapped_column(default=0)  # either target breached
    rating_count: Mapped[int] = mapped_column(default=0)
    rating_sum: Mapped[int] = mapped_column(default=0)
    rating_satisfied: Mapped[int] = mapped_column(default=0)  # ratings of 4 or 5
    is_delta: Mapped[bool] = mapped_column(default=False)  # a change since the week was counted (measures may be negative)


class DurationRow(TenantScoped, db.Model):
    """Every first-response or resolution time (business seconds) of one week's tickets of one tier,
    sorted, packed as little-endian 32-bit integers; a delta row (`is_delta`) adds times, or takes
    them out (`removed`)."""

    __tablename__ = "insight_durations"
    __table_args__ = (Index("ix_insight_durations_week", "tenant_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[dt.date] = mapped_column(Date)
    tier: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(12))  # response | resolution
    count: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[bytes] = mapped_column(LargeBinary)
    is_delta: Mapped[bool] = mapped_column(default=False)
    removed: Mapped[bool] = mapped_column(default=False)


class RollupState(TenantScoped, db.Model):
    """How far a tenant's rollup goes: weeks up to `rolled_through` (a Sunday) come from the rollup."""

    __tablename__ = "insight_rollup_states"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rolled_through: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TicketArticleLink(TenantScoped, db.Model):
    """The help article that answers a ticket (or would have), set by an agent.

    The article is kept as its address (slug or URL) and title so the link outlives changes to the
    knowledge base; the count of links per article shows articles users do not find or understand.
    """

    __tablename__ = "insight_ticket_article_links"
    __table_args__ = (UniqueConstraint("tenant_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    article_ref: Mapped[str] = mapped_column(String(300))
    article_title: Mapped[str] = mapped_column(String(300), default="")
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship()


# Dashboards filter tickets of a tenant by creation time (live part, percentiles, topics).
Index("ix_tickets_insights_created", Ticket.tenant_id, Ticket.created_at)
