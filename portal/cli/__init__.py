"""Command-line interface: `flask --app wsgi <group> <command>`.

Each command group lives in its own module and is registered here, so `flask --help` lists them all.
"""
from __future__ import annotations

import importlib

import click
from flask import Flask

COMMAND_MODULES = ("tenants", "users", "demo", "translate", "kb", "tickets", "escalation", "channels", "outbox", "insights",
                   "jobs")


def register_commands(app: Flask) -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"portal.cli.{name}")
        app.cli.add_command(module.group)


def tenant_or_fail(slug: str):
    """The tenant with this slug, or a one-line error telling how tenants come to exist."""
    from portal.tenancy.services import get_tenant

    tenant = get_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant '{slug}' (run 'flask --app wsgi tenants sync' first)")
    return tenant


def tenants_or_fail(slug: str | None) -> list:
    """[the tenant with this slug] when one is given (an error if unknown), else every tenant."""
    from portal.tenancy.services import list_tenants

    return [tenant_or_fail(slug)] if slug else list_tenants()
