"""The ticket desk: tickets, their conversation and audit trail, requesters (contacts), categories,
who is in which support group, canned responses and the counters that number tickets without gaps.

Text search uses `Ticket.search_document`; its PostgreSQL GIN index is created in the migration
(named `*_fts`, which migration comparisons leave aside).
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import versions
from portal.core.db import TenantScoped, TimestampMixin, db, utcnow


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"  # waiting on the requester
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])

    @property
    def is_active(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)

    @property
    def is_hand_picked(self) -> bool:
        """Whether people may set it themselves: "Escalated" comes only with an escalation (a step
        with its reason, and Level 2 told), made by `portal.escalation.services`."""
        return self is not Status.ESCALATED


STATUS_LABELS = {
    Status.NEW: _l("New"),
    Status.OPEN: _l("Open"),
    Status.WAITING: _l("Waiting on requester"),
    Status.ESCALATED: _l("Escalated"),
    Status.RESOLVED: _l("Resolved"),
    Status.CLOSED: _l("Closed"),
}

# Which status may follow which. A closed ticket stays closed: the requester opens a new one.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.WAITING, Status.ESCALATED, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.WAITING, Status.ESCALATED, Status.RESOLVED, Status.CLOSED}),
    Status.WAITING: frozenset({Status.OPEN, Status.ESCALATED, Status.RESOLVED, Status.CLOSED}),
    Status.ESCALATED: frozenset({Status.OPEN, Status.WAITING, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
ACTIVE_STATUSES = tuple(s.value for s in Status if s.is_active)
HAND_PICKED_STATUSES = tuple(s for s in Status if s.is_hand_picked)
_ACTIVE_NOT_MERGED = "merged_into_id IS NULL AND status IN (%s)" % ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def label(self) -> str:
        return str(PRIORITY_LABELS[self])


PRIORITY_LABELS = {
    Priority.URGENT: _l("Urgent"),
    Priority.HIGH: _l("High"),
    Priority.NORMAL: _l("Normal"),
    Priority.LOW: _l("Low"),
}


class Tier(StrEnum):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class Channel(StrEnum):
    WEB = "web"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    API = "api"
    ASSISTANT = "assistant"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return str(CHANNEL_LABELS[self])


CHANNEL_LABELS = {
    Channel.WEB: _l("Portal"),
    Channel.EMAIL: _l("Email"),
    Channel.WHATSAPP: "WhatsApp",
    Channel.TELEGRAM: "Telegram",
    Channel.API: "API",
    Channel.ASSISTANT: _l("Assistant"),
    Channel.SYSTEM: _l("System"),
}

# The generic categories every tenant starts with (key, English name, French name).
GENERIC_CATEGORIES = [
    ("access-and-login", "Access and login", "Accès et connexion"),
    ("declarations", "Declarations", "Déclarations"),
    ("validation-and-registration", "Validation and registration", "Validation et enregistrement"),
    ("certificates-and-printing", "Certificates and printing", "Actes et impression"),
    ("corrections", "Corrections", "Rectifications"),
    ("offline-and-sync", "Offline and sync", "Hors ligne et synchronisation"),
    ("devices-and-connectivity", "Devices and connectivity", "Appareils et connexion réseau"),
    ("reports", "Reports", "Rapports"),
    ("other", "Other", "Autre"),
]


class Counter(TenantScoped, db.Model):
    """A per-tenant sequence (`reference`, `rr:<group>`), advanced by one atomic UPDATE ... RETURNING.

    Taken inside the transaction that uses the number, so a rolled-back ticket gives its number back
    and references stay gapless; the row lock (PostgreSQL) or the write lock (SQLite) serialises.
    """

    __tablename__ = "ticket_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    value: Mapped[int] = mapped_column(default=0)


class Contact(TenantScoped, TimestampMixin, db.Model):
    """Someone who asks for help: a portal user, or a person known only by email, phone or chat id."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    whatsapp_id: Mapped[str | None] = mapped_column(String(64), index=True)
    telegram_id: Mapped[str | None] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    locale: Mapped[str | None] = mapped_column(String(16))

    user: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.phone or self.whatsapp_id or self.telegram_id or "?"


class Category(TenantScoped, db.Model):
    """A tenant's ticket category, with localized names and the group its tickets are routed to."""

    __tablename__ = "ticket_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    group_key: Mapped[str | None] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("en") or next(iter(self.names.values()), self.key)


class GroupMember(TenantScoped, db.Model):
    """A support staff member's place in a group. The groups themselves (key, level, name) are the
    country's `[tiers.groups.<key>]` of tenant.toml; who is in them is kept here, changed by the
    tenant administrator on the Tiers page. The file's `members` lists only seed these rows.

    A member deactivated or moved off the desk keeps their rows (readers only count active staff):
    given their role back, they are in their groups again.
    """

    __tablename__ = "ticket_group_members"
    __table_args__ = (UniqueConstraint("tenant_id", "group_key", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def groups_version(tenant_id: int) -> str:
    """The version name (portal.core.versions) of a tenant's group membership: who may be assigned
    its tickets changes with it."""
    return f"groups:{tenant_id}"


versions.watch(GroupMember, lambda row: (groups_version(row.tenant_id),))


class Ticket(TenantScoped, TimestampMixin, db.Model):
    """A request tracked to resolution, numbered per tenant (`FAR-000123`)."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "reference"),
        # The queue views: active tickets of a tenant by status, group, assignee, newest activity first.
        Index(
            "ix_tickets_queue", "tenant_id", "status", "last_activity_at",
            # Covers the per-view counts of the queue: an index-only scan, whatever the heap order.
            postgresql_include=[
                "merged_into_id", "assignee_id", "group_key", "first_responded_at", "first_response_due_at",
                "resolution_due_at", "first_response_breached", "resolution_breached",
            ],
        ),
        Index("ix_tickets_assignee", "tenant_id", "assignee_id", "status"),
        Index("ix_tickets_group", "tenant_id", "group_key", "status"),
        Index("ix_tickets_activity", "tenant_id", "last_activity_at", "id"),
        Index("ix_tickets_requester", "tenant_id", "requester_user_id", "last_activity_at"),
        # A country's tickets of a period, with who opened them (the insights: deflection, live figures).
        Index("ix_tickets_created", "tenant_id", "created_at", "requester_user_id"),
        Index("ix_tickets_due", "status", "resolution_due_at"),
        # The "breaching" view: a tenant's active tickets by resolution target.
        Index("ix_tickets_breaching", "tenant_id", "resolution_due_at", "id",
              postgresql_where=text(_ACTIVE_NOT_MERGED), sqlite_where=text(_ACTIVE_NOT_MERGED)),
        # The tickets merged into one, on its page: few rows ever have a value.
        Index("ix_tickets_merged_into", "merged_into_id",
              postgresql_where=text("merged_into_id IS NOT NULL"), sqlite_where=text("merged_into_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int]
    reference: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW.value)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NORMAL.value)
    tier: Mapped[str] = mapped_column(String(2), default=Tier.L1.value)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.WEB.value)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_categories.id", ondelete="SET NULL"))
    group_key: Mapped[str | None] = mapped_column(String(60))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    requester_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opencrvs_version: Mapped[str] = mapped_column(String(40), default="")
    office: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    transcript: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    kb_suggestion_opened: Mapped[bool] = mapped_column(default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # Service levels: due times in business hours, breach flags set once by `tickets sla-check`.
    first_response_due_at: Mapped[dt.datetime | None]
    resolution_due_at: Mapped[dt.datetime | None]
    first_responded_at: Mapped[dt.datetime | None]
    first_response_breached: Mapped[bool] = mapped_column(default=False)
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    waiting_since: Mapped[dt.datetime | None]
    # Business hours spent waiting for the requester, added up when each wait ends: the resolution
    # clock stops meanwhile, so reports measure resolution time without them, like the due time.
    waiting_hours: Mapped[float] = mapped_column(default=0.0, server_default="0")
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    last_activity_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    rating: Mapped[int | None]
    rating_comment: Mapped[str] = mapped_column(Text, default="")
    # Words of the subject and of every message, for text search within the tenant: a tsvector
    # with a GIN index on PostgreSQL (made in the migration), lowercase text on SQLite.
    search_document: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"), deferred=True)

    contact: Mapped[Contact] = relationship()
    category: Mapped[Category | None] = relationship()
    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])  # noqa: F821
    merged_into: Mapped["Ticket | None"] = relationship(remote_side=[id])

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def is_breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached

    def allowed_statuses(self) -> list[Status]:
        """The statuses a person may move the ticket to by hand (not "Escalated": see `Status.is_hand_picked`)."""
        return sorted((s for s in TRANSITIONS[Status(self.status)] if s.is_hand_picked), key=list(Status).index)


class Message(TenantScoped, db.Model):
    """One entry of a ticket's conversation: a public reply or an internal note (staff only)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_ticket", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(default=True)
    is_from_staff: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str] = mapped_column(String(20), default=Channel.WEB.value)
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    author_user: Mapped["User | None"] = relationship()  # noqa: F821
    author_contact: Mapped[Contact | None] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="message", order_by="Attachment.id")

    @property
    def author_name(self) -> str:
        if self.author_user is not None:
            return self.author_user.display_name
        if self.author_contact is not None:
            return self.author_contact.display_name
        return str(_l("System"))


class Attachment(TenantScoped, db.Model):
    """A file sent with a message, stored on disk under ATTACHMENTS_DIR by its SHA-256."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    message: Mapped[Message | None] = relationship(back_populates="attachments")
    ticket: Mapped[Ticket] = relationship()


class TicketEvent(TenantScoped, db.Model):
    """The audit trail: who changed which field of a ticket, when, from what to what."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    actor: Mapped["User | None"] = relationship()  # noqa: F821


class Mention(TenantScoped, db.Model):
    """A colleague named with @ in a message."""

    __tablename__ = "ticket_mentions"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class CannedResponse(TenantScoped, TimestampMixin, db.Model):
    """A saved reply in one language; its body may cite country values (`{{ country.name }}`)."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
