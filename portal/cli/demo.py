"""Demo accounts and content, loaded on request only (never by `db upgrade` or `tenants sync`)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.auth import services
from portal.config import REPO_ROOT
from portal.auth.permissions import GlobalRole, Role
from portal.core.db import db, tenant_scope
from portal.tenancy.services import list_tenants

DEMO_PASSWORD = "demo-password"

# (local part, name, role, job title)
TENANT_ACCOUNTS = [
    ("agent", "Demo Registration Agent", Role.REQUESTER, "Registration agent"),
    ("l1", "Demo First-line Agent", Role.L1_AGENT, "Support agent"),
    ("l2", "Demo Technician", Role.L2_TECHNICIAN, "Support technician"),
    ("admin", "Demo Tenant Admin", Role.TENANT_ADMIN, "Support manager"),
]
GLOBAL_ACCOUNTS = [
    ("expert@crvs.demo", "Demo Core Expert", GlobalRole.L3_EXPERT),
    ("platform@crvs.demo", "Demo Platform Admin", GlobalRole.PLATFORM_ADMIN),
]


def load_demo_accounts() -> list[str]:
    """Create the demo accounts that do not exist yet; return the emails created."""
    created = []
    for email, name, role in GLOBAL_ACCOUNTS:
        if services.get_user_by_email(email) is None:
            services.create_user(email, DEMO_PASSWORD, name=name, global_role=role)
            created.append(email)
    for tenant in list_tenants():
        offices = tenant.settings.registration.offices
        with tenant_scope(db.session, tenant.id):
            for local, name, role, job in TENANT_ACCOUNTS:
                email = f"{local}@{tenant.slug}.demo"
                user = services.get_user_by_email(email)
                if user is None:
                    user = services.create_user(email, DEMO_PASSWORD, name=f"{name} ({tenant.name})")
                    created.append(email)
                if services.membership_for(user, tenant) is None:
                    services.add_membership(tenant, user, role, job, offices[0] if offices else "")
    db.session.commit()
    return created


@click.group("demo", help="Demo accounts and content.")
def group() -> None:
    pass


@group.command("load")
@with_appcontext
def load() -> None:
    """Load demo accounts and demo content into every synced tenant (idempotent)."""
    if not list_tenants():
        raise click.ClickException("no tenants yet: run 'flask --app wsgi tenants sync' first")
    created = load_demo_accounts()
    click.echo(f"demo accounts: {len(created)} created (password for all: {DEMO_PASSWORD})")
    load_demo_articles()
    load_demo_tickets()
    load_demo_insights()


def load_demo_articles() -> None:
    """The generic library from library/kb, then each tenant's own articles from tenants/<slug>/kb."""
    from portal.cli.kb import echo_report, import_path

    library = REPO_ROOT / "library" / "kb"
    if library.is_dir():
        echo_report("generic library", import_path(library, None))
    for tenant in list_tenants():
        folder = Path(tenant.source_path).parent / "kb" if tenant.source_path else REPO_ROOT / "tenants" / tenant.slug / "kb"
        if folder.is_dir():
            echo_report(f"{tenant.slug} articles", import_path(folder, tenant))


def load_demo_tickets() -> None:
    from portal.tickets.demo import load_demo_tickets as load_tickets

    for tenant in list_tenants():
        click.echo(f"demo tickets in {tenant.slug}: {load_tickets(tenant)} created")


def load_demo_insights() -> None:
    """Weeks of tickets, searches and feedback for the insights page (portal.insights.demo)."""
    from portal.insights.demo import load_demo_activity

    for tenant in list_tenants():
        with tenant_scope(db.session, tenant.id):
            click.echo(f"{tenant.slug} insights activity: {load_demo_activity(tenant)} tickets created")
