from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.auth import services
from portal.auth.permissions import GlobalRole, Role
from portal.core.db import db, tenant_scope
from portal.cli import tenant_or_fail


@click.group("users", help="Create users and API tokens.")
def group() -> None:
    pass


@group.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option("--tenant", "tenant_slug", help="Slug of the tenant to give a role in.")
@click.option("--role", type=click.Choice([r.value for r in Role]), help="Role in --tenant.")
@click.option("--global-role", type=click.Choice([r.value for r in GlobalRole]))
@with_appcontext
def create(email: str, password: str, name: str, tenant_slug: str | None, role: str | None, global_role: str | None) -> None:
    """Create a user, with a role in a tenant or a global role."""
    if bool(tenant_slug) != bool(role):
        raise click.UsageError("--tenant and --role go together")
    if not tenant_slug and not global_role:
        raise click.UsageError("give --tenant SLUG --role ROLE, or --global-role ROLE")
    tenant = tenant_or_fail(tenant_slug) if tenant_slug else None
    try:
        user = services.create_user(email, password, name=name, global_role=GlobalRole(global_role) if global_role else None)
        if tenant is not None:
            with tenant_scope(db.session, tenant.id):
                services.add_membership(tenant, user, Role(role))
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.email}")


@group.command("token")
@click.option("--email", required=True)
@click.option("--name", default="cli", help="A label to recognise the token by.")
@with_appcontext
def token(email: str, name: str) -> None:
    """Print a new API token for the user (shown once; use it as `Authorization: Bearer`)."""
    user = services.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    value = services.issue_api_token(user, name)
    db.session.commit()
    click.echo(value)
