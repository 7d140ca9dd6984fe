"""The durable inbox and outbox of every channel, and the per-requester thread state of instant channels."""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from portal.core.db import TenantScoped, TimestampMixin, db, utcnow
from portal.core.queue import Queued
from portal.core.security import storable


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored raw, not processed yet (or processing crashed)
    PROCESSED = "processed"
    QUARANTINED = "quarantined"  # could not be understood or processing failed: kept for an admin
    IGNORED = "ignored"  # auto-reply, bounce, delivery status, our own mail: never a ticket


class OutboundStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by one worker
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"  # gave up, or the provider reported a permanent failure


class InboundMessage(TenantScoped, TimestampMixin, db.Model):
    """One message as the provider gave it, stored before anything else happens to it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "channel", "provider_id"),
        Index("ix_inbound_messages_status", "status", "created_at"),
        Index("ix_inbound_messages_inbox", "tenant_id", "status", "created_at"),  # a country's inbox, by status
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="message")  # message | status | bounce
    provider_id: Mapped[str] = mapped_column(String(500))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default=InboundStatus.RECEIVED)
    error: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")  # subject or first words, for the admin list
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[dt.datetime | None]
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    ticket_message_id: Mapped[int | None]

    # What a provider sends is not checked before it is stored: its text fields are made storable
    # (no NUL, no half emoji) and cut to their columns here, once for every channel.
    limits = {"provider_id": 500, "sender": 320, "summary": 300, "error": None, "kind": 20}

    @validates(*limits)
    def _storable(self, name: str, value: str) -> str:
        return storable(value, self.limits[name])


class OutboundMessage(Queued, TenantScoped, TimestampMixin, db.Model):
    """One message to send, written in the same transaction as what caused it, sent by a worker."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    provider_id: Mapped[str | None] = mapped_column(String(500), index=True)
    deliveries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{status, at, error}]
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    ticket_message_id: Mapped[int | None] = mapped_column(index=True)

    def record_delivery(self, status: str, error: str = "", at: dt.datetime | None = None) -> None:
        """Append a provider status (sent, delivered, read, failed) and move the message forward."""
        at = at or utcnow()
        self.deliveries = [*(self.deliveries or []), {"status": status, "at": at.isoformat(), "error": error}]
        order = [OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.READ]
        if status == OutboundStatus.FAILED:
            self.status = OutboundStatus.FAILED
            self.last_error = error or self.last_error
        elif status in order and self.status in order and order.index(status) > order.index(self.status):
            self.status = status


class ChannelThread(TenantScoped, TimestampMixin, db.Model):
    """A requester on one instant channel: their chat id, assistant conversation, open ticket, last message time."""

    __tablename__ = "channel_threads"
    __table_args__ = (UniqueConstraint("tenant_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))  # WhatsApp id or Telegram chat id
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    conversation_id: Mapped[str | None] = mapped_column(String(100))
    ticket_id: Mapped[int | None]
    contact_id: Mapped[int | None]
    last_inbound_at: Mapped[dt.datetime | None]
