"""Demo accounts and content, loaded on request only (never by `db upgrade` or `tenants sync`), into
the demo countries only: those whose tenant.toml says `demo = true` (Farajaland, Kalondo)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
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


def demo_tenants() -> list:
    """The synced tenants marked `demo = true`: a real country never gets demo accounts or tickets."""
    return [tenant for tenant in list_tenants() if tenant.settings.demo]


def load_demo_accounts() -> list[str]:
    """Create the demo accounts that do not exist yet; return the emails created."""
    created = []
    for email, name, role in GLOBAL_ACCOUNTS:
        if services.get_user_by_email(email) is None:
            services.create_user(email, DEMO_PASSWORD, name=name, global_role=role)
            created.append(email)
    for tenant in demo_tenants():
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
    """Load demo accounts and demo content into the demo countries (`demo = true`; idempotent)."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException(
            f"demo load refuses to run when PORTAL_ENV=production (demo accounts share the password {DEMO_PASSWORD});"
            " load the central library with 'flask --app wsgi kb import --generic library/kb'")
    if not demo_tenants():
        raise click.ClickException(
            "no demo countries (tenant.toml with demo = true): run 'flask --app wsgi tenants sync' first")
    created = load_demo_accounts()
    click.echo(f"demo accounts: {len(created)} created (password for all: {DEMO_PASSWORD})")
    load_demo_articles()
    load_demo_tickets()
    click.echo(f"demo escalations: {load_demo_escalations()} created")
    load_demo_insights()


def load_demo_articles() -> None:
    """The generic library from library/kb, then each demo country's own articles from tenants/<slug>/kb."""
    from portal.cli.kb import echo_report, import_path

    library = REPO_ROOT / "library" / "kb"
    if library.is_dir():
        echo_report("generic library", import_path(library, None))
    for tenant in demo_tenants():
        folder = Path(tenant.source_path).parent / "kb" if tenant.source_path else REPO_ROOT / "tenants" / tenant.slug / "kb"
        if folder.is_dir():
            echo_report(f"{tenant.slug} articles", import_path(folder, tenant))


def load_demo_tickets() -> None:
    from portal.tickets.demo import load_demo_tickets as load_tickets

    for tenant in demo_tenants():
        click.echo(f"demo tickets in {tenant.slug}: {load_tickets(tenant)} created")


# (tenant, requester, subject, body, reason and details) of the demo escalations to L3.
DEMO_ESCALATIONS = [
    ("farajaland", "Declarations stuck in the outbox after working offline", "Since Monday, declarations made offline stay in the outbox with “failed to send”.",
     {"steps": "Go offline, declare a birth, reconnect after 20 minutes.", "expected": "The declaration is sent.", "actual": "It stays in the outbox with failed to send.", "impact": "Field agents of Ibombo and Isamba districts.", "severity": "high", "regression": "yes", "device": "Tecno Spark 10", "os": "Android 13", "browser": "Chrome 120"}),
    ("farajaland", "Certificate preview is blank for late registrations", "The certificate preview shows a blank page for late birth registrations.",
     {"steps": "Register a late birth, open the certificate preview.", "expected": "The certificate shows.", "actual": "A blank page.", "impact": "Late registrations cannot be printed.", "severity": "medium", "regression": "no", "os": "Windows 11", "browser": "Edge 119"}),
    ("kalondo", "Déclarations bloquées dans la boîte d'envoi après le travail hors ligne", "Les déclarations faites hors ligne restent bloquées avec « échec de l'envoi ».",
     {"steps": "Passer hors ligne, déclarer une naissance, se reconnecter.", "expected": "La déclaration est envoyée.", "actual": "Elle reste dans la boîte d'envoi.", "impact": "Agents de terrain de deux préfectures.", "severity": "high", "regression": "yes", "device": "Samsung Galaxy A14", "os": "Android 14"}),
]


def load_demo_escalations() -> int:
    """Escalate demo requests to L3 in both demo countries, group the outbox defect of both into
    one problem, and record the release that fixes it (idempotent: skipped once a problem exists)."""
    import datetime as dt

    from sqlalchemy import select

    from portal.escalation import central
    from portal.escalation import services as escalation
    from portal.escalation.models import Problem, Release
    from portal.tickets import services as tickets

    if db.session.scalar(select(Problem).limit(1)) is not None:
        return 0
    expert = services.get_user_by_email("expert@crvs.demo")
    steps = {}
    demo = {tenant.slug: tenant for tenant in demo_tenants()}
    for slug, subject, body, details in DEMO_ESCALATIONS:
        tenant = demo.get(slug)
        if tenant is None:
            continue
        with tenant_scope(db.session, tenant.id):
            requester = services.get_user_by_email(f"agent@{slug}.demo")
            ticket = tickets.open_ticket(tenant, requester, requester=requester, subject=subject, body=body, channel="web")
            data = {"reason": subject, **details}
            escalation.escalate_ticket(tenant, services.get_user_by_email(f"l1@{slug}.demo"), ticket, data)
            steps[(slug, subject)] = escalation.escalate_ticket(tenant, services.get_user_by_email(f"l2@{slug}.demo"), ticket, data).id
    outbox = [sid for (slug, subject), sid in steps.items() if "outbox" in subject or "boîte d'envoi" in subject]
    central.create_problem(expert, title="Offline declarations are not retried after reconnecting", description="The outbox gives up after one timeout instead of retrying.", severity="high", step_ids=outbox)
    if db.session.scalar(select(Release).limit(1)) is None:
        problem = db.session.scalar(select(Problem).order_by(Problem.id))
        central.record_release(expert, version="1.9.0", released_on=dt.date(2026, 11, 15), notes="Outbox retries with back-off; offline search improvements.", problem_ids=[problem.id])
    return len(steps)


def load_demo_insights() -> None:
    """Weeks of tickets, searches and feedback for the insights page (portal.insights.demo)."""
    from portal.insights.demo import load_demo_activity

    for tenant in demo_tenants():
        with tenant_scope(db.session, tenant.id):
            click.echo(f"{tenant.slug} insights activity: {load_demo_activity(tenant)} tickets created")
