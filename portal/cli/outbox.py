"""`flask outbox work`: send what the outbox holds, with retries; run one or more on any server."""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from portal.channels.services import work_once


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
