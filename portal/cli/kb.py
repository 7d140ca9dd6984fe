"""`flask --app wsgi kb ...`: import and export knowledge-base folders, rebuild search indexes, make handbooks."""
from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.core import versions
from portal.core.db import db, tenant_scope
from portal.kb import handbook, importer, search
from portal.kb.models import GENERIC_CONTENT, tenant_content
from portal.cli import tenant_or_fail, tenants_or_fail
from portal.tenancy.services import list_tenants


@click.group("kb", help="Knowledge base: import, export, search index and handbooks.")
def group() -> None:
    pass


def _target(tenant_slug: str | None, generic: bool):
    if bool(tenant_slug) == generic:
        raise click.UsageError("give exactly one of --tenant SLUG or --generic")
    if generic:
        return None
    return tenant_or_fail(tenant_slug)


def import_path(path: Path, tenant) -> importer.ImportReport:
    """Import a folder into the generic library (tenant None) or a tenant, and commit."""
    if tenant is None:
        report = importer.import_folder(path)
    else:
        with tenant_scope(db.session, tenant.id):
            report = importer.import_folder(path, tenant)
    db.session.commit()
    return report


def echo_report(label: str, report: importer.ImportReport) -> None:
    click.echo(f"{label}: {len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged")
    for problem in report.problems:
        click.echo(f"  error: {problem}", err=True)


@group.command("import")
@click.option("--tenant", "tenant_slug", help="import into this tenant's own articles")
@click.option("--generic", is_flag=True, help="import into the generic library")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def import_command(tenant_slug: str | None, generic: bool, path: Path) -> None:
    """Import a folder of Markdown files with YAML front matter (idempotent)."""
    tenant = _target(tenant_slug, generic)
    report = import_path(path, tenant)
    echo_report(str(path), report)
    if report.problems:
        raise SystemExit(1)


@group.command("export")
@click.option("--tenant", "tenant_slug", help="export this tenant's own articles")
@click.option("--generic", is_flag=True, help="export the generic library")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_command(tenant_slug: str | None, generic: bool, path: Path) -> None:
    """Write articles as Markdown files with YAML front matter, in the format `kb import` reads."""
    tenant = _target(tenant_slug, generic)
    if tenant is None:
        count = importer.export_folder(path)
    else:
        with tenant_scope(db.session, tenant.id):
            count = importer.export_folder(path, tenant)
    click.echo(f"{count} files written to {path}")


@group.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild every tenant's search index (`tenants sync` already does it for the tenants it changes)."""
    tenants = list_tenants()
    for tenant in tenants:
        count = search.reindex_tenant(tenant)
        click.echo(f"{tenant.slug}: {count} documents")
    db.session.commit()
    # Search rows carry no version token: say that the content changed, so that every server
    # process reads the tenants' vocabularies again (see `search._current_vocabulary`).
    versions.renew(GENERIC_CONTENT, *(tenant_content(tenant.id) for tenant in tenants))


@group.command("handbook")
@click.option("--tenant", "tenant_slug", help="only this tenant (default: every tenant)")
@with_appcontext
def handbook_command(tenant_slug: str | None) -> None:
    """Make the printable handbook PDF of every locale, so that no reader waits for it (safe to repeat:
    a handbook already made for the current content is left as it is)."""
    for tenant in tenants_or_fail(tenant_slug):
        with tenant_scope(db.session, tenant.id):
            for locale in tenant.locales:
                started = time.perf_counter()
                book = handbook.cached_pdf(tenant, locale)
                click.echo(f"{tenant.slug} {locale}: {book.path} ({time.perf_counter() - started:.1f} s)")
        db.session.rollback()
