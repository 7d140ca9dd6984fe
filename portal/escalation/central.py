"""The central team's work across countries: the console queue, problems, releases, the upgrade board.

THIS is the one module of the escalation domain that reads across tenants, always through
`across_tenants(db.session, actor)` (the actor must be an L3 expert or a platform administrator;
anyone else raises CrossTenantDenied) or, for operator jobs and the consequences of a roll-out,
with SYSTEM. What an expert changes in one country (a reply, returning a ticket) runs in that
country's scope through `portal.escalation.services`, after the ticket is found here.

L3 reaches a tenant's ticket only through an escalation to L3 (`TierStep.to_tier == "L3"`): never
a tenant's whole queue.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.auth.models import Membership, User
from portal.auth.permissions import GLOBAL_PERMISSIONS, Permission, Role
from portal.core.db import SYSTEM, across_tenants, db, like_escaped, tenant_scope, utcnow
from portal.core.i18n import date_pattern
from portal.core.mail import queue_mail
from portal.escalation import github, services, signals
from portal.escalation.models import (
    ExpertReply,
    Problem,
    ProblemStatus,
    ProblemTicket,
    Release,
    Severity,
    TierStep,
)
from portal.escalation.services import EscalationError
from portal.escalation.similarity import rank, tokens
from portal.escalation.versions import carries_fix, first_fix_for, is_newer, parse_version
from portal.tenancy.models import Tenant
from portal.tenancy.services import list_tenants
from portal.tickets.models import ACTIVE_STATUSES, Message, Ticket, Tier
from portal.tickets.services import lock as lock_tickets
from portal.tickets.services import normal_reference

CONSOLE_STATUSES = ("open", "returned", "resolved", "all")
CONSOLE_ORDERS = ("due", "age", "recent")
CONSOLE_OWNERS = ("me", "none")  # the open escalations the reader owns, or that nobody owns


def _require_expert(actor: User | None) -> None:
    if actor is None or not getattr(actor, "is_expert", False):
        raise EscalationError(_("Only the central team can do this."), 403)


def _latest_l3_steps():
    """Ids of each ticket's latest escalation to L3 (a ticket appears once in the console)."""
    return select(func.max(TierStep.id)).where(TierStep.to_tier == Tier.L3.value, TierStep.is_escalation.is_(True)).group_by(TierStep.ticket_id)


# -- the console queue -----------------------------------------------------------------------------


@dataclass
class EscalationFilters:
    tenant: str | None = None
    severity: str | None = None
    status: str = "open"
    q: str | None = None
    sort: str = "due"  # due (soonest SLA first) or age (oldest first) or recent
    news: bool = False  # only escalations with new information from the country (see `_news_criteria`)
    owner: str | None = None  # one of CONSOLE_OWNERS (see `_owner_criteria`)


@dataclass
class ConsoleRow:
    step: TierStep
    ticket: Ticket
    tenant: Tenant
    problems: list[Problem] = field(default_factory=list)  # filled for the console queue
    has_news: bool = False  # the console queue's mark: see `_news_criteria`

    @property
    def period(self) -> services.TierPeriod:
        """The ticket's time with the central team, ended when it was sent back, or resolved or
        closed while there (as the ticket's tier history counts it)."""
        step = self.step
        return services.TierPeriod(step.to_tier, step.created_at, services.step_end(step, self.ticket), step.due_at, step)

    @property
    def age(self) -> dt.timedelta:
        return (self.period.ended_at or utcnow()) - self.step.created_at

    @property
    def sla_state(self) -> str:
        """met, breached, running or none (no target)."""
        return self.period.state

    @property
    def is_open(self) -> bool:
        return self.step.ended_at is None and self.ticket.status in ACTIVE_STATUSES

    @property
    def owner(self) -> User | None:
        """The expert handling it while it is with the central team; nobody once it was sent back or resolved."""
        return self.step.owner if self.is_open else None

    @property
    def shares_contact(self) -> bool:
        return services.shares_contact_with_l3(self.tenant)

    @property
    def subject(self) -> str:
        """The ticket's subject, with any email or phone hidden unless the country shares them."""
        return self.ticket.subject if self.shares_contact else services.mask_text(self.ticket.subject)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.step.id,
            "tenant": self.tenant.slug,
            "reference": self.ticket.reference,
            "subject": self.subject,
            "status": "open" if self.is_open else ("resolved" if self.ticket.status not in ACTIVE_STATUSES else "returned"),
            "ticket_status": self.ticket.status,
            "severity": self.step.severity,
            "opencrvs_version": self.step.opencrvs_version,
            "escalated_at": self.step.created_at.isoformat(),
            "age_hours": round(self.age.total_seconds() / 3600, 1),
            "due_at": self.step.due_at.isoformat() if self.step.due_at else None,
            "sla": self.sla_state,
            "owner": {"email": self.owner.email, "name": self.owner.display_name} if self.owner is not None else None,
            "has_news": self.has_news,
            "problems": [
                {"id": p.id, "title": p.title, "status": p.status, "github_url": p.github_url or None, "github_state": p.github_state or None}
                for p in self.problems
            ],
        }


def _console_rows(*columns):
    """The latest escalation to L3 of each ticket, in the active countries."""
    return (
        select(*columns)
        .select_from(TierStep)
        .join(Ticket, Ticket.id == TierStep.ticket_id)
        .join(Tenant, Tenant.id == TierStep.tenant_id)
        .where(TierStep.id.in_(_latest_l3_steps()), Tenant.is_active.is_(True))
    )


def _status_criteria(status: str) -> tuple:
    """What an escalation in a status of the console meets ("all": nothing more)."""
    if status == "open":
        return TierStep.with_central_team()
    if status == "returned":
        return (TierStep.ended_at.is_not(None), Ticket.status.in_(ACTIVE_STATUSES))
    if status == "resolved":
        return (Ticket.status.not_in(ACTIVE_STATUSES),)
    return ()


def _news_criteria() -> tuple:
    """What an escalation with new information from the country meets: it is with the central team,
    and since it arrived the country wrote on its ticket (its staff, or the requester: not the
    escalation's own note, not the system, not the central team's answer relayed by Level 2) after
    every answer of the experts and every link they made to a problem. One EXISTS per row, in the
    console's own query."""
    later_answer = select(ExpertReply.id).where(ExpertReply.ticket_id == Message.ticket_id, ExpertReply.created_at >= Message.created_at)
    later_link = select(ProblemTicket.id).where(ProblemTicket.ticket_id == Message.ticket_id, ProblemTicket.created_at >= Message.created_at)
    central_team = select(ExpertReply.id).where(or_(ExpertReply.message_id == Message.id, ExpertReply.relayed_message_id == Message.id))
    unanswered = select(Message.id).where(
        Message.ticket_id == TierStep.ticket_id,
        Message.created_at >= TierStep.created_at,
        or_(TierStep.note_message_id.is_(None), Message.id != TierStep.note_message_id),
        or_(Message.author_user_id.is_not(None), Message.author_contact_id.is_not(None)),
        ~central_team.exists(), ~later_answer.exists(), ~later_link.exists(),
    )
    return (*_status_criteria("open"), unanswered.exists())


def _owner_criteria(owner: str, actor: User) -> tuple:
    """What an escalation the actor owns ("me"), or nobody owns ("none"), meets: like the news, an
    owner is of the escalations with the central team (`TierStep.is_with_central_team`)."""
    if owner == "me":
        return (*_status_criteria("open"), TierStep.owner_id == actor.id)
    return (*_status_criteria("open"), TierStep.owner_id.is_(None))


def _console_query(filters: EscalationFilters, actor: User):
    status = filters.status if filters.status in CONSOLE_STATUSES else "open"
    stmt = _console_rows(TierStep, Ticket, Tenant, and_(*_news_criteria()).label("has_news")).where(*_status_criteria(status))
    if filters.news:
        stmt = stmt.where(*_news_criteria())
    if filters.owner in CONSOLE_OWNERS:
        stmt = stmt.where(*_owner_criteria(filters.owner, actor))
    if filters.tenant:
        stmt = stmt.where(Tenant.slug == filters.tenant)
    if filters.severity:
        stmt = stmt.where(TierStep.severity == filters.severity)
    if filters.q and filters.q.strip():
        q = filters.q.strip()
        pattern = "%" + like_escaped(q) + "%"
        stmt = stmt.where(
            or_(Ticket.reference == (normal_reference(q) or q.upper()), Ticket.subject.ilike(pattern, escape="\\"), TierStep.search_text.ilike(pattern, escape="\\"))
        )
    if filters.sort == "age":
        return stmt.order_by(TierStep.created_at, TierStep.id)
    if filters.sort == "recent":
        return stmt.order_by(TierStep.created_at.desc(), TierStep.id.desc())
    return stmt.order_by(TierStep.due_at.is_(None), TierStep.due_at, TierStep.id)


def list_escalations(actor: User, filters: EscalationFilters, page: int = 1, per_page: int = 50, counts: dict[str, int] | None = None) -> tuple[list[ConsoleRow], int]:
    """One page of escalations to L3 from every country, and how many match in all.

    `counts` are the console's counts per status (`console_counts`), when the caller has them: a
    filter on the status alone then takes its total there instead of counting again."""
    _require_expert(actor)
    page, per_page = max(1, page), max(1, min(per_page, 200))
    stmt = _console_query(filters, actor)
    status = filters.status if filters.status in CONSOLE_STATUSES else "open"
    with across_tenants(db.session, actor):
        if counts is not None and not (filters.tenant or filters.severity or filters.news or filters.owner or (filters.q and filters.q.strip())):
            total = counts[status]
        else:
            total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        page_of_rows = stmt.options(selectinload(TierStep.owner)).offset((page - 1) * per_page).limit(per_page)
        rows = [ConsoleRow(step, ticket, tenant, has_news=bool(news)) for step, ticket, tenant, news in db.session.execute(page_of_rows).all()]
        linked = db.session.execute(
            select(ProblemTicket.ticket_id, Problem).join(Problem, Problem.id == ProblemTicket.problem_id)
            .where(ProblemTicket.ticket_id.in_([r.ticket.id for r in rows] or [-1])).order_by(Problem.id)
        ).all()
    for row in rows:
        row.problems = [problem for ticket_id, problem in linked if ticket_id == row.ticket.id]
    return rows, total or 0


def console_counts(actor: User) -> dict[str, int]:
    """How many escalations the console holds in each status, how many have new information from
    the country ("news"), and how many the actor owns ("mine") or nobody owns ("nobody"), counted
    in one pass."""
    _require_expert(actor)
    counters = [func.count().filter(*criteria) if (criteria := _status_criteria(s)) else func.count() for s in CONSOLE_STATUSES]
    counters += [func.count().filter(and_(*criteria)) for criteria in (_news_criteria(), _owner_criteria("me", actor), _owner_criteria("none", actor))]
    with across_tenants(db.session, actor):
        *per_status, news, mine, nobody = db.session.execute(_console_rows(*counters)).one()
    return {**{s: n or 0 for s, n in zip(CONSOLE_STATUSES, per_status)}, "news": news or 0, "mine": mine or 0, "nobody": nobody or 0}


def get_escalation(actor: User, step_id: int) -> ConsoleRow | None:
    """An escalation to L3 (any country) by id; None for any other step: L3 sees nothing else."""
    _require_expert(actor)
    with across_tenants(db.session, actor):
        step = db.session.get(TierStep, step_id)
        if step is None or step.to_tier != Tier.L3.value or not step.is_escalation:
            return None
        return ConsoleRow(step, step.ticket, step.tenant)


@dataclass
class ExpertView:
    """What an expert sees of an escalated ticket: contacts masked unless the country shares them."""

    row: ConsoleRow
    shares_contact: bool
    requester_name: str
    requester_email: str
    requester_phone: str
    messages: list[tuple[Message, str, bool]]  # message, body to show, is an expert reply
    history: list[services.TierPeriod]
    reason: str
    details: list[tuple[str, str]]
    problems: list[Problem]
    steps: list[TierStep] = field(default_factory=list)


def expert_view(actor: User, row: ConsoleRow) -> ExpertView:
    _require_expert(actor)
    tenant, ticket = row.tenant, row.ticket
    share = services.shares_contact_with_l3(tenant)
    show = (lambda text: text) if share else services.mask_text
    with across_tenants(db.session, actor):
        contact = ticket.contact
        replies = set(db.session.scalars(select(ExpertReply.message_id).where(ExpertReply.ticket_id == ticket.id)))
        messages = list(db.session.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.created_at, Message.id)))
        shown = [(m, show(m.body), m.id in replies) for m in messages]
        problems = problems_of_ticket(row)
        with tenant_scope(db.session, tenant.id):
            history = services.tier_history(tenant, ticket)
        for m, _body, _r in shown:  # load what the template reads while the scope is lifted
            _ = m.author_name, list(m.attachments)
    return ExpertView(
        row=row,
        shares_contact=share,
        requester_name=contact.name,
        requester_email=(contact.email or "") if share else services.mask_email(contact.email),
        requester_phone=(contact.phone or "") if share else services.mask_phone(contact.phone),
        messages=shown,
        history=history,
        reason=show(row.step.reason),
        details=[(label, show(value)) for label, value in services.details_summary(row.step)],
        problems=problems,
    )


def problems_of_ticket(row: ConsoleRow) -> list[Problem]:
    """The problems the escalated ticket is recorded as an occurrence of, oldest first."""
    with tenant_scope(db.session, row.tenant.id):
        return list(db.session.scalars(select(Problem).join(ProblemTicket, ProblemTicket.problem_id == Problem.id)
                                       .where(ProblemTicket.ticket_id == row.ticket.id).order_by(Problem.id)))


def expert_attachment(actor: User, step_id: int, attachment_id: int):
    """An attachment of an escalated ticket, for the central team (None if not on that ticket)."""
    from portal.tickets.models import Attachment

    row = get_escalation(actor, step_id)
    if row is None:
        return None
    with across_tenants(db.session, actor):
        attachment = db.session.get(Attachment, attachment_id)
    return attachment if attachment is not None and attachment.ticket_id == row.ticket.id else None


def reply_to_l2(actor: User, step_id: int, body: str, attachments: Iterable[tuple[str, Any]] = ()) -> ExpertReply:
    """The expert answers the country's L2 team (an internal note they may relay)."""
    row = _existing(actor, step_id)
    with tenant_scope(db.session, row.tenant.id):
        ticket = db.session.get(Ticket, row.ticket.id)
        return services.post_expert_reply(row.tenant, actor, ticket, body, attachments)


def return_to_l2(actor: User, step_id: int, reason: str) -> TierStep:
    row = _existing(actor, step_id)
    with tenant_scope(db.session, row.tenant.id):
        ticket = db.session.get(Ticket, row.ticket.id)
        if ticket.tier != Tier.L3.value:
            raise EscalationError(_("This ticket is no longer with the central team."), 409)
        return services.deescalate_ticket(row.tenant, actor, ticket, reason)


def experts_for_select(actor: User) -> list[User]:
    """Who may own an escalation: every active account whose global role opens the console."""
    _require_expert(actor)
    roles = [role.value for role, granted in GLOBAL_PERMISSIONS.items() if Permission.EXPERT_CONSOLE in granted]
    return list(db.session.scalars(select(User).where(User.global_role.in_(roles), User.is_active_account.is_(True)).order_by(User.name, User.email)))


def set_escalation_owner(actor: User, step_id: int, owner_id: int | None, *, seen_owner_id: int | None | EllipsisType = ...) -> User | None:
    """Give an escalation to an expert (the actor taking it, or a colleague), or to nobody
    (`owner_id` None): see `services.set_owner`. Returns the owner it has now."""
    row = _existing(actor, step_id)
    owner = db.session.get(User, owner_id) if owner_id is not None else None
    if owner_id is not None and owner is None:
        message = _("Only an active member of the central team can own an escalation.")
        raise EscalationError(message, 422, {"owner": message})
    with tenant_scope(db.session, row.tenant.id):
        ticket = db.session.get(Ticket, row.ticket.id)
        step = db.session.get(TierStep, row.step.id)
        services.set_owner(row.tenant, actor, ticket, step, owner, seen_owner_id=seen_owner_id)
    return owner


def _existing(actor: User, step_id: int) -> ConsoleRow:
    row = get_escalation(actor, step_id)
    if row is None:
        raise EscalationError(_("This escalation does not exist."), 404)
    return row


# -- problems --------------------------------------------------------------------------------------


def create_problem(actor: User, *, title: str, description: str = "", severity: str | None = None, external_url: str = "", step_ids: Sequence[int] = ()) -> Problem:
    """A problem record for one defect; the escalations given are linked to it. An escalation that
    is already an occurrence of a problem makes no second one (a form sent twice, a page gone back to):
    it is linked to another problem on purpose, from the list of problems."""
    _require_expert(actor)
    title = (title or "").strip()[:300]
    if not title:
        raise EscalationError(_("Give the problem a title."), 422, {"title": _("Give the problem a title.")})
    url = (external_url or "").strip()[:500]
    if url and not url.startswith(("https://", "http://")):
        raise EscalationError(_("The external issue must be a web address."), 422, {"external_url": _("The external issue must be a web address.")})
    rows = list({row.ticket.id: row for row in (_existing(actor, step_id) for step_id in step_ids)}.values())
    for row in rows:
        with tenant_scope(db.session, row.tenant.id):
            # Held until the commit below: the same form sent twice at once, or by two experts,
            # waits here and then finds the first problem.
            lock_tickets(row.ticket)
        if linked := problems_of_ticket(row):
            db.session.rollback()
            raise EscalationError(_("This ticket is already recorded as problem #%(id)s.", id=linked[0].id), 409)
    problem = Problem(title=title, description=(description or "").strip(), severity=severity if severity in {s.value for s in Severity} else None, external_url=url, created_by_id=actor.id)
    db.session.add(problem)
    db.session.flush()
    for row in rows:
        with tenant_scope(db.session, row.tenant.id):
            db.session.add(ProblemTicket(tenant_id=row.tenant.id, problem_id=problem.id, ticket_id=row.ticket.id, linked_by_id=actor.id))
            db.session.flush()
    db.session.commit()
    return problem


def update_problem(actor: User, problem: Problem, *, title: str, description: str, external_url: str, severity: str | None, status: str | None = None) -> None:
    """Save what the central team edits of a problem; a status set to "awaiting release" tells the countries."""
    _require_expert(actor)
    if not (title or "").strip():
        raise EscalationError(_("Give the problem a title."), 422, {"title": _("Give the problem a title.")})
    url = (external_url or "").strip()[:500]
    if url and not url.startswith(("https://", "http://")):
        raise EscalationError(_("The external issue must be a web address."), 422, {"external_url": _("The external issue must be a web address.")})
    problem.title, problem.description, problem.external_url = title.strip()[:300], (description or "").strip(), url
    problem.severity = severity if severity in {s.value for s in Severity} else None
    now_awaiting = False
    if status in {s.value for s in ProblemStatus} and status != problem.status:
        problem.status = status
        problem.closed_at = utcnow() if status == ProblemStatus.CLOSED.value else None
        now_awaiting = status == ProblemStatus.AWAITING_RELEASE.value
    db.session.commit()
    if now_awaiting:
        _tell_countries_fix_awaits_release([problem.id])


def _tell_countries_fix_awaits_release(problem_ids: list[int]) -> None:
    """Each country's Level 2 hears that the fix for these problems is done and on its way. The
    problems' status is saved already: a country that fails is logged and the others still hear."""
    for tenant in list_tenants():
        try:
            with tenant_scope(db.session, tenant.id):
                services.note_fix_awaiting_release(tenant, problem_ids)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("telling %s that problems %s await a release failed", tenant.slug, problem_ids)


def get_problem(actor: User, problem_id: int) -> Problem | None:
    _require_expert(actor)
    return db.session.get(Problem, problem_id)


def link_escalation(actor: User, step_id: int, problem_id: int) -> ProblemTicket:
    """Record the escalated ticket as an occurrence of the problem (idempotent)."""
    row = _existing(actor, step_id)
    problem = db.session.get(Problem, problem_id)
    if problem is None:
        raise EscalationError(_("This problem does not exist."), 404)
    with tenant_scope(db.session, row.tenant.id):
        lock_tickets(row.ticket)  # the same link made twice at once: the second finds the first's
        link = db.session.scalar(select(ProblemTicket).where(ProblemTicket.problem_id == problem.id, ProblemTicket.ticket_id == row.ticket.id))
        if link is None:
            link = ProblemTicket(tenant_id=row.tenant.id, problem_id=problem.id, ticket_id=row.ticket.id, linked_by_id=actor.id)
            db.session.add(link)
            if problem.status == ProblemStatus.CLOSED.value:
                problem.status, problem.closed_at = _reopened_status(problem).value, None
            db.session.commit()
    return link


def _reopened_status(problem: Problem) -> ProblemStatus:
    """Where a closed problem goes back to when a new occurrence is linked."""
    if problem.releases:
        return ProblemStatus.FIX_RELEASED
    return ProblemStatus.AWAITING_RELEASE if problem.issue_is_fixed else ProblemStatus.OPEN


def unlink_ticket(actor: User, problem: Problem, link_id: int) -> None:
    _require_expert(actor)
    with across_tenants(db.session, actor):
        link = db.session.get(ProblemTicket, link_id)
        if link is None or link.problem_id != problem.id:
            raise EscalationError(_("This ticket is not linked to the problem."), 404)
        db.session.delete(link)
        db.session.commit()


def merge_problem(actor: User, problem: Problem, target_id: int | None) -> Problem:
    """`problem` was the same defect as problem `target_id`: its tickets and releases move there, and it
    is deleted. A ticket linked to both stays linked once; the target keeps its issue, and its status
    follows what it now has, as if the tickets had been linked and the releases recorded there: a
    release makes an open problem "fix released" and is rolled out, a ticket still waiting reopens a
    closed one."""
    _require_expert(actor)
    target = db.session.get(Problem, target_id) if target_id else None
    if target is None or target.id == problem.id:
        raise EscalationError(_("Choose another problem to merge this one into."), 422)
    with across_tenants(db.session, actor):
        kept = set(db.session.scalars(select(ProblemTicket.ticket_id).where(ProblemTicket.problem_id == target.id)))
        waiting = False
        for link in db.session.scalars(select(ProblemTicket).where(ProblemTicket.problem_id == problem.id)).all():
            if link.ticket_id in kept:
                db.session.delete(link)
            else:
                link.problem_id = target.id
                waiting = waiting or link.resolved_at is None
        target.releases.extend(release for release in problem.releases if release not in target.releases)
        if target.status == ProblemStatus.CLOSED.value and waiting:
            target.status, target.closed_at = _reopened_status(target).value, None
        db.session.flush()
        db.session.delete(problem)
        db.session.commit()
    if target.releases:  # as after a release is recorded: the roll-out, then the status it leads to
        rollout_everywhere(SYSTEM)
        refresh_problem_statuses([target.id])
    return target


@dataclass
class ProblemSummary:
    problem: Problem
    tenants: list[str]
    tickets: int
    open_tickets: int


def list_problems(actor: User, status: str | None = None, q: str | None = None) -> list[ProblemSummary]:
    _require_expert(actor)
    stmt = select(Problem).order_by(Problem.status == ProblemStatus.CLOSED.value, Problem.updated_at.desc())
    if status in {s.value for s in ProblemStatus}:
        stmt = stmt.where(Problem.status == status)
    if q and q.strip():
        stmt = stmt.where(Problem.title.ilike("%" + q.strip().replace("%", "") + "%"))
    problems = list(db.session.scalars(stmt.options(selectinload(Problem.releases)).limit(500)))
    with across_tenants(db.session, actor):
        # Counted in SQL, per problem and country: a few rows per problem, however many tickets.
        rows = db.session.execute(
            select(ProblemTicket.problem_id, Tenant.name, func.count(), func.count().filter(Ticket.status.in_(ACTIVE_STATUSES)))
            .join(Tenant, Tenant.id == ProblemTicket.tenant_id)
            .join(Ticket, Ticket.id == ProblemTicket.ticket_id)
            .where(ProblemTicket.problem_id.in_([p.id for p in problems] or [-1]))
            .group_by(ProblemTicket.problem_id, Tenant.name)
        ).all()
    counts: dict[int, tuple[set[str], int, int]] = {}
    for problem_id, name, tickets, active in rows:
        names, total, open_tickets = counts.get(problem_id, (set(), 0, 0))
        counts[problem_id] = (names | {name}, total + tickets, open_tickets + active)
    summary = []
    for p in problems:
        names, total, open_tickets = counts.get(p.id, (set(), 0, 0))
        summary.append(ProblemSummary(p, sorted(names), total, open_tickets))
    return summary


@dataclass
class TenantFixStatus:
    tenant: Tenant
    affected: bool
    fixed: bool
    target: str | None
    links: list[ProblemTicket]
    tickets: int = 0  # tickets linked in this country: more than `links` when only the most recent are loaded


@dataclass
class ProblemDetail:
    problem: Problem
    links: list[ProblemTicket]
    tenants: list[TenantFixStatus]
    steps_by_ticket: dict[int, int]
    tickets: int = 0  # tickets linked in all


def problem_detail(actor: User, problem: Problem, limit: int | None = None) -> ProblemDetail:
    """The problem, its tickets per country, and which countries already run a fixing version.
    With `limit`, only the most recent links are loaded; the counts per country are of all of them."""
    _require_expert(actor)
    fixes, released_on = services.fixing_versions(problem), services.release_days()
    with across_tenants(db.session, actor):
        shown = select(ProblemTicket.id).where(ProblemTicket.problem_id == problem.id)
        if limit is not None:
            shown = shown.order_by(ProblemTicket.id.desc()).limit(limit)
        links = list(db.session.scalars(
            select(ProblemTicket).where(ProblemTicket.id.in_(shown))
            .options(joinedload(ProblemTicket.ticket), joinedload(ProblemTicket.tenant))
            .order_by(ProblemTicket.tenant_id, ProblemTicket.id)
        ))
        per_tenant = Counter(l.tenant_id for l in links)
        if limit is not None and len(links) >= limit:  # there may be more than were loaded
            per_tenant = Counter(dict(db.session.execute(
                select(ProblemTicket.tenant_id, func.count()).where(ProblemTicket.problem_id == problem.id).group_by(ProblemTicket.tenant_id)
            ).all()))
        steps = dict(
            db.session.execute(
                select(TierStep.ticket_id, func.max(TierStep.id)).where(TierStep.ticket_id.in_([l.ticket_id for l in links] or [-1]), TierStep.to_tier == Tier.L3.value).group_by(TierStep.ticket_id)
            ).all()
        )
    statuses = []
    for tenant in list_tenants():
        mine = [l for l in links if l.tenant_id == tenant.id]
        statuses.append(TenantFixStatus(tenant, bool(per_tenant[tenant.id]), carries_fix(tenant.opencrvs_version, fixes, released_on),
                                        first_fix_for(tenant.opencrvs_version, fixes, released_on), mine, per_tenant[tenant.id]))
    statuses.sort(key=lambda s: (not s.affected, s.fixed, s.tenant.name))
    return ProblemDetail(problem, links, statuses, steps, sum(per_tenant.values()))


@dataclass
class Suggestion:
    score: float
    row: ConsoleRow | None = None
    problem: Problem | None = None


def suggest_duplicates(actor: User, row: ConsoleRow, limit: int = 5) -> tuple[list[Suggestion], list[Suggestion]]:
    """Escalations (from any country) and problems whose text is close to this escalation's."""
    _require_expert(actor)
    query = tokens(row.step.search_text or row.ticket.subject, row.ticket.locale)
    with across_tenants(db.session, actor):
        # Rank on plain columns; only the few best matches are loaded as objects.
        candidates = db.session.execute(
            select(TierStep.id, TierStep.search_text, Ticket.locale)
            .join(Ticket, Ticket.id == TierStep.ticket_id)
            .where(TierStep.id.in_(_latest_l3_steps()), TierStep.ticket_id != row.ticket.id, TierStep.created_at >= utcnow() - dt.timedelta(days=365))
            .order_by(TierStep.id.desc())
            .limit(2000)
        ).all()
        best = rank(query, [tokens(text, locale) for _id, text, locale in candidates])[:limit]
        ids = [candidates[i][0] for i, _score in best]
        loaded = {
            r[0].id: ConsoleRow(*r)
            for r in db.session.execute(
                select(TierStep, Ticket, Tenant).join(Ticket, Ticket.id == TierStep.ticket_id).join(Tenant, Tenant.id == TierStep.tenant_id).where(TierStep.id.in_(ids or [-1]))
            ).all()
        }
        linked = set(db.session.scalars(select(ProblemTicket.problem_id).where(ProblemTicket.ticket_id == row.ticket.id)))
    similar = [Suggestion(score, row=loaded[candidates[i][0]]) for i, score in best]
    problems = [p for p in db.session.scalars(select(Problem).where(Problem.status != ProblemStatus.CLOSED.value).limit(1000)) if p.id not in linked]
    matching = [Suggestion(score, problem=problems[i]) for i, score in rank(query, [tokens(f"{p.title}\n{p.description}") for p in problems], threshold=0.1)[:limit]]
    return similar, matching


def problems_for_select(actor: User) -> list[Problem]:
    _require_expert(actor)
    return list(db.session.scalars(select(Problem).where(Problem.status != ProblemStatus.CLOSED.value).order_by(Problem.title)))


def refresh_problem_statuses(problem_ids: Iterable[int]) -> None:
    """Close a problem once a fix is released and every affected country has reached it.

    Runs as SYSTEM: it follows a tenant's roll-out (reported by that tenant's deployment), reads
    only which links are still unresolved, and returns nothing to the caller.
    """
    ids = list(problem_ids)
    if not ids:
        return
    with across_tenants(db.session, SYSTEM):
        waiting = dict(
            db.session.execute(
                select(ProblemTicket.problem_id, func.count(ProblemTicket.id)).where(ProblemTicket.problem_id.in_(ids), ProblemTicket.resolved_at.is_(None)).group_by(ProblemTicket.problem_id)
            ).all()
        )
        for problem in db.session.scalars(select(Problem).where(Problem.id.in_(ids))):
            if not problem.releases or problem.status == ProblemStatus.CLOSED.value:
                continue
            if not waiting.get(problem.id):
                problem.status, problem.closed_at = ProblemStatus.CLOSED.value, utcnow()
            else:
                problem.status = ProblemStatus.FIX_RELEASED.value
        db.session.commit()


@signals.rollout_applied.connect
def _close_reached_problems(app, tenant, problem_ids, **_extra) -> None:
    refresh_problem_statuses(problem_ids)


# -- GitHub --------------------------------------------------------------------------------------


def create_github_issue(actor: User, problem: Problem) -> Problem:
    """Open an issue for the problem in the configured repository and keep its number, URL, state.
    The issue names the countries and versions affected, never a requester."""
    _require_expert(actor)
    if problem.github_number:
        raise EscalationError(_("This problem already has a GitHub issue."), 409)
    detail = problem_detail(actor, problem)
    lines = [problem.description or problem.title, "", "Affected countries:"]
    for status in detail.tenants:
        if status.affected:
            lines.append(f"- {status.tenant.name}: OpenCRVS {status.tenant.opencrvs_version}, {status.tickets} report(s)")
    try:
        info = github.create_issue(problem.title, "\n".join(lines), labels=["support-escalation"])
    except github.GitHubError as exc:
        raise EscalationError(str(exc), 502) from None
    problem.github_number, problem.github_url, problem.github_synced_at = info.number, info.url, utcnow()
    problem.github_updated_at = info.updated_at
    _follow_issue(problem, info)
    if not problem.external_url:
        problem.external_url = info.url
    db.session.commit()
    return problem


def refresh_github_states(actor: Any, problem: Problem | None = None) -> list[tuple[Problem, str]]:
    """Read the state of the problems' GitHub issues (one problem, or every problem not closed);
    returns the problems whose issue changed state, with the new state.

    A closed issue moves an open problem to "awaiting release"; it resolves no ticket: tickets are
    resolved only when their country runs a release that fixes the problem."""
    if actor is not SYSTEM:
        _require_expert(actor)
    problems = [problem] if problem is not None else list(db.session.scalars(select(Problem).where(Problem.github_number.is_not(None), Problem.status != ProblemStatus.CLOSED.value)))
    changed = []
    awaiting: list[int] = []
    for p in problems:
        if not p.github_number:
            continue
        try:
            info = github.get_issue(p.github_number)
        except github.GitHubError as exc:
            raise EscalationError(str(exc), 502) from None
        before = (p.github_state, p.github_state_reason)
        if _take_issue_state(p, info):
            awaiting.append(p.id)
        if (p.github_state, p.github_state_reason) != before:  # taken, and not older than the state kept
            changed.append((p, p.github_state))
    db.session.commit()
    if awaiting:
        _tell_countries_fix_awaits_release(awaiting)
    return changed


def apply_github_issue(info: github.IssueInfo) -> list[Problem]:
    """An issue's state as GitHub reported it (its webhook): the problems following that issue move
    as a sync would move them. Returns them."""
    problems = list(db.session.scalars(select(Problem).where(Problem.github_number == info.number,
                                                             Problem.status != ProblemStatus.CLOSED.value)))
    awaiting = [p.id for p in problems if _take_issue_state(p, info)]
    db.session.commit()
    if awaiting:
        _tell_countries_fix_awaits_release(awaiting)
    return problems


def _take_issue_state(problem: Problem, info: github.IssueInfo) -> bool:
    """Record the issue's state on the problem (not committed); True if that made the fix await a release.

    GitHub may deliver webhooks late, twice or out of order: a state older than the one kept (by
    the issue's own `updated_at`) is news already overtaken ("closed" arriving after "reopened")."""
    if info.updated_at is not None and problem.github_updated_at is not None and info.updated_at < problem.github_updated_at:
        return False
    problem.github_updated_at = info.updated_at or problem.github_updated_at
    problem.github_url = info.url or problem.github_url
    problem.github_synced_at = utcnow()
    before = problem.status
    _follow_issue(problem, info)
    return problem.status == ProblemStatus.AWAITING_RELEASE.value != before


def _follow_issue(problem: Problem, info: github.IssueInfo) -> None:
    """Keep the issue's state, and move the problem when the issue moves: closed as done means the
    fix is in the code and waits for a release; reopened (or closed as not planned) means it does
    not. Only a change of the issue moves it, so a status the central team set by hand stays."""
    was_fixed = problem.issue_is_fixed
    problem.github_state, problem.github_state_reason = info.state, info.state_reason
    if problem.issue_is_fixed and not was_fixed and problem.status == ProblemStatus.OPEN.value and not problem.releases:
        problem.status = ProblemStatus.AWAITING_RELEASE.value
    elif was_fixed and not problem.issue_is_fixed and problem.status == ProblemStatus.AWAITING_RELEASE.value:
        problem.status = ProblemStatus.OPEN.value


# -- releases and roll-out -----------------------------------------------------------------------


def list_releases() -> list[Release]:
    releases = list(db.session.scalars(select(Release)))
    return sorted(releases, key=lambda r: parse_version(r.version) or parse_version("0"), reverse=True)


def record_release(actor: User, *, version: str, released_on: dt.date | None, notes: str = "", problem_ids: Sequence[int] = ()) -> Release:
    """Record a release and the problems it fixes; countries already on a fixing version get their
    tickets resolved at once, and tenant administrators are told of the release."""
    _require_expert(actor)
    value = (version or "").strip().removeprefix("v")
    if parse_version(value) is None:
        raise EscalationError(_("“%(value)s” is not a version number such as 1.9.0.", value=value[:40]), 422, {"version": _("Give a version number such as 1.9.0.")})
    # "1.9" is 1.9.0: one version, whichever way it was written.
    same = next((r for r in db.session.scalars(select(Release)) if parse_version(r.version) == parse_version(value)), None)
    if same is not None:
        raise EscalationError(_("Release %(version)s is already recorded.", version=same.version), 409, {"version": _("Already recorded.")})
    problems = list(db.session.scalars(select(Problem).where(Problem.id.in_(list(problem_ids) or [-1]))))
    release = Release(version=value, released_on=released_on or utcnow().date(), notes=(notes or "").strip(), created_by_id=actor.id, problems=problems)
    db.session.add(release)
    for problem in problems:
        if problem.status in (ProblemStatus.OPEN.value, ProblemStatus.AWAITING_RELEASE.value):
            problem.status = ProblemStatus.FIX_RELEASED.value
    db.session.commit()
    rollout_everywhere(SYSTEM)
    refresh_problem_statuses([p.id for p in problems])
    signals.release_recorded.send(current_app._get_current_object(), release=release)
    return release


def rollout_everywhere(actor: Any) -> dict[str, list[str]]:
    """Apply the roll-out in every country (after a release, or as an operator job)."""
    if actor is not SYSTEM:
        _require_expert(actor)
    done: dict[str, list[str]] = {}
    for tenant in list_tenants():
        with tenant_scope(db.session, tenant.id):
            resolved = services.apply_rollout(tenant)
        if resolved:
            done[tenant.slug] = [t.reference for t in resolved]
    return done


def releases_newer_than(tenant: Tenant) -> list[Release]:
    """Releases a tenant does not run yet (newer than its deployed version), newest first."""
    return [r for r in list_releases() if is_newer(r.version, tenant.opencrvs_version)]


@dataclass
class BoardRow:
    tenant: Tenant
    latest: str | None
    behind: bool
    awaiting: list[Problem]  # problems with a fix this tenant does not run yet
    last_reported: dt.datetime | None


def upgrade_board(actor: User) -> list[BoardRow]:
    """Every country's deployed version against the latest release, and the fixes it is waiting for."""
    _require_expert(actor)
    from portal.escalation.models import Deployment

    releases = list_releases()
    latest = releases[0].version if releases else None
    with across_tenants(db.session, actor):
        affected = db.session.execute(select(ProblemTicket.tenant_id, ProblemTicket.problem_id).where(ProblemTicket.resolved_at.is_(None)).distinct()).all()
        reported = dict(db.session.execute(select(Deployment.tenant_id, func.max(Deployment.created_at)).group_by(Deployment.tenant_id)).all())
    problems = {p.id: p for p in db.session.scalars(select(Problem).where(Problem.id.in_(sorted({pid for _t, pid in affected}) or [-1])).options(selectinload(Problem.releases)))}
    released_on = services.release_days()
    board = []
    for tenant in list_tenants():
        # As the problem's page says: a country running a version that carries the fix waits for
        # no release, even with tickets left open (reported on that version, or linked after it).
        waiting = [problems[pid] for tid, pid in affected if tid == tenant.id and pid in problems and problems[pid].releases
                   and not carries_fix(tenant.opencrvs_version, services.fixing_versions(problems[pid]), released_on)]
        waiting = sorted({p.id: p for p in waiting}.values(), key=lambda p: p.id)
        board.append(BoardRow(tenant, latest, is_newer(latest, tenant.opencrvs_version), waiting, reported.get(tenant.id)))
    return sorted(board, key=lambda r: (parse_version(r.tenant.opencrvs_version) or parse_version("0"), r.tenant.name))


def tenant_admins() -> list[tuple[Tenant, User]]:
    """Every active tenant administrator, with their tenant (read as SYSTEM to tell them of a release)."""
    with across_tenants(db.session, SYSTEM):
        rows = db.session.execute(
            select(Membership.tenant_id, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.role == Role.TENANT_ADMIN.value, Membership.is_active.is_(True), User.is_active_account.is_(True))
        ).all()
    tenants = {t.id: t for t in list_tenants()}
    return [(tenants[tid], user) for tid, user in rows if tid in tenants]


@signals.release_recorded.connect
def _tell_tenant_admins(app, release, **_extra) -> None:
    for tenant, user in tenant_admins():
        if not is_newer(release.version, tenant.opencrvs_version):
            continue
        with force_locale(tenant.best_locale(user.locale)):
            subject = _("OpenCRVS %(version)s is released", version=release.version)
            text = "\n\n".join(
                [
                    _("OpenCRVS %(version)s was released on %(date)s. %(country)s runs %(current)s.", version=release.version, date=format_date(release.released_on, date_pattern(tenant.best_locale(user.locale))), country=tenant.name, current=tenant.opencrvs_version),
                    release.notes,
                    ngettext("It fixes %(num)s problem reported by countries. When your deployment is upgraded, the portal resolves the related requests and tells the requesters.",
                             "It fixes %(num)s problems reported by countries. When your deployment is upgraded, the portal resolves the related requests and tells the requesters.",
                             len(release.problems)),
                ]
            )
        queue_mail(user.email, subject, text)
    db.session.commit()  # the signal comes after the release is committed: the notices on their own
