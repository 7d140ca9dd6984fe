"""Escalation across tiers, problems shared by several countries, releases and deployed versions.

Tenant-owned rows (`TenantScoped`): the tier steps of a ticket, the expert replies L2 may relay,
the link of a problem to a tenant's ticket, and a tenant's deployment history. Platform-level rows
(no tenant): problems, releases and which release fixes which problem. A problem itself holds no
tenant data: what it touches in a country is reached through `ProblemTicket`, which stays scoped.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import TenantScoped, TimestampMixin, db, utcnow
from portal.tickets.models import ACTIVE_STATUSES, Ticket, Tier


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def label(self) -> str:
        return str(SEVERITY_LABELS[self])

    @property
    def short_label(self) -> str:
        """The severity in a word, for badges and tables."""
        return str(SEVERITY_SHORT_LABELS[self])


SEVERITY_LABELS = {
    Severity.CRITICAL: _l("Critical: registration stopped"),
    Severity.HIGH: _l("High: a main task is blocked for many users"),
    Severity.MEDIUM: _l("Medium: a workaround exists"),
    Severity.LOW: _l("Low: minor or cosmetic"),
}

SEVERITY_SHORT_LABELS = {
    Severity.CRITICAL: lazy_pgettext("severity", "Critical"),
    Severity.HIGH: lazy_pgettext("severity", "High"),
    Severity.MEDIUM: lazy_pgettext("severity", "Medium"),
    Severity.LOW: lazy_pgettext("severity", "Low"),
}


class Environment(StrEnum):
    PRODUCTION = "production"
    STAGING = "staging"
    TRAINING = "training"
    DEVELOPMENT = "development"

    @property
    def label(self) -> str:
        return str(ENVIRONMENT_LABELS[self])


ENVIRONMENT_LABELS = {
    Environment.PRODUCTION: _l("Production"),
    Environment.STAGING: _l("Staging"),
    Environment.TRAINING: _l("Training"),
    Environment.DEVELOPMENT: _l("Development"),
}


class ProblemStatus(StrEnum):
    OPEN = "open"  # being investigated
    AWAITING_RELEASE = "awaiting_release"  # fixed in the code (its GitHub issue closed as done); no release yet
    FIX_RELEASED = "fix_released"  # a release fixes it; countries still upgrading
    CLOSED = "closed"  # every affected country runs a fixing version, or closed by hand

    @property
    def label(self) -> str:
        return str(PROBLEM_STATUS_LABELS[self])


PROBLEM_STATUS_LABELS = {
    ProblemStatus.OPEN: lazy_pgettext("problem status", "Open"),
    ProblemStatus.AWAITING_RELEASE: _l("Fixed, awaiting a release"),
    ProblemStatus.FIX_RELEASED: _l("Fix released"),
    ProblemStatus.CLOSED: lazy_pgettext("problem status", "Closed"),
}


class TierStep(TenantScoped, db.Model):
    """One move of a ticket between tiers (up: escalation, down: de-escalation), with its reason,
    the technical details given, and the service level of the tier it moved to."""

    __tablename__ = "tier_steps"
    __table_args__ = (
        Index("ix_tier_steps_ticket", "ticket_id", "created_at"),
        # The central console: current L3 steps across tenants, oldest first.
        Index("ix_tier_steps_open", "to_tier", "ended_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    from_tier: Mapped[str] = mapped_column(String(2))
    to_tier: Mapped[str] = mapped_column(String(2))
    is_escalation: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str | None] = mapped_column(String(10))
    opencrvs_version: Mapped[str] = mapped_column(String(40), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note_message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id", ondelete="SET NULL"))
    # The expert handling an escalation to L3, and since when. It counts while the escalation is with
    # the central team (`ConsoleRow.owner`): the next escalation of the ticket is a new step, unowned.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    owned_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    ticket: Mapped["Ticket"] = relationship()  # noqa: F821
    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_user_id])  # noqa: F821
    owner: Mapped["User | None"] = relationship(foreign_keys=[owner_id])  # noqa: F821
    tenant: Mapped["Tenant"] = relationship()  # noqa: F821

    # "With the central team": the escalation to Level 3 is where its ticket is now (not sent back),
    # and the ticket is active. Only then is it open in the console, anyone's to own, or counted in
    # the experts' figures. One definition, in Python for a row and in SQL for a query.
    def is_with_central_team(self, ticket: Ticket) -> bool:
        return self.to_tier == Tier.L3.value and self.is_escalation and self.ended_at is None and ticket.status_enum.is_active

    @staticmethod
    def with_central_team() -> tuple:
        """The same as SQL criteria, for a query that joins `Ticket` to the step."""
        return (TierStep.to_tier == Tier.L3.value, TierStep.is_escalation.is_(True), TierStep.ended_at.is_(None),
                Ticket.status.in_(ACTIVE_STATUSES))

    @property
    def severity_enum(self) -> Severity | None:
        return Severity(self.severity) if self.severity else None


class ExpertReply(TenantScoped, db.Model):
    """An L3 expert's answer, posted as an internal note for L2; L2 may relay it to the requester."""

    __tablename__ = "expert_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id", ondelete="CASCADE"), unique=True)
    relayed_message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id", ondelete="SET NULL"))
    relayed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    relayed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    message: Mapped["Message"] = relationship(foreign_keys=[message_id])  # noqa: F821


class Problem(TimestampMixin, db.Model):
    """One defect of the core product, possibly reported by several countries (platform-level)."""

    __tablename__ = "problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=ProblemStatus.OPEN.value)
    severity: Mapped[str | None] = mapped_column(String(10))
    external_url: Mapped[str] = mapped_column(String(500), default="")
    github_number: Mapped[int | None]
    github_url: Mapped[str] = mapped_column(String(500), default="")
    github_state: Mapped[str] = mapped_column(String(20), default="")
    github_state_reason: Mapped[str] = mapped_column(String(20), default="")  # completed, not_planned, reopened
    github_synced_at: Mapped[dt.datetime | None]
    github_updated_at: Mapped[dt.datetime | None]  # the issue's own time of its state kept here: older news is dropped
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[dt.datetime | None]

    releases: Mapped[list["Release"]] = relationship(secondary="release_fixes", back_populates="problems", order_by="Release.released_on")

    @property
    def status_enum(self) -> ProblemStatus:
        return ProblemStatus(self.status)

    @property
    def severity_enum(self) -> Severity | None:
        return Severity(self.severity) if self.severity else None

    @property
    def github_state_label(self) -> str:
        """The GitHub issue's state in the reader's language ("closed, not planned", "open"…)."""
        if self.github_state == "closed":
            return str(_l("closed, not planned") if self.github_state_reason == "not_planned" else _l("closed"))
        if self.github_state == "open":
            return str(_l("open"))
        return self.github_state or "?"

    @property
    def issue_is_fixed(self) -> bool:
        """Its GitHub issue is closed as done (not as "not planned"): the fix is in the code."""
        return self.github_state == "closed" and self.github_state_reason in ("", "completed")


class ProblemTicket(TenantScoped, db.Model):
    """A tenant's ticket that is an occurrence of a problem; `resolved_at` is set by the roll-out."""

    __tablename__ = "problem_tickets"
    __table_args__ = (UniqueConstraint("problem_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[dt.datetime | None]
    resolved_version: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    problem: Mapped[Problem] = relationship()
    ticket: Mapped["Ticket"] = relationship()  # noqa: F821
    tenant: Mapped["Tenant"] = relationship()  # noqa: F821

    @property
    def is_reopened(self) -> bool:
        """The roll-out resolved its ticket (or found it resolved) and it is active again: the
        requester wrote that the problem is still there, and the fix is for the central team to look at."""
        return self.resolved_at is not None and self.ticket.status_enum.is_active


class Release(TimestampMixin, db.Model):
    """A release of the core product, with the problems it fixes."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    released_on: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    problems: Mapped[list[Problem]] = relationship(secondary="release_fixes", back_populates="releases")


class ReleaseFix(db.Model):
    """Release R fixes problem P."""

    __tablename__ = "release_fixes"

    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True)


class Deployment(TenantScoped, db.Model):
    """A change of the OpenCRVS version a tenant runs: who reported it, how, from what to what."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_tenant_time", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40))
    previous_version: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(20))  # api, admin, demo
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    actor: Mapped["User | None"] = relationship()  # noqa: F821
