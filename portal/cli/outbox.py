"""`flask outbox work`: send what the outbox holds, with retries; run one or more on any server.
`flask outbox status`: how the queues stand, and what could not be sent."""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from portal.channels.models import OutboundMessage
from portal.channels.services import work_once
from portal.core.db import SYSTEM, across_tenants, db
from portal.core.mail import QueuedMail
from portal.tenancy.models import Tenant


@click.group("outbox", help="Send queued outbound messages.")
def group() -> None:
    pass


@group.command("work")
@click.option("--once", is_flag=True, help="One pass, then exit (for cron or tests).")
@click.option("--batch", default=20, show_default=True, type=int)
@click.option("--idle", default=2.0, show_default=True, type=float, help="Seconds to wait when nothing is due.")
@with_appcontext
def work(once: bool, batch: int, idle: float) -> None:
    """Claim due messages (never the same as another worker), send them, retry failures with backoff."""
    while True:
        counts = work_once(batch)
        if once:
            click.echo(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            return
        if sum(v for k, v in counts.items() if k != "inbound") == 0:
            time.sleep(idle)


@group.command("status")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0),
              help="How many of the latest messages that could not be sent to list.")
@with_appcontext
def status(limit: int) -> None:
    """Messages per status in each queue, then the latest that could not be sent, newest first.

    System mail (password resets, invitations, notices to staff) belongs to no country, so no
    country's page shows it: this is where an operator sees that it fails (a mail server that
    refuses the portal's login, say). Replies on the channels are shown to each country's admins
    too, on its channels page."""
    undone = ("failed", "expired")
    with across_tenants(db.session, SYSTEM):
        for label, model in (("system mail", QueuedMail), ("channel replies", OutboundMessage)):
            counts = db.session.execute(select(model.status, func.count()).group_by(model.status).order_by(model.status)).all()
            click.echo(f"{label}: " + (", ".join(f"{status} {count}" for status, count in counts) or "none"))
        mails = db.session.execute(
            select(QueuedMail.updated_at, QueuedMail.recipient, QueuedMail.status, QueuedMail.attempts, QueuedMail.last_error)
            .where(QueuedMail.status.in_(undone)).order_by(QueuedMail.updated_at.desc()).limit(limit)).all()
        replies = db.session.execute(
            select(OutboundMessage.updated_at, OutboundMessage.recipient, OutboundMessage.status, OutboundMessage.attempts,
                   OutboundMessage.last_error, OutboundMessage.channel, Tenant.slug)
            .join(Tenant, Tenant.id == OutboundMessage.tenant_id)
            .where(OutboundMessage.status.in_(undone)).order_by(OutboundMessage.updated_at.desc()).limit(limit)).all()
    rows = sorted([(*m, "system mail") for m in mails] + [(*r[:5], f"{r.channel} ({r.slug})") for r in replies],
                  key=lambda row: row[0], reverse=True)[:limit]
    if rows:
        click.echo("not sent, newest first:")
    for at, recipient, state, attempts, error, queue in rows:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        click.echo(f"  {at:%Y-%m-%d %H:%M} UTC  {queue}  to {recipient}: {state} after {tries}: {error or 'no reason given'}")
