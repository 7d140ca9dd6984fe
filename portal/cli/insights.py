"""`flask --app wsgi insights rollup`: fill the daily rollup behind the insights dashboards (cron-safe)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.core.db import db, tenant_scope
from portal.insights.rollup import roll_up
from portal.tenancy.services import get_tenant, list_tenants


@click.group("insights", help="Insights dashboards.")
def group() -> None:
    pass


@group.command("rollup")
@click.option("--days", default=35, show_default=True, help="Recent days to recompute (tickets change after they are opened).")
@click.option("--tenant", "slug", default=None, help="Only this tenant (slug).")
@with_appcontext
def rollup(days: int, slug: str | None) -> None:
    """Recompute the rollup up to yesterday for every tenant (idempotent; safe on several servers)."""
    tenants = [get_tenant(slug)] if slug else list_tenants()
    if slug and tenants[0] is None:
        raise click.ClickException(f"unknown tenant {slug!r}")
    for tenant in tenants:
        with tenant_scope(db.session, tenant.id):
            first, through, rows = roll_up(tenant, days=days)
        click.echo(f"{tenant.slug}: {first} to {through}, {rows} rows")
