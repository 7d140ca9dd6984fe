"""`flask outbox work`: send what the outbox holds, with retries; run one or more on any server.
`flask outbox status`: how the queues stand, and what could not be sent."""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from portal.channels.services import delivery_report, work_once
from portal.core.urls import no_host_warning


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
    if not once and (warning := no_host_warning()):
        click.echo(warning, err=True)
    while True:
        counts = work_once(batch)
        if once:
            click.echo(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
            return
        if sum(v for k, v in counts.items() if k != "inbound") == 0:
            time.sleep(idle)


QUEUE_NAMES = {"mail": "system mail", "replies": "channel replies"}


@group.command("status")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0),
              help="How many of the latest messages that could not be sent to list.")
@with_appcontext
def status(limit: int) -> None:
    """Messages per status in each queue, then the latest that could not be sent, newest first.

    System mail (password resets, invitations, notices to staff) belongs to no country, so no
    country's page shows it: this is where an operator sees that it fails (a mail server that
    refuses the portal's login, say), as the platform administrators' delivery page does
    (`/expert/delivery`). Replies on the channels are shown to each country's admins too."""
    report = delivery_report(limit)
    for figures in report.queues:
        label = QUEUE_NAMES[figures.name]
        click.echo(f"{label}: " + (", ".join(f"{state} {count}" for state, count in sorted(figures.counts.items())) or "none"))
        if figures.stalled(report.now):
            click.echo(f"  due since {figures.due_since:%Y-%m-%d %H:%M} UTC and not sent: is `flask outbox work` running?")
    for row in report.inbound:
        click.echo(f"received for {row.slug}: {row.quarantined} quarantined, {row.waiting} waiting")
    if report.undelivered:
        click.echo("not sent, newest first:")
    for row in report.undelivered:
        tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
        queue = "system mail" if row.queue == "mail" else f"{row.queue} ({row.tenant})"
        click.echo(f"  {row.at:%Y-%m-%d %H:%M} UTC  {queue}  to {row.recipient}: {row.status} after {tries}: {row.error or 'no reason given'}")
