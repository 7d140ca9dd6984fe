"""Operator jobs of the escalation domain: roll-out, GitHub state sync, and version reports."""
from __future__ import annotations

from collections.abc import Iterator

import click
from flask.cli import with_appcontext

from portal.core.db import SYSTEM, db, tenant_scope
from portal.escalation import central, services
from portal.cli import tenant_or_fail


@click.group("escalation", help="Problems, releases and roll-out of fixes.")
def group() -> None:
    pass


@group.command("rollout")
@with_appcontext
def rollout() -> None:
    """Resolve, in every country, the tickets whose problem the deployed version fixes."""
    done = central.rollout_everywhere(SYSTEM)
    for slug, references in done.items():
        click.echo(f"{slug}: resolved {', '.join(references)}")
    if not done:
        click.echo("nothing to resolve")


@group.command("github-sync")
@with_appcontext
def github_sync() -> None:
    """Read the state of the GitHub issue of every problem not closed; a closed issue marks its
    problem "fixed, awaiting a release" (tickets are resolved only by the roll-out of a release)."""
    try:
        for line in sync_github_states():
            click.echo(line)
    except services.EscalationError as exc:
        raise click.ClickException(exc.message) from None


def sync_github_states() -> Iterator[str]:
    """The github-sync job (also run by `jobs run`); EscalationError when GitHub is not set up."""
    changed = central.refresh_github_states(SYSTEM)
    for problem, state in changed:
        yield f"problem #{problem.id}: GitHub issue #{problem.github_number} is {state}; the problem is {problem.status_enum.label}"
    yield f"{len(changed)} changed"


@group.command("report-version")
@click.option("--tenant", "slug", required=True)
@click.option("--version", required=True)
@with_appcontext
def report_version(slug: str, version: str) -> None:
    """Record that TENANT now runs VERSION (as its deployment would through the API)."""
    tenant = tenant_or_fail(slug)
    with tenant_scope(db.session, tenant.id):
        try:
            row = services.report_deployment(tenant, None, version, "cli")
        except services.EscalationError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"{slug} runs {tenant.opencrvs_version}" + ("" if row else " (unchanged)"))
