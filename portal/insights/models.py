"""Pre-aggregated ticket counts (the daily rollup), its progress per tenant, and the article an agent
says would have answered a ticket.

The rollup holds narrow "cubes": each row counts the tickets created on one UTC day that share the
values of the cube's dimensions (the other dimension columns stay empty). `demand` is keyed by
category, channel and tier and carries the service-level and rating measures; `people` is keyed by
category, office (district) and requester role, for the concentration of tickets behind training
recommendations. Narrow cubes keep the number of rows well below the number of tickets.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import TenantScoped, db, utcnow
from portal.tickets.models import Ticket

CUBES: dict[str, tuple[str, ...]] = {
    "demand": ("category_id", "channel", "tier"),
    "people": ("category_id", "office", "role"),
}


class RollupRow(TenantScoped, db.Model):
    """Counts of the tickets created on `day` with the same dimension values in one cube."""

    __tablename__ = "insight_rollups"
    __table_args__ = (Index("ix_insight_rollups_day", "tenant_id", "cube", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cube: Mapped[str] = mapped_column(String(20))
    day: Mapped[dt.date] = mapped_column(Date)
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


class RollupState(TenantScoped, db.Model):
    """How far a tenant's rollup goes: days up to `rolled_through` come from the rollup, later ones live."""

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
