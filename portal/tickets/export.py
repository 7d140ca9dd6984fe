"""The queue as a spreadsheet: the tickets the queue page's filters select, as a CSV file.

The file is written while it is sent, from rows read in batches, so a country's whole history
(a hundred thousand tickets) never sits in memory at once. What it holds is the queue's own query
(`services.queue_query`), so it shows what the page would show, and only the current tenant's
tickets: the data layer scopes that query as every other (portal.core.db), in the session that
sends the file (see `_in_tenant`).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

from flask import Response, current_app, g, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import force_locale, pgettext
from flask_login import current_user
from sqlalchemy.orm import joinedload, load_only

from portal.auth.loaders import require
from portal.auth.models import User
from portal.auth.permissions import Permission
from portal.core.db import db, tenant_scope, utcnow
from portal.core.i18n import current_locale
from portal.core.spreadsheet import safe_cell
from portal.extensions import limiter
from portal.tenancy.models import Tenant
from portal.tickets import services
from portal.tickets.models import Channel, Priority, Status, Ticket
from portal.tickets.templating import due_state
from portal.tickets.views import bp

BATCH = 500  # tickets read, and rows sent, at a time
DEFAULT_RATE_LIMIT = "10 per minute"  # EXPORT_RATE_LIMIT: a whole history costs the server a while


def _rate_limit() -> str:
    return current_app.config.get("EXPORT_RATE_LIMIT", DEFAULT_RATE_LIMIT)


def _columns() -> list[str]:
    return [
        _("Reference"), _("Subject"), _("Status"), _("Priority"), _("Category"), _("Group"), _("Tier"), _("Channel"),
        _("Requester"), _("Requester email"), _("Office"), _("Assignee"),
        pgettext("when a ticket was opened", "Created"), pgettext("when a ticket was first answered", "First response"),
        pgettext("when a ticket was resolved", "Resolved"), _("SLA missed"), _("Satisfaction rating"),
    ]


def _utc(value: dt.datetime | None) -> str:
    """ISO 8601 in UTC ("2026-12-01T09:17:00Z"), whatever the tenant's zone: files travel."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def ticket_rows(tenant: Tenant, user: User, filters: services.QueueFilters, locale: str) -> Iterator[list[list]]:
    """The tickets of the queue `filters` select, in the queue's order, as batches of spreadsheet rows
    (columns as `_columns`) with labels in `locale`.

    The query is made now (what it reads of the tenant and of `user` is read now) and runs when the
    first batch is asked for, in the session of that moment, which must be scoped to `tenant`."""
    with force_locale(locale):
        statuses = {s.value: s.label for s in Status}
        priorities = {p.value: p.label for p in Priority}
        channels = {c.value: c.label for c in Channel}
        yes, no = _("Yes"), _("No")
    groups = {key: tenant.settings.localize(group.name, locale) or key for key, group in tenant.settings.tiers.groups.items()}
    # A country has a few categories: named once here, not decoded again from each ticket's row.
    categories = {c.id: c.name(locale) for c in services.list_categories(tenant, active_only=False)}
    stmt = services.queue_query(tenant, user, filters).options(
        # What the rows show and nothing more (not the transcript, nor the rating's comment), and the
        # requester and assignee in the same SELECT: no query per ticket. The tenant is read too: the
        # data layer checks it on every row loaded (and would otherwise load it row by row).
        load_only(
            Ticket.tenant_id, Ticket.reference, Ticket.subject, Ticket.status, Ticket.priority, Ticket.category_id, Ticket.group_key,
            Ticket.tier, Ticket.channel, Ticket.office, Ticket.created_at, Ticket.first_responded_at, Ticket.resolved_at, Ticket.rating,
            Ticket.first_response_breached, Ticket.resolution_breached, Ticket.first_response_due_at, Ticket.resolution_due_at,
        ),
        joinedload(Ticket.contact), joinedload(Ticket.assignee),
    )

    def row(t: Ticket) -> list:
        return [
            t.reference, t.subject, statuses.get(t.status, t.status), priorities.get(t.priority, t.priority),
            categories.get(t.category_id, ""), groups.get(t.group_key, t.group_key) if t.group_key else "",
            t.tier, channels.get(t.channel, t.channel), t.contact.display_name, t.contact.email or "", t.office,
            t.assignee.display_name if t.assignee else "", _utc(t.created_at), _utc(t.first_responded_at), _utc(t.resolved_at),
            yes if due_state(t) == "breached" else no, t.rating if t.rating is not None else "",
        ]

    def batches() -> Iterator[list[list]]:
        for batch in db.session.scalars(stmt, execution_options={"yield_per": BATCH}).partitions():
            yield [row(t) for t in batch]

    return batches()


def _csv_chunks(columns: list[str], batches: Iterator[list[list]]) -> Iterator[str]:
    """The file's text, one piece per batch: a byte order mark first, so that Excel reads UTF-8
    (accents) instead of the computer's old code page, then the header line and the rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow(columns)
    yield out.getvalue()
    for batch in batches:
        out.seek(0)
        out.truncate()
        writer.writerows([safe_cell(value) for value in cells] for cells in batch)
        yield out.getvalue()


def _in_tenant(tenant_id: int, chunks: Iterator[str]) -> Iterator[str]:
    """`chunks` read as one tenant. Flask tears the request's app context down, and with it the
    database session the data layer scoped to the tenant, when the view returns and before the body
    is sent: the body reads through a new session, which knows no tenant until it is told (and
    refuses tenant-owned rows until then)."""
    with tenant_scope(db.session, tenant_id):
        yield from chunks


@bp.get("/<tenant>/tickets/export.csv")
@limiter.limit(_rate_limit)
@require(Permission.TICKETS_WORK)
def export():
    """The queue with the page's filters (same query arguments), as a CSV file to download."""
    tenant = g.tenant
    filters = services.QueueFilters.from_args(request.args)
    batches = ticket_rows(tenant, current_user, filters, current_locale())
    name = f"{tenant.slug}-tickets-{utcnow():%Y-%m-%d}.csv"
    return Response(
        stream_with_context(_in_tenant(tenant.id, _csv_chunks(_columns(), batches))),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
