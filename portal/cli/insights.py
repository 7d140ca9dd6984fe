"""`flask --app wsgi insights rollup`: bring the weekly rollup behind the insights dashboards up to date (cron-safe)."""
from __future__ import annotations

from collections.abc import Iterator

import click
from flask.cli import with_appcontext

from portal.core.db import db, tenant_scope
from portal.insights.rollup import roll_up
from portal.cli import tenants_or_fail


@click.group("insights", help="Insights dashboards.")
def group() -> None:
    pass


@group.command("rollup")
@click.option("--full", is_flag=True, help="Count every week again (after a change of opening hours, for example).")
@click.option("--tenant", "slug", default=None, help="Only this tenant (slug).")
@with_appcontext
def rollup(full: bool, slug: str | None) -> None:
    """Roll up the weeks that are over and fold in the changes made since to their tickets, for every tenant.

    Figures are exact whenever it runs (changes write delta rows); run it from cron, hourly or nightly,
    to keep the rows few. Idempotent and safe on several servers."""
    for line in roll_up_every_tenant(slug, full=full):
        click.echo(line)


def roll_up_every_tenant(slug: str | None = None, full: bool = False) -> Iterator[str]:
    """The rollup job (also run by `jobs run`): a line per tenant, as it goes."""
    for tenant in tenants_or_fail(slug):
        with tenant_scope(db.session, tenant.id):
            run = roll_up(tenant, full=full)
        yield (f"{tenant.slug}: {run.weeks} weeks counted, {run.folded} weeks of changes folded in, rolled up "
               f"through {run.rolled_through}, {run.rows} rows written")
