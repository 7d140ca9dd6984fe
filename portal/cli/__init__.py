"""Command-line interface: `flask --app wsgi <group> <command>`.

Each command group lives in its own module and is registered here, so `flask --help` lists them all.
"""
from __future__ import annotations

import functools
import importlib

import click
from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

COMMAND_MODULES = ("tenants", "users", "demo", "translate", "kb", "tickets", "escalation", "channels", "outbox", "insights",
                   "jobs")


def register_commands(app: Flask) -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"portal.cli.{name}")
        app.cli.add_command(module.group)
    for command in app.cli.commands.values():  # ours, and those of extensions (`db upgrade`)
        report_unreachable_database(command)


def report_unreachable_database(command: click.Command) -> None:
    """Make `command` (and its subcommands) end with one line, instead of a traceback, when a database
    error comes from a database that cannot be reached at all (a wrong DATABASE_URL, a server down).
    or that has no schema yet. Any other database error inside the command is raised as it was."""
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            report_unreachable_database(subcommand)
    callback = command.callback
    if callback is None or getattr(callback, "reports_unreachable_database", False):
        return  # the command objects are shared by every app made: wrapped once

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except DBAPIError:
            problem = database_not_ready()
            if problem is None:
                raise
            click.echo(f"configuration error: {problem}", err=True)
            raise SystemExit(2) from None

    run.reports_unreachable_database = True
    command.callback = run


def database_not_ready() -> str | None:
    """Why the app's database cannot serve at all (one line naming it, without its password): it cannot
    be reached, or `db upgrade` never ran there. None when it can."""
    if not current_app:
        return None
    from sqlalchemy import inspect

    from portal.extensions import db

    url = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as connection:
            if not inspect(connection).has_table("tenants"):
                return f"the database at {url} has no tables yet: run 'flask --app wsgi db upgrade' first"
            return None
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig or exc).split())
        return f"cannot connect to the database at {url}: {reason}"


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
