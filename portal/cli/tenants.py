from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.core.db import db
from portal.tenancy.services import list_tenants, sync_tenants


@click.group("tenants", help="Load and list the country tenants.")
def group() -> None:
    pass


@group.command("sync")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def sync(directory: Path | None) -> None:
    """Create or update a tenant for every DIRECTORY/<slug>/tenant.toml (default: tenants/)."""
    directory = directory or Path(current_app.config["TENANTS_DIR"])
    report = sync_tenants(directory)
    for slug in report.created:
        click.echo(f"created {slug}")
    for slug in report.updated:
        click.echo(f"updated {slug}")
    for slug in report.unchanged:
        click.echo(f"unchanged {slug}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in report.problems:
        click.echo(f"error: {problem}", err=True)
    _note_empty_library()
    if report.problems:
        raise SystemExit(1)


def _note_empty_library() -> None:
    """The central library is loaded by its own step (`kb import --generic`), not by a sync: say so
    while it is empty, since every country's knowledge base starts from it."""
    from portal.kb.models import GenericArticle

    if db.session.scalar(select(GenericArticle.id).limit(1)) is None:
        library = Path(current_app.config["LIBRARY_DIR"]) / "kb"
        click.echo(f"note: the central library of generic articles is empty: load it with "
                   f"'flask --app wsgi kb import --generic {library}'")


@group.command("list")
@with_appcontext
def list_() -> None:
    """Print the active tenants."""
    for tenant in list_tenants():
        click.echo(f"{tenant.slug}\t{tenant.name}\t{','.join(tenant.locales)}\t{tenant.opencrvs_version}")
