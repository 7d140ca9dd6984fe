"""Template filters for ticket pages: times in the tenant's zone and the state of a due time."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core.db import utcnow
from portal.core.i18n import current_locale
from portal.core.templating import format_datetime

SOON = dt.timedelta(hours=2)


def local_time(value: dt.datetime | None, format: str | None = None) -> str:
    """A UTC time in the tenant's time zone and the reader's language ("1 Dec 2026, 09:17"): the
    portal's one date filter (`datetimeformat`), which takes the tenant's zone from Flask-Babel."""
    return format_datetime(value, format) if value is not None else ""


# What each audited field is called on the ticket page (the audit trail stores the field's name).
EVENT_FIELDS = {
    "status": _l("status"), "assignee": _l("assigned to"), "category": _l("category"), "group": _l("team"),
    "priority": _l("priority"), "tier": _l("level"), "office": _l("office"), "subject": _l("subject"),
    "first_response": _l("first reply"), "first_response_breached": _l("first reply target missed"),
    "resolution_breached": _l("resolution target missed"), "merged_into": _l("merged into"), "merged": _l("merged in"),
    "l3_owner": _l("central team owner"),
}


def audit_event(event) -> tuple[str, str, str, str]:
    """(who, what, from, to) of an audit event, in the reader's language and the tenant's time."""
    who = event.actor.display_name if event.actor is not None else (
        _("automatic") if event.actor_label in ("", "system") else event.actor_label)
    labels = {"status": _label_of("Status"), "priority": _label_of("Priority"), "group": _group_name, "assignee": _person_name,
              "l3_owner": _person_name}.get(event.field)

    def value(raw: str | None) -> str:
        if raw is None:
            return "—"
        if event.field == "first_response":
            try:
                return local_time(dt.datetime.fromisoformat(raw))
            except ValueError:
                return raw
        if event.field.endswith("_breached"):
            return {"true": _("yes"), "false": _("no")}.get(raw, raw)
        return labels(raw) if labels else raw

    return who, str(EVENT_FIELDS.get(event.field, event.field)), value(event.old_value), value(event.new_value)


def _group_name(key: str) -> str:
    """A team as the tenant names it in the reader's language (the trail keeps its key)."""
    tenant = g.get("tenant")
    group = tenant.settings.tiers.groups.get(key) if tenant is not None else None
    return (tenant.settings.localize(group.name, current_locale()) or key) if group is not None else key


def _person_name(email: str) -> str:
    """A colleague by name (the trail keeps the address they had)."""
    from portal.auth.services import get_user_by_email

    names = g.setdefault("audit_people", {})  # a history names the same few people many times: one query each
    if email not in names:
        user = get_user_by_email(email)
        names[email] = user.display_name if user is not None else email
    return names[email]


def _label_of(name: str):
    from portal.tickets import models

    return _label(getattr(models, name))


def due_state(ticket) -> str:
    """"breached", "soon" (within two hours) or "ok", for the badges of the queue."""
    if ticket.is_breached:
        return "breached"
    now = utcnow()
    dues = [ticket.resolution_due_at]
    if ticket.first_responded_at is None:
        dues.append(ticket.first_response_due_at)
    dues = [d for d in dues if d is not None]
    if not dues or ticket.status in ("resolved", "closed", "waiting"):
        return "ok"
    nearest = min(dues)
    if nearest < now:
        return "breached"
    return "soon" if nearest - now < SOON else "ok"


def _label(enum):
    def label(value: str) -> str:
        try:
            return enum(value).label
        except ValueError:
            return value

    return label


def init_templating(bp: Blueprint) -> None:
    from portal.tickets.models import Channel, Priority, Status

    bp.add_app_template_filter(local_time, "local_time")
    bp.add_app_template_filter(_label(Priority), "ticket_priority")
    bp.add_app_template_filter(_label(Status), "ticket_status")
    bp.add_app_template_filter(_label(Channel), "ticket_channel")
    bp.add_app_template_global(due_state, "due_state")
    bp.add_app_template_global(audit_event, "audit_event")
