"""`flask --app wsgi tickets ...`: periodic ticket jobs."""
from __future__ import annotations

from collections.abc import Iterator

import click
from flask.cli import with_appcontext

from portal.core.db import db, tenant_scope
from portal.cli import tenants_or_fail


@click.group("tickets", help="Ticket desk jobs.")
def group() -> None:
    pass


@group.command("sla-check")
@click.option("--tenant", "slug", default=None, help="Only this tenant (slug); default: every tenant.")
@with_appcontext
def sla_check(slug: str | None) -> None:
    """Mark tickets past their first-response or resolution target and notify or escalate.

    Safe to run from cron on several servers at once: each breach is claimed by one conditional
    UPDATE, so it is acted on once.
    """
    for line in check_every_sla(slug):
        click.echo(line)


def check_every_sla(slug: str | None = None) -> Iterator[str]:
    """The sla-check job (also run by `jobs run`): what it did, a line each, as it goes (a tenant that
    fails later does not hide what was done before it)."""
    from portal.tickets.services import check_sla

    total = 0
    for tenant in tenants_or_fail(slug):
        with tenant_scope(db.session, tenant.id):
            found = check_sla(tenant)
        for ticket, kind in found:
            yield f"{tenant.slug}: {ticket.reference} {kind} breached"
        total += len(found)
    yield f"{total} new breaches"
