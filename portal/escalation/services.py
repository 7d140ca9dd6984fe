"""Escalation inside one tenant: moving a ticket between tiers, expert replies and their relay,
the tier history with its service levels, the deployed version, and the roll-out of fixes.

Every function takes the tenant and the acting user and runs in that tenant's scope (the caller
scopes the session: a request under `/<tenant>/`, or `tenant_scope` in `central.py` and the CLI).
Reading across tenants is never done here: see `portal/escalation/central.py`.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, selectinload

from portal.auth.models import User
from portal.auth.permissions import Permission
from portal.auth.services import permissions_in
from portal.core.db import db, utcnow
from portal.escalation import signals
from portal.escalation.models import (
    Deployment,
    Environment,
    ExpertReply,
    Problem,
    ProblemStatus,
    ProblemTicket,
    Release,
    Severity,
    TierStep,
)
from portal.escalation.versions import carries_fix, first_fix_for, is_newer, parse_version
from portal.tenancy.models import Tenant
from portal.tenancy.settings import OPENCRVS_VERSION_PATTERN
from portal.tenancy.signals import tenant_settings_changed
from portal.tickets import services as tickets
from portal.tickets import signals as ticket_signals
from portal.tickets.business_time import add_business_hours
from portal.tickets.models import Attachment, Category, Channel, Message, Status, Ticket, TicketEvent, Tier
from portal.tickets.storage import store_file

TIER_ORDER = (Tier.L1.value, Tier.L2.value, Tier.L3.value)
# Resolution targets of the central team, in calendar hours (it works across time zones).
DEFAULT_L3_SLA_HOURS = {"critical": 24, "high": 72, "medium": 240, "low": 480}
TEXT_LIMIT = 5000
DETAIL_TEXT_FIELDS = ("device", "os", "browser", "country_config_version", "steps", "expected", "actual", "impact")
OWNER_EVENT = "l3_owner"  # the ticket's audit trail: who owns its escalation to L3 (emails, as for "assignee")


class EscalationError(tickets.TicketError):
    """A tier change that cannot be made; `fields` maps form fields to their messages."""

    def __init__(self, message: str, code: int = 422, fields: dict[str, str] | None = None):
        super().__init__(message, code)
        self.fields = fields or {}


def tier_label(tier: str) -> str:
    return {
        Tier.L1.value: _("Level 1 (first line)"),
        Tier.L2.value: _("Level 2 (national technicians)"),
        Tier.L3.value: _("Level 3 (central team)"),
    }.get(tier, tier)


def next_tier(ticket: Ticket) -> str | None:
    index = TIER_ORDER.index(ticket.tier)
    return TIER_ORDER[index + 1] if index + 1 < len(TIER_ORDER) else None


def previous_tier(ticket: Ticket) -> str | None:
    index = TIER_ORDER.index(ticket.tier)
    return TIER_ORDER[index - 1] if index > 0 else None


def can_escalate(tenant: Tenant, user: User | None, ticket: Ticket) -> bool:
    """L1 agents send L1 tickets to L2; L2 technicians (and administrators) send L2 tickets to L3."""
    if user is None or not ticket.status_enum.is_active:
        return False
    perms = permissions_in(user, tenant)
    if ticket.tier == Tier.L1.value:
        return Permission.TICKETS_WORK in perms
    if ticket.tier == Tier.L2.value:
        return Permission.TICKETS_ESCALATE_L3 in perms
    return False


def can_deescalate(tenant: Tenant, user: User | None, ticket: Ticket) -> bool:
    """L2 takes a ticket back from L3 or hands it back to L1; the central team returns it to L2."""
    if user is None or ticket.tier == Tier.L1.value or not ticket.status_enum.is_active:
        return False
    perms = permissions_in(user, tenant)
    if ticket.tier == Tier.L3.value and Permission.EXPERT_CONSOLE in perms:
        return True
    return Permission.TICKETS_ESCALATE_L3 in perms


# -- technical details -----------------------------------------------------------------------------


def clean_details(tenant: Tenant, ticket: Ticket, to_tier: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check the reason and the technical details; raise EscalationError naming each bad field.

    To L3, the core team needs the version, environment, steps, expected and actual result,
    impact and severity; to L2, a severity is enough besides the reason.
    """
    errors: dict[str, str] = {}
    get = lambda key: str(data.get(key) or "").strip()[:TEXT_LIMIT]  # noqa: E731
    details: dict[str, Any] = {key: get(key) for key in DETAIL_TEXT_FIELDS}
    reason = get("reason")
    if not reason:
        errors["reason"] = _("Say why the ticket goes to the next level.")
    severity = get("severity")
    if severity not in {s.value for s in Severity}:
        errors["severity"] = _("Choose a severity.")
    version = get("opencrvs_version") or ticket.opencrvs_version or tenant.opencrvs_version
    if parse_version(version) is None:
        errors["opencrvs_version"] = _("“%(value)s” is not a version number such as 1.9.0.", value=version)
    environment = get("environment") or Environment.PRODUCTION.value
    if environment not in {e.value for e in Environment}:
        errors["environment"] = _("Choose an environment.")
    regression = data.get("regression")
    if isinstance(regression, str):
        regression = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}.get(regression.lower())
    if to_tier == Tier.L3.value:
        required = {
            "steps": _("Give the steps to reproduce the problem."),
            "expected": _("Say what should happen."),
            "actual": _("Say what happens instead."),
            "impact": _("Say who is affected and how much."),
        }
        for key, message in required.items():
            if not details[key]:
                errors[key] = message
    if errors:
        raise EscalationError(_("Some details are missing or wrong: please check the marked fields."), 422, errors)
    details.update(opencrvs_version=version, environment=environment, regression=regression if isinstance(regression, bool) else None)
    return {"reason": reason, "severity": severity, "details": details}


def details_so_far(tenant: Tenant, ticket: Ticket) -> dict[str, Any]:
    """What the last escalation of the ticket said (severity and technical details, not its reason),
    to start the next one from: Level 2 adds to what first-line found instead of typing it again.

    The version is the tenant's deployed one when that is newer: the country upgraded since (a
    roll-out that sent the ticket back, say), and the problem is now seen on what it runs."""
    step = db.session.scalar(select(TierStep).where(TierStep.ticket_id == ticket.id, TierStep.is_escalation.is_(True))
                             .order_by(TierStep.created_at.desc(), TierStep.id.desc()).limit(1))
    if step is None or (step.details or {}).keys() & {"automatic", "routed"}:  # no person's details
        return {}
    details = step.details or {}
    regression = {True: "yes", False: "no"}.get(details.get("regression"), "")
    version = details.get("opencrvs_version") or step.opencrvs_version
    if is_newer(tenant.opencrvs_version, version):
        version = tenant.opencrvs_version
    return {**{key: value for key, value in details.items() if isinstance(value, str)},
            "severity": step.severity or "", "regression": regression, "opencrvs_version": version or ""}


def details_summary(step: TierStep) -> list[tuple[str, str]]:
    """The details of a step as (label, value) pairs for people to read."""
    d = step.details or {}
    regression = {True: _("yes"), False: _("no")}.get(d.get("regression"), _("unknown"))
    env = d.get("environment")
    rows = [
        (_("Severity"), step.severity_enum.label if step.severity_enum else ""),
        (_("OpenCRVS version"), d.get("opencrvs_version", "")),
        (_("Country configuration version"), d.get("country_config_version", "")),
        (_("Environment"), Environment(env).label if env in {e.value for e in Environment} else ""),
        (_("Device"), d.get("device", "")),
        (_("Operating system"), d.get("os", "")),
        (_("Browser"), d.get("browser", "")),
        (_("Steps to reproduce"), d.get("steps", "")),
        (_("Expected result"), d.get("expected", "")),
        (_("Actual result"), d.get("actual", "")),
        (_("Impact"), d.get("impact", "")),
        (_("Regression"), regression),
    ]
    return [(label, value) for label, value in rows if value]


def _note_text(title: str, reason: str, rows: list[tuple[str, str]]) -> str:
    lines = [title, "", reason]
    if rows:
        lines.append("")
        lines.extend(f"{label}: {value}" for label, value in rows)
    return "\n".join(lines)


def _post(tenant: Tenant, ticket: Ticket, body: str, *, public: bool, author: User | None, files: Iterable[tuple[str, Any]] = ()) -> Message:
    """A message written by the escalation workflow (not committed): a system notice, or a note by
    someone the ticket desk does not count as the tenant's staff (an L3 expert)."""
    now = utcnow()
    message = Message(
        tenant_id=tenant.id,
        ticket_id=ticket.id,
        author_user_id=author.id if author is not None else None,
        body=body,
        is_public=public,
        is_from_staff=True,
        channel=(Channel.WEB if author is not None else Channel.SYSTEM).value,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    for filename, stream in files:
        info = store_file(tenant.id, filename, stream)
        db.session.add(
            Attachment(
                tenant_id=tenant.id, ticket_id=ticket.id, message_id=message.id, filename=info.filename,
                content_type=info.content_type, size=info.size, sha256=info.sha256, storage_path=info.storage_path,
            )
        )
    ticket.last_activity_at = now
    db.session.flush()
    return message


def _open_step(ticket: Ticket) -> TierStep | None:
    return db.session.scalar(
        select(TierStep).where(TierStep.ticket_id == ticket.id, TierStep.ended_at.is_(None)).order_by(TierStep.id.desc()).limit(1)
    )


def _due_at(tenant: Tenant, ticket: Ticket, tier: str, severity: str | None, start: dt.datetime) -> dt.datetime | None:
    if tier == Tier.L3.value:
        hours = {**DEFAULT_L3_SLA_HOURS, **current_app.config.get("ESCALATION_L3_SLA_HOURS", {})}
        return start + dt.timedelta(hours=hours.get(severity or "medium", hours["medium"]))
    if tier == Tier.L2.value:
        target = getattr(tenant.settings.sla, ticket.priority)
        return add_business_hours(start, target.resolution_hours, tenant.settings.support.business_hours, tenant.settings.tz)
    return ticket.resolution_due_at


def _search_text(ticket: Ticket, reason: str, details: dict[str, Any]) -> str:
    parts = [ticket.subject, reason] + [str(details.get(k) or "") for k in ("steps", "expected", "actual", "impact")]
    return "\n".join(p for p in parts if p)[:20000]


# -- moving between tiers --------------------------------------------------------------------------


def _start_step(tenant: Tenant, actor: User | None, ticket: Ticket, to_tier: str, now: dt.datetime, **values: Any) -> TierStep:
    """End the ticket's current tier period and start the next one with its service level."""
    previous = _open_step(ticket)
    if previous is not None:
        previous.ended_at = now
    step = TierStep(
        tenant_id=tenant.id, ticket_id=ticket.id, from_tier=ticket.tier, to_tier=to_tier, actor_user_id=actor.id if actor else None, created_at=now,
        due_at=_due_at(tenant, ticket, to_tier, values.get("severity"), now), **values,
    )
    db.session.add(step)
    db.session.flush()
    return step


def escalate_ticket(
    tenant: Tenant, actor: User, ticket: Ticket, data: dict[str, Any], attachments: Iterable[tuple[str, Any]] = ()
) -> TierStep:
    """Send the ticket one level up (L1 to L2, L2 to L3) with a reason and technical details.

    The details go on the ticket as an internal note (with the logs or screenshots attached), the
    previous tier's step ends, and the new tier's service level starts. One transaction.
    """
    tickets.lock(ticket)
    if not can_escalate(tenant, actor, ticket):
        raise EscalationError(_("You cannot escalate this ticket further."), 403)
    to_tier = next_tier(ticket)
    if to_tier is None:
        raise EscalationError(_("This ticket is already with the central team."), 409)
    cleaned = clean_details(tenant, ticket, to_tier, data)
    now = utcnow()
    try:
        step = _start_step(
            tenant, actor, ticket, to_tier, now, is_escalation=True, reason=cleaned["reason"], details=cleaned["details"],
            severity=cleaned["severity"], opencrvs_version=cleaned["details"]["opencrvs_version"],
            search_text=_search_text(ticket, cleaned["reason"], cleaned["details"]),
        )
        title = _("Escalated to %(tier)s", tier=tier_label(to_tier))
        note = _post(tenant, ticket, _note_text(title, cleaned["reason"], details_summary(step)), public=False, author=actor, files=attachments)
        step.note_message_id = note.id
        if to_tier == Tier.L2.value:
            tickets.route_to_l2(tenant, actor, ticket)  # commits the step and the note with the move
        else:
            if ticket.opencrvs_version != step.opencrvs_version:
                ticket.opencrvs_version = step.opencrvs_version
            tickets.change_tier(tenant, actor, ticket, to_tier, status=Status.ESCALATED.value)
    except BaseException:
        db.session.rollback()
        raise
    signals.ticket_escalated.send(current_app._get_current_object(), tenant=tenant, ticket=ticket, step=step)
    return step


def escalate_on_breach(tenant: Tenant, ticket: Ticket, kind: str) -> TierStep:
    """The SLA check hands a first-line ticket to L2 because a target was missed (the tenant's
    `sla.on_breach = "escalate"`): a step like a person's, its reason written by the system."""
    tickets.lock(ticket)
    if ticket.tier != Tier.L1.value:
        raise EscalationError(_("Only a first-line ticket is handed to Level 2 when a target is missed."), 409)
    now = utcnow()
    with force_locale(tenant.default_locale):
        if kind == "first_response":
            reason = _("The first-reply target was missed: handed to Level 2 automatically.")
        else:
            reason = _("The resolution target was missed: handed to Level 2 automatically.")
        title = _("Escalated to %(tier)s", tier=tier_label(Tier.L2.value))
    try:
        step = _start_step(
            tenant, None, ticket, Tier.L2.value, now, is_escalation=True, reason=reason, details={"automatic": kind},
            opencrvs_version=ticket.opencrvs_version or tenant.opencrvs_version, search_text=_search_text(ticket, reason, {}),
        )
        step.note_message_id = _post(tenant, ticket, _note_text(title, reason, []), public=False, author=None).id
        tickets.route_to_l2(tenant, None, ticket)  # commits the step and the note with the move
    except BaseException:
        db.session.rollback()
        raise
    signals.ticket_escalated.send(current_app._get_current_object(), tenant=tenant, ticket=ticket, step=step)
    return step


@event.listens_for(Session, "before_flush")
def _route_new_tickets(session: Session, _context: Any, _instances: Any) -> None:
    """A new ticket whose category routes it to a Level 2 group is with Level 2 from its opening: it
    is inserted at tier L2, with a step from its opening that names the category rule and carries
    Level 2's service level, in the same flush (so the same commit) as the ticket itself.

    A flush hook because `open_ticket` (portal.tickets) sets the group but not the tier, and the
    tier is this domain's: there it would be one line (see the README's escalation section)."""
    for ticket in [obj for obj in session.new if isinstance(obj, Ticket)]:
        if ticket.tier not in (None, Tier.L1.value) or not ticket.group_key:
            continue
        tenant = session.get(Tenant, ticket.tenant_id)  # loaded already: open_ticket read its settings
        group = tenant.settings.tiers.groups.get(ticket.group_key) if tenant is not None else None
        if group is None or group.tier != Tier.L2.value:
            continue
        category = session.get(Category, ticket.category_id) if ticket.category_id else None
        with force_locale(tenant.default_locale):
            group_name = tenant.settings.localize(group.name, tenant.default_locale) or ticket.group_key
            if category is not None:
                reason = _("Routed to Level 2 when it was opened: the category “%(category)s” goes to %(group)s.",
                           category=category.name(tenant.default_locale), group=group_name)
            else:
                reason = _("Routed to Level 2 when it was opened: it went to %(group)s.", group=group_name)
        opened = ticket.created_at or utcnow()
        ticket.tier = Tier.L2.value
        session.add(TierStep(
            tenant_id=ticket.tenant_id, ticket=ticket, from_tier=Tier.L1.value, to_tier=Tier.L2.value, is_escalation=True,
            reason=reason, details={"routed": category.key if category is not None else ticket.group_key},
            opencrvs_version=ticket.opencrvs_version or tenant.opencrvs_version or "", search_text=_search_text(ticket, reason, {}),
            created_at=opened, due_at=_due_at(tenant, ticket, Tier.L2.value, None, opened),
        ))


def _routed_at_opening(step: TierStep) -> bool:
    return bool((step.details or {}).get("routed"))


def deescalate_ticket(tenant: Tenant, actor: User, ticket: Ticket, reason: str) -> TierStep:
    """Send the ticket one level down with a reason: L3 back to L2, L2 back to L1."""
    tickets.lock(ticket)
    if not can_deescalate(tenant, actor, ticket):
        raise EscalationError(_("You cannot send this ticket back."), 403)
    reason = (reason or "").strip()[:TEXT_LIMIT]
    if not reason:
        raise EscalationError(_("Say why the ticket goes back."), 422, {"reason": _("Say why the ticket goes back.")})
    to_tier = previous_tier(ticket)
    now = utcnow()
    try:
        step = _start_step(tenant, actor, ticket, to_tier, now, is_escalation=False, reason=reason, details={}, opencrvs_version=ticket.opencrvs_version)
        title = _("Sent back to %(tier)s", tier=tier_label(to_tier))
        step.note_message_id = _post(tenant, ticket, _note_text(title, reason, []), public=False, author=actor).id
        changes: dict[str, Any] = {}
        if to_tier == Tier.L1.value:
            changes["group"] = tickets.default_group(tenant, Tier.L1.value) or ticket.group_key
            changes["status"] = Status.OPEN.value
            first_up = db.session.scalar(
                select(TierStep).where(TierStep.ticket_id == ticket.id, TierStep.from_tier == Tier.L1.value, TierStep.is_escalation.is_(True)).order_by(TierStep.id.desc()).limit(1)
            )
            escalated_by = db.session.get(User, first_up.actor_user_id) if first_up and first_up.actor_user_id else None
            if escalated_by is not None and tickets.is_staff(tenant, escalated_by):
                changes["assignee"] = escalated_by
        tickets.change_tier(tenant, actor, ticket, to_tier, reason=reason, **changes)
    except BaseException:
        db.session.rollback()
        raise
    signals.ticket_deescalated.send(current_app._get_current_object(), tenant=tenant, ticket=ticket, step=step, actor=actor)
    return step


@dataclass
class TierPeriod:
    """A stretch of time a ticket spent at one tier, with that tier's service level."""

    tier: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    due_at: dt.datetime | None
    step: TierStep | None

    @property
    def state(self) -> str:
        """met, breached, running or none (no target)."""
        if self.due_at is None:
            return "none"
        end = self.ended_at or utcnow()
        if end > self.due_at:
            return "breached"
        return "met" if self.ended_at else "running"


def tier_history(tenant: Tenant, ticket: Ticket) -> list[TierPeriod]:
    """The ticket's tiers in order: first-line from opening (unless the ticket was routed to Level 2
    when it was opened), then one period per step."""
    steps = list(db.session.scalars(select(TierStep).where(TierStep.ticket_id == ticket.id).order_by(TierStep.created_at, TierStep.id)))
    first_end = steps[0].created_at if steps else (ticket.resolved_at if not ticket.status_enum.is_active else None)
    periods = [TierPeriod(steps[0].from_tier if steps else ticket.tier, ticket.created_at, first_end, ticket.resolution_due_at, None)]
    if steps and _routed_at_opening(steps[0]):
        periods = []
    for step in steps:
        periods.append(TierPeriod(step.to_tier, step.created_at, step_end(step, ticket), step.due_at, step))
    return periods


def step_end(step: TierStep, ticket: Ticket) -> dt.datetime | None:
    """When the ticket's time at the step's tier ended: the next move, or the ticket's resolution
    (resolving or closing a ticket ends its time at the tier it is at); None while it is there."""
    if step.ended_at is None and not ticket.status_enum.is_active:
        return ticket.resolved_at or ticket.closed_at
    return step.ended_at


def current_l3_step(ticket: Ticket) -> TierStep | None:
    step = _open_step(ticket)
    return step if step is not None and step.to_tier == Tier.L3.value else None


# -- who owns an escalation to L3 ------------------------------------------------------------------


def owner_of(step: TierStep, ticket: Ticket) -> User | None:
    """The expert who handles the escalation now (None: nobody, or it is no longer with the central team)."""
    return step.owner if step.is_with_central_team(ticket) else None


def _give(step: TierStep, ticket: Ticket, actor: User, owner: User | None) -> None:
    """Make `owner` the escalation's owner (None: nobody), in the ticket's audit trail; not committed."""
    previous = step.owner
    step.owner, step.owned_at = owner, (utcnow() if owner is not None else None)
    db.session.add(TicketEvent(
        tenant_id=ticket.tenant_id, ticket_id=ticket.id, actor_user_id=actor.id, actor_label=actor.display_name, field=OWNER_EVENT,
        old_value=previous.email if previous is not None else None, new_value=owner.email if owner is not None else None,
    ))


def set_owner(tenant: Tenant, actor: User, ticket: Ticket, step: TierStep, owner: User | None, *,
              seen_owner_id: int | None | EllipsisType = ...) -> bool:
    """An expert takes the escalation (`owner` is the actor), hands it to a colleague, or leaves it
    to nobody (None). Only an active member of the central team owns one, and only while it is with
    the central team. A colleague it is handed to is told (`escalation_handed`, after the commit).

    `seen_owner_id`: whom it was with on the page the actor acted from (None: nobody). If that
    changed meanwhile, the actor is told instead of overriding a colleague unknowingly.
    Returns whether the owner changed."""
    if not getattr(actor, "is_expert", False):
        raise EscalationError(_("Only the central team can do this."), 403)
    if owner is not None and not (owner.is_expert and owner.is_active_account):
        message = _("Only an active member of the central team can own an escalation.")
        raise EscalationError(message, 422, {"owner": message})
    tickets.lock(ticket)  # two experts taking it at once: the second waits, then sees the first's
    db.session.refresh(step)
    if not step.is_with_central_team(ticket):
        raise EscalationError(_("This ticket is no longer with the central team."), 409)
    if seen_owner_id is not ... and step.owner_id != seen_owner_id:
        holder = step.owner.display_name if step.owner is not None else _("nobody")
        raise EscalationError(_("Meanwhile this escalation went to %(name)s. Look again before changing its owner.", name=holder), 409)
    if step.owner_id == (owner.id if owner is not None else None):
        return False
    try:
        _give(step, ticket, actor, owner)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if owner is not None and owner.id != actor.id:
        signals.escalation_handed.send(current_app._get_current_object(), tenant=tenant, ticket=ticket, step=step, actor=actor, owner=owner)
    return True


# -- the conversation between L3 and L2 ------------------------------------------------------------


def post_expert_reply(tenant: Tenant, actor: User, ticket: Ticket, body: str, attachments: Iterable[tuple[str, Any]] = ()) -> ExpertReply:
    """The central team answers: an internal note the tenant's L2 sees and may relay to the requester."""
    if not getattr(actor, "is_expert", False):
        raise EscalationError(_("Only the central team can answer here."), 403)
    body = (body or "").strip()
    if not body:
        raise EscalationError(_("The message is empty."), 422, {"body": _("The message is empty.")})
    tickets.lock(ticket)
    if ticket.status == Status.CLOSED.value:
        raise EscalationError(_("This request is closed. Please open a new one."), 409)
    try:
        message = _post(tenant, ticket, body, public=False, author=actor, files=attachments)
        reply = ExpertReply(tenant_id=tenant.id, ticket_id=ticket.id, message_id=message.id, created_at=message.created_at)
        db.session.add(reply)
        step = current_l3_step(ticket)
        if step is not None and step.owner_id is None and step.is_with_central_team(ticket):
            _give(step, ticket, actor, actor)  # whoever answers an escalation nobody owns handles it
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    signals.expert_replied.send(current_app._get_current_object(), tenant=tenant, ticket=ticket, message=message)
    return reply


def expert_replies(tenant: Tenant, ticket: Ticket) -> list[ExpertReply]:
    return list(db.session.scalars(select(ExpertReply).where(ExpertReply.ticket_id == ticket.id).order_by(ExpertReply.id)))


def relay_expert_reply(tenant: Tenant, actor: User, ticket: Ticket, reply_id: int, body: str) -> Message:
    """L2 passes the central team's answer to the requester as a public reply, in the words L2 gives
    (the page fills them in with the answer to edit). Nothing is sent that L2 did not see: an empty
    message is refused rather than replaced by the central team's internal text."""
    if Permission.TICKETS_ESCALATE_L3 not in permissions_in(actor, tenant):
        raise EscalationError(_("Only Level 2 can relay the central team's answers."), 403)
    tickets.lock(ticket)  # a second relay of the same answer waits, then finds it relayed
    reply = db.session.get(ExpertReply, reply_id, populate_existing=True)
    if reply is None or reply.ticket_id != ticket.id:
        raise EscalationError(_("This answer does not exist."), 404)
    if reply.relayed_message_id is not None or reply.relayed_at is not None:
        raise EscalationError(_("This answer was already sent to the requester."), 409)
    text = (body or "").strip()
    if not text:
        message = _("Write the message to the requester: the central team's answer is there to start from.")
        raise EscalationError(message, 422, {"body": message})
    reply.relayed_by_id, reply.relayed_at = actor.id, utcnow()
    message = tickets.add_message(tenant, actor, ticket, body=text, public=True)  # commits, tells the requester
    reply.relayed_message_id = message.id
    db.session.commit()
    return message


def experts_on(tenant: Tenant, ticket: Ticket, step: TierStep) -> list[User]:
    """The experts working on the ticket's escalation to L3 (`step`): its owner, when it has one;
    else those who answered on it, linked it to a problem or sent it back since it reached the
    central team; when none has yet, the one who did so last before (the ticket came back to L3
    after a roll-out, say). Only accounts still active and still on the central team."""
    owner = owner_of(step, ticket)
    if owner is not None and owner.is_expert and owner.is_active_account:
        return [owner]
    rows = [
        *db.session.execute(select(Message.author_user_id, Message.created_at).join(ExpertReply, ExpertReply.message_id == Message.id)
                            .where(ExpertReply.ticket_id == ticket.id)).all(),
        *db.session.execute(select(ProblemTicket.linked_by_id, ProblemTicket.created_at).where(ProblemTicket.ticket_id == ticket.id)).all(),
        *db.session.execute(select(TierStep.actor_user_id, TierStep.created_at).where(
            TierStep.ticket_id == ticket.id, TierStep.from_tier == Tier.L3.value, TierStep.is_escalation.is_(False))).all(),
    ]
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({user_id for user_id, _at in rows if user_id is not None})))}
    acts = [(users[user_id], at) for user_id, at in rows if user_id in users and users[user_id].is_expert]
    chosen = {user.id: user for user, at in acts if at >= step.created_at}
    if not chosen and acts:
        user = max(acts, key=lambda act: act[1])[0]
        chosen = {user.id: user}
    return sorted((u for u in chosen.values() if u.is_active_account), key=lambda u: u.email)


@event.listens_for(Session, "before_flush")
def _tell_of_country_messages(session: Session, _context: Any, _instances: Any) -> None:
    """The country's staff wrote on a ticket that is with the central team (a note or a reply):
    `country_wrote` is sent inside the message's transaction, so that what its subscribers queue
    (the experts' mail, from `notify.py`) commits or rolls back with the message.

    A flush hook because messages are written by the ticket desk (`portal.tickets.add_message`),
    which knows nothing of tiers' teams; the escalation's own notes are left out: they are written
    while the ticket is not (yet, or any more) with the central team."""
    for message in [obj for obj in session.new if isinstance(obj, Message)]:
        if not message.is_from_staff or message.author_user_id is None or message.ticket_id is None:
            continue  # the requester's words, a notice from the system, a new ticket's first message
        author = session.get(User, message.author_user_id)
        ticket = session.get(Ticket, message.ticket_id)
        if author is None or author.is_expert or ticket is None or ticket.tier != Tier.L3.value:
            continue
        # A tier move flushes its new step before writing its note: a note sending the ticket back
        # finds the ticket's current step at L2 already.
        step = current_l3_step(ticket)
        if step is None:
            continue
        # Level 2 relaying the central team's own answer to the requester tells the experts nothing.
        if any(isinstance(obj, ExpertReply) and obj.ticket_id == ticket.id and obj.relayed_at is not None and obj.relayed_message_id is None
               for obj in session.identity_map.values()):
            continue
        tenant = session.get(Tenant, ticket.tenant_id)
        signals.country_wrote.send(current_app._get_current_object(), tenant=tenant, ticket=ticket, message=message, author=author, step=step)


# -- privacy ---------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_RE = re.compile(r"(?<!\d:)(?<![\d.])\+?\d[\d\s().-]{6,}\d")  # not the seconds of a time, nor inside a number
# What looks like a phone number but is what the central team needs to read: a date, a version.
NOT_PHONE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d+\.\d+\.\d+")


def mask_email(value: str | None) -> str:
    if not value or "@" not in value:
        return ""
    local, domain = value.split("@", 1)
    return f"{local[:1]}•••@•••{domain[domain.rfind('.'):] if '.' in domain else ''}"


def mask_phone(value: str | None) -> str:
    digits = re.sub(r"\D", "", value or "")
    return "•••••" + digits[-2:] if digits else ""


def mask_text(text: str) -> str:
    """Email addresses and phone numbers in free text, hidden for readers outside the country."""
    text = EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text or "")
    return PHONE_RE.sub(_mask_phone_match, text)


def _mask_phone_match(match: re.Match) -> str:
    text = match.group(0)
    kept = NOT_PHONE_RE.match(text)
    if kept:  # keep the date or version, and look again at what follows it
        return kept.group(0) + PHONE_RE.sub(_mask_phone_match, text[kept.end():])
    return mask_phone(text) if sum(c.isdigit() for c in text) >= 7 else text


def shares_contact_with_l3(tenant: Tenant) -> bool:
    return tenant.settings.privacy.share_contact_with_l3


# -- deployed version and the roll-out of fixes ---------------------------------------------------


def report_deployment(tenant: Tenant, actor: User | None, version: str, source: str) -> Deployment | None:
    """Record that the tenant now runs `version` (reported by its deployment or its administrator),
    keep the history, and resolve the tickets whose problem this version fixes.

    Returns the history row, or None when the version is unchanged. A version reported here wins
    over `tenant.toml`: `tenants sync` only raises it when the file names a newer version.
    """
    value = (version or "").strip()
    # The version goes into the tenant's settings too: it must be one they accept ("2" or "1.9rc1" are not).
    if parse_version(value) is None or not re.fullmatch(OPENCRVS_VERSION_PATTERN, value):
        raise EscalationError(_("“%(value)s” is not a version number such as 1.9.0.", value=value[:40]), 422, {"version": _("Give a version number such as 1.9.0.")})
    value = value.removeprefix("v")
    # The same version reported twice at once (a deployment script retrying, two servers): the
    # second waits for the first and finds the version already recorded.
    db.session.scalar(select(Tenant).where(Tenant.id == tenant.id).with_for_update().execution_options(populate_existing=True))
    if value == tenant.opencrvs_version:
        # Nothing changed, so nothing is rolled out: the roll-out ran when this version came, and
        # runs again when a release is recorded (or by the operator's `escalation rollout`).
        db.session.rollback()  # lets the tenant's row go
        return None
    row = Deployment(tenant_id=tenant.id, version=value, previous_version=tenant.opencrvs_version, source=source, actor_user_id=actor.id if actor else None)
    try:
        db.session.add(row)
        tenant.opencrvs_version = value
        tenant.config = {**tenant.config, "opencrvs_version": value}
        # Articles may cite {{ tenant.opencrvs_version }}: what derives from the settings follows.
        tenant_settings_changed.send(current_app._get_current_object(), tenant=tenant, created=False)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    apply_rollout(tenant)
    return row


def deployment_history(tenant: Tenant, limit: int = 50) -> list[Deployment]:
    return list(db.session.scalars(select(Deployment).order_by(Deployment.created_at.desc(), Deployment.id.desc()).limit(limit)))


def fixing_versions(problem: Problem) -> list[str]:
    return [r.version for r in problem.releases]


def release_days() -> dict[str, dt.date]:
    """The day of every recorded release, by version: what `carries_fix` dates a version's line with."""
    return dict(db.session.execute(select(Release.version, Release.released_on)).all())


def version_at(tenant: Tenant, moment: dt.datetime) -> str:
    """The version the tenant ran at `moment`: the one the first report after it replaced, else the
    one it runs now (a version raised by `tenants sync` leaves no history: it counts as run already)."""
    later = db.session.scalar(select(Deployment).where(Deployment.created_at > moment).order_by(Deployment.created_at, Deployment.id).limit(1))
    return later.previous_version if later is not None else tenant.opencrvs_version


def rolls_out(tenant: Tenant, link: ProblemTicket, released_on: dict[str, dt.date]) -> bool:
    """Whether reaching the fix resolves this link: the tenant runs a version that carries the fix,
    and neither the version its ticket was escalated on nor the one the tenant ran when the ticket
    was linked carried it. A ticket reported on a fixing version says the fix does not work there,
    and one linked after the tenant had the fix was not fixed by it: both are the central team's."""
    fixes = fixing_versions(link.problem)
    return (
        carries_fix(tenant.opencrvs_version, fixes, released_on)
        and not carries_fix(link.ticket.opencrvs_version, fixes, released_on)
        and not carries_fix(version_at(tenant, link.created_at), fixes, released_on)
    )


def note_fix_awaiting_release(tenant: Tenant, problem_ids: Sequence[int]) -> list[tuple[Ticket, Problem]]:
    """The fix for these problems is done (their GitHub issue was closed as completed) and waits for a
    release: say so on this tenant's open tickets linked to them, in an internal note, and tell the
    country's Level 2 (an email, from `notify.py`). Returns the (ticket, problem) pairs told."""
    links = db.session.scalars(select(ProblemTicket).where(ProblemTicket.resolved_at.is_(None),
                                                           ProblemTicket.problem_id.in_(list(problem_ids)))
                               .order_by(ProblemTicket.id))
    told: list[tuple[Ticket, Problem]] = []
    try:
        for link in links:
            ticket, problem = link.ticket, link.problem
            if not ticket.status_enum.is_active:
                continue
            with force_locale(tenant.default_locale):
                note = _(
                    "The fix for problem #%(id)s “%(title)s” is done and waits for a release of OpenCRVS. "
                    "This request will be resolved when %(country)s runs that release.",
                    id=problem.id, title=problem.title, country=tenant.settings.country.name,
                )
            _post(tenant, ticket, note, public=False, author=None)
            told.append((ticket, problem))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if told:
        signals.fix_awaiting_release.send(current_app._get_current_object(), tenant=tenant, told=told)
    return told


def apply_rollout(tenant: Tenant) -> list[Ticket]:
    """Resolve this tenant's tickets linked to a problem that its deployed version now fixes (see
    `rolls_out`: the others are left to the central team).

    The requester gets a public notice in the language the ticket desk writes to them in, L2 an
    internal note (and an email, from `notify.py`). A ticket with the central team comes back to
    the country's Level 2, as a step of its tier history: if the requester replies that the problem
    is still there, their reply reopens it with people who can escalate it again. Tickets already
    resolved or closed only have their link marked. Returns the tickets resolved now.
    """
    links = list(db.session.scalars(select(ProblemTicket).where(ProblemTicket.resolved_at.is_(None)).order_by(ProblemTicket.id)))
    released_on = release_days()
    resolved: list[Ticket] = []
    notices: list[tuple[Ticket, Message]] = []
    fixed: list[tuple[Ticket, Problem]] = []
    touched: set[int] = set()
    for link in links:
        problem = link.problem
        if not rolls_out(tenant, link, released_on):
            continue
        # Held until its commit, and read again: a roll-out running at the same time (the version
        # reported twice at once) waits, then finds the link done and tells nobody a second time.
        link = db.session.scalar(select(ProblemTicket).where(ProblemTicket.id == link.id, ProblemTicket.resolved_at.is_(None))
                                 .with_for_update().execution_options(populate_existing=True))
        if link is None:
            continue
        ticket = link.ticket
        now = utcnow()
        try:
            link.resolved_at, link.resolved_version = now, tenant.opencrvs_version
            touched.add(problem.id)
            if ticket.status_enum.is_active:
                # The ticket desk's rule (its status notice follows in the same language).
                with force_locale(ticket.locale or tenant.default_locale):
                    public = _(
                        "Good news: the problem behind your request is fixed in OpenCRVS %(version)s, which %(country)s now runs. "
                        "If you still see it, just reply and we will reopen your request.",
                        version=tenant.opencrvs_version, country=tenant.settings.country.name,
                    )
                with force_locale(tenant.default_locale):
                    internal = _(
                        "Resolved by the roll-out: this country runs %(version)s, which fixes problem #%(id)s “%(title)s”.",
                        version=tenant.opencrvs_version, id=problem.id, title=problem.title,
                    )
                note = _post(tenant, ticket, internal, public=False, author=None)
                message = _post(tenant, ticket, public, public=True, author=None)
                if ticket.tier == Tier.L3.value:
                    step = _start_step(tenant, None, ticket, Tier.L2.value, now, is_escalation=False, reason=internal, details={},
                                       opencrvs_version=tenant.opencrvs_version, note_message_id=note.id)
                    tickets.change_tier(tenant, None, ticket, step.to_tier, status=Status.RESOLVED.value)  # commits
                else:
                    tickets.update_ticket(tenant, None, ticket, status=Status.RESOLVED.value)  # commits
                notices.append((ticket, message))
                fixed.append((ticket, problem))
                resolved.append(ticket)
            else:
                db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    app = current_app._get_current_object()
    for ticket, message in notices:
        ticket_signals.message_posted.send(app, tenant=tenant, ticket=ticket, message=message)
    if touched:
        signals.rollout_applied.send(app, tenant=tenant, problem_ids=sorted(touched), fixed=fixed)
    return resolved


# -- what a country sees of the central team's problems --------------------------------------------


@dataclass
class CountryProblem:
    """A problem as the country's staff see it on their ticket: its number, title, status and the
    versions that fix it, read against the version the tenant runs. Never the central team's
    description nor anything of another country (their tickets are reached only in their scope)."""

    id: int
    title: str
    status: ProblemStatus
    fixed_in: list[str]  # the releases recorded as fixing it, oldest first
    carried: bool  # the tenant's deployed version carries the fix
    upgrade_to: str | None  # else the first newer recorded release that does (see `first_fix_for`)


def ticket_problems(tenant: Tenant, ticket: Ticket) -> list[CountryProblem]:
    """The central problems the ticket is linked to, oldest first, with where the tenant stands."""
    problems = list(db.session.scalars(select(Problem).join(ProblemTicket, ProblemTicket.problem_id == Problem.id)
                                       .where(ProblemTicket.ticket_id == ticket.id).options(selectinload(Problem.releases)).order_by(Problem.id)))
    released_on = release_days() if problems else {}
    shown = []
    for p in problems:
        fixes = fixing_versions(p)
        carried = carries_fix(tenant.opencrvs_version, fixes, released_on)
        shown.append(CountryProblem(p.id, p.title, p.status_enum, fixes, carried,
                                    None if carried else first_fix_for(tenant.opencrvs_version, fixes, released_on)))
    return shown


@dataclass
class UpgradeFix:
    problem: Problem
    tickets: int  # the tenant's tickets linked to it that no roll-out resolved yet


def upgrade_fixes(tenant: Tenant, releases: Sequence[Release]) -> dict[int, list[UpgradeFix]]:
    """For each of `releases` (by id): the problems behind the tenant's tickets that upgrading to it
    would fix (it carries the fix, the deployed version does not), with how many tickets wait for each."""
    waiting = dict(db.session.execute(select(ProblemTicket.problem_id, func.count()).where(ProblemTicket.resolved_at.is_(None))
                                      .group_by(ProblemTicket.problem_id)).all())
    problems = list(db.session.scalars(select(Problem).where(Problem.id.in_(list(waiting) or [-1]))
                                       .options(selectinload(Problem.releases)).order_by(Problem.id)))
    released_on = release_days()
    pending = [p for p in problems if p.releases and not carries_fix(tenant.opencrvs_version, fixing_versions(p), released_on)]
    return {r.id: [UpgradeFix(p, waiting[p.id]) for p in pending if carries_fix(r.version, fixing_versions(p), released_on)] for r in releases}
