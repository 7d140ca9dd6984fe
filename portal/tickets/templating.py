"""Template filters for ticket pages: times in the tenant's zone and the state of a due time."""
from __future__ import annotations

import datetime as dt

from babel.dates import format_datetime
from flask import Blueprint, g

from portal.core.db import utcnow
from portal.core.i18n import current_locale

SOON = dt.timedelta(hours=2)


def local_time(value: dt.datetime | None, format: str = "short") -> str:
    """A UTC time shown in the tenant's time zone and the reader's language."""
    if value is None:
        return ""
    tenant = g.get("tenant")
    tz = tenant.settings.tz if tenant is not None else dt.timezone.utc
    return format_datetime(value, format, tzinfo=tz, locale=current_locale())


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
