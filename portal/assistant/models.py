"""Conversations with the assistant, every turn (for insights), and hand-over requests."""
from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import TenantScoped, TimestampMixin, db, utcnow
from portal.tickets import models as _tickets  # noqa: F401  (contacts and tickets, referenced below)


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
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str] = mapped_column(String(20), default=Outcome.NO_FEEDBACK.value)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))  # after hand-over

    turns: Mapped[list[Turn]] = relationship(back_populates="conversation", order_by="Turn.id", lazy="select")

    def transcript(self) -> list[dict[str, Any]]:
        """The conversation as the ticket desk stores it: {"role", "text", ...} entries, oldest first."""
        entries: list[dict[str, Any]] = []
        for turn in self.turns:
            entries.extend(turn.as_transcript())
        return entries


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
    # The question was a request for a person ("talk to someone"), not a question the content missed.
    asked_for_person: Mapped[bool] = mapped_column(default=False, server_default=false())
    fallback: Mapped[bool] = mapped_column(default=False)  # answered from another locale
    note: Mapped[str | None] = mapped_column(Text)  # e.g. the fallback-language notice shown with it
    outcome: Mapped[str] = mapped_column(String(20), default=Outcome.NO_FEEDBACK.value, index=True)

    conversation: Mapped[Conversation] = relationship(back_populates="turns")

    @property
    def is_small_talk(self) -> bool:
        """A greeting or thanks, answered with a prompt for the question (no article): not a question."""
        return bool(self.answer) and not self.articles

    def as_transcript(self) -> list[dict[str, Any]]:
        """The turn for the ticket desk: the answer as plain text (an agent reads it in a note, where
        Markdown would show as typed), the article it came from with its address, and `handoff`
        when there was no answer (the desk says so in the agent's language)."""
        from portal.assistant.engine import chat_text

        at = self.created_at.isoformat()
        answer = {"role": "assistant", "text": chat_text(self.answer) if self.answer else "", "at": at,
                  "article": self.article_slug, "confidence": round(self.confidence, 3), "handoff": not self.answer}
        if self.article_slug:
            shown = next((a for a in self.articles or [] if a.get("slug") == self.article_slug), {})
            answer.update(title=self.article_title or self.article_slug, url=shown.get("url"))
        return [{"role": "user", "text": self.question, "at": at, "lang": self.locale}, answer]


class ExampleSource(StrEnum):
    SOLVED = "solved"  # a question whose answer the asker said solved it
    EDITOR = "editor"  # added by an editor of the knowledge base


class Example(TenantScoped, db.Model):
    """A question an article is known to answer, in the words it was asked (`portal.assistant.examples`):
    the assistant ranks that article higher for questions that come close to it. Without an article,
    a question the articles are known not to answer: questions close to it are handed to a person."""

    __tablename__ = "assistant_examples"
    __table_args__ = (Index("ix_assistant_examples_tenant_slug", "tenant_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str | None] = mapped_column(String(200))  # None: a known gap, a question no article answers
    locale: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("assistant_turns.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    author: Mapped["User | None"] = relationship()  # noqa: F821
