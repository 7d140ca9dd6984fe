"""`flask channels ...`: the three ways email comes in (pipe, SMTP listener, IMAP poller)."""
from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.channels.mail import PollReport, ingest_email, poll_imap, tenant_for_address
from portal.core.db import db
from portal.tenancy.models import Tenant
from portal.tenancy.services import get_tenant, list_tenants


@click.group("channels", help="Receive email (pipe, SMTP, IMAP) into the channel inbox.")
def group() -> None:
    pass


@group.command("email-ingest")
@click.option("--tenant", "slug", required=True, help="The country whose desk receives the message.")
@with_appcontext
def email_ingest(slug: str) -> None:
    """Store one RFC 822 message read on standard input (for an MTA pipe); exit 0 once it is stored."""
    tenant = get_tenant(slug)
    if tenant is None:
        click.echo(f"error: no tenant '{slug}'", err=True)
        raise SystemExit(2)
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        click.echo("error: empty message on standard input", err=True)
        raise SystemExit(65)  # EX_DATAERR: the MTA bounces it
    try:
        result = ingest_email(tenant, raw)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(65)
    except Exception as exc:  # the database is down: EX_TEMPFAIL makes the MTA try again later
        click.echo(f"error: not stored: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", err=True)
        raise SystemExit(75)
    click.echo(f"{'stored' if result.created else 'duplicate'} {result.inbound.id} {result.status}")


class PortalHandler:
    """aiosmtpd handler: a recipient is accepted only if it is a country's support address."""

    def __init__(self, app):
        self.app = app

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.app.app_context():
            if tenant_for_address(address) is None:
                return "550 5.1.1 no support desk at this address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        with self.app.app_context():
            try:
                for address in dict.fromkeys(a.lower() for a in envelope.rcpt_tos):
                    tenant = tenant_for_address(address)
                    ingest_email(tenant, raw)
            except ValueError as exc:
                return f"554 5.6.0 {exc}"
            except Exception:
                self.app.logger.exception("storing an SMTP message failed")
                return "451 4.3.0 not stored, try again later"
        return "250 2.0.0 stored"


def smtp_controller(app, host: str, port: int):
    from aiosmtpd.controller import Controller

    # decode_data=False keeps the bytes exactly as sent (any charset).
    return Controller(PortalHandler(app), hostname=host, port=port, decode_data=False, data_size_limit=25 * 1024 * 1024)


@group.command("smtp-serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
@with_appcontext
def smtp_serve(host: str, port: int) -> None:
    """Receive mail over SMTP for every country's support address until stopped."""
    controller = smtp_controller(current_app._get_current_object(), host, port)
    controller.start()
    click.echo(f"listening on {host}:{port}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@group.command("imap-poll")
@click.option("--tenant", "slug", default=None, help="Only this country (default: every country with IMAP set up).")
@click.option("--every", type=click.FloatRange(min=0.1), default=None, help="Poll again every this many seconds until stopped (default: poll once, for cron).")
@click.option("--rounds", type=click.IntRange(min=1), default=None, help="With --every: stop after this many polls.")
@with_appcontext
def imap_poll(slug: str | None, every: float | None, rounds: int | None) -> None:
    """Fetch unseen mail from each country's IMAP box into the inbox (from cron, or looping with --every).

    Each poll connects afresh: a box that refused the login or dropped the connection is tried
    again at the next poll. Exit status 1 when the last poll of some country failed."""
    if slug and get_tenant(slug) is None:
        click.echo(f"error: no tenant '{slug}'", err=True)
        raise SystemExit(2)
    done = 0
    while True:
        failed = _poll_once(slug)
        done += 1
        if every is None or (rounds is not None and done >= rounds):
            break
        time.sleep(every)
    if failed:
        raise SystemExit(1)


def _poll_once(slug: str | None) -> bool:
    # Each poll reads the countries afresh (ingest keeps a tenant loaded from one message to the next).
    db.session.expire_all()
    tenants: list[Tenant] = [get_tenant(slug)] if slug else list_tenants()
    failed = False
    for tenant in filter(None, tenants):
        try:
            report = poll_imap(tenant)
        except Exception as exc:  # a bug or the database: say so, and go on with the other countries
            current_app.logger.exception("IMAP poll of %s failed", tenant.slug)
            report = PollReport(error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
        for problem in report.problems:
            click.echo(f"error: {problem}", err=True)
        if report.error:
            click.echo(f"error: {tenant.slug}: {report.error}", err=True)
            failed = True
        already = f", {report.duplicates} already stored" if report.duplicates else ""
        click.echo(f"{tenant.slug}: {report.stored} stored{already}")
    return failed
