"""Conversations with the assistant, every turn (for insights), and hand-over requests."""
from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import TenantScoped, TimestampMixin, db, utcnow


class Outcome(StrEnum):
    NO_FEEDBACK = "no_feedback"
    SOLVED = "solved"
    HANDED_OVER = "handed_over"


def new_conversation_key() -> str:
    return secrets.token_urlsafe(18)


class Conversation(TenantScoped, TimestampMixin, db.Model):
    """One conversation on one channel. `key` is the public id; knowing it is what gives access."""

    __tablename__ = "assistant_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True, default=new_conversation_key)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    locale: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(index=True)  # a ticket-desk contact (other channels)
    outcome: Mapped[str] = mapped_column(String(20), default=Outcome.NO_FEEDBACK.value)

    turns: Mapped[list[Turn]] = relationship(back_populates="conversation", order_by="Turn.id", lazy="select")

    def transcript(self) -> list[dict[str, Any]]:
        """The conversation as plain data, oldest first, for a ticket or a hand-over."""
        return [turn.as_transcript() for turn in self.turns]


class Turn(TenantScoped, db.Model):
    """One question and what the assistant did with it."""

    __tablename__ = "assistant_turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("assistant_conversations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    locale: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)  # None when the assistant abstained
    article_slug: Mapped[str | None] = mapped_column(String(200), index=True)
    article_title: Mapped[str | None] = mapped_column(String(300))
    articles: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    confidence: Mapped[float] = mapped_column(default=0.0)
    handoff: Mapped[bool] = mapped_column(default=False)  # abstained and offered a person
    fallback: Mapped[bool] = mapped_column(default=False)  # answered from another locale
    note: Mapped[str | None] = mapped_column(Text)  # e.g. the fallback-language notice shown with it
    outcome: Mapped[str] = mapped_column(String(20), default=Outcome.NO_FEEDBACK.value, index=True)

    conversation: Mapped[Conversation] = relationship(back_populates="turns")

    def as_transcript(self) -> dict[str, Any]:
        return {
            "at": self.created_at.isoformat(),
            "question": self.question,
            "answer": self.answer,
            "article": self.article_slug,
            "confidence": round(self.confidence, 3),
            "lang": self.locale,
        }


class HandoverRequest(TenantScoped, TimestampMixin, db.Model):
    """A request to talk to a person, with the transcript, waiting for the support team."""

    __tablename__ = "assistant_handover_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("assistant_conversations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None]
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    ticket_id: Mapped[int | None]

    conversation: Mapped[Conversation] = relationship()
