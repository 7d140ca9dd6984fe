"""`flask --app wsgi jobs run`: the periodic jobs in one long-running process, instead of cron.

It runs `tickets sla-check`, `insights rollup` and, when GitHub is set up, `escalation github-sync`,
each at its interval (JOBS_SLA_CHECK_SECONDS, JOBS_ROLLUP_SECONDS, JOBS_GITHUB_SYNC_SECONDS) and
once at start. Every job is safe on several servers at once, so one runner per server, or one in
all, both work. A job that fails is logged and tried again at its next turn; the others go on.
APScheduler keeps the clock: a run that is late (the previous one still going, the machine
asleep) is done once, not once per missed turn.
"""
from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable, Iterable

import click
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.cli.escalation import sync_github_states
from portal.cli.insights import roll_up_every_tenant
from portal.cli.tickets import check_every_sla
from portal.core.db import db
from portal.core.urls import no_host_warning

# name -> (the job, the setting holding its interval in seconds, the default interval)
JOBS: dict[str, tuple[Callable[[], Iterable[str]], str, int]] = {
    "sla-check": (check_every_sla, "JOBS_SLA_CHECK_SECONDS", 300),
    "insights-rollup": (roll_up_every_tenant, "JOBS_ROLLUP_SECONDS", 3600),
    "github-sync": (sync_github_states, "JOBS_GITHUB_SYNC_SECONDS", 900),
}


@click.group("jobs", help="The periodic jobs, run by one long-running process.")
def group() -> None:
    pass


def active_jobs() -> dict[str, tuple[Callable[[], Iterable[str]], int]]:
    """The jobs this deployment runs, with their intervals (github-sync only when GitHub is set up)."""
    from portal.escalation import github

    return {name: (job, int(current_app.config.get(setting, default)))
            for name, (job, setting, default) in JOBS.items()
            if name != "github-sync" or github.is_configured()}


def run_job(app: Flask, name: str, job: Callable[[], Iterable[str]]) -> bool:
    """Run one job in its own app context and session; False (and the traceback logged) if it failed."""
    with app.app_context():
        try:
            for line in job():
                click.echo(f"{name}: {line}")
            return True
        except Exception:
            db.session.rollback()
            app.logger.exception("job %s failed", name)
            click.echo(f"{name}: failed, tried again at its next turn (the log has the details)", err=True)
            return False
        finally:
            db.session.remove()


def schedule(app: Flask) -> BlockingScheduler:
    """A scheduler holding every active job at its interval, the first run due at once."""
    scheduler = BlockingScheduler(timezone=dt.timezone.utc,
                                  job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    now = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        jobs = active_jobs()
    for name, (job, seconds) in jobs.items():
        scheduler.add_job(run_job, "interval", seconds=seconds, args=(app, name, job), id=name, name=name,
                          next_run_time=now)
    return scheduler


@group.command("run")
@click.option("--once", is_flag=True, help="Run every job once, then exit (exit status 1 if one failed).")
@with_appcontext
def run(once: bool) -> None:
    """Run the periodic jobs: sla-check, insights rollup and GitHub sync, each at its interval."""
    app = current_app._get_current_object()
    if warning := no_host_warning():
        click.echo(warning, err=True)
    if once:
        failed = [name for name, (job, _seconds) in active_jobs().items() if not run_job(app, name, job)]
        if failed:
            raise click.ClickException(f"failed: {', '.join(failed)}")
        return
    scheduler = schedule(app)
    for job in scheduler.get_jobs():
        click.echo(f"{job.name}: every {int(job.trigger.interval.total_seconds())} s")
    # A service manager stops it with SIGTERM: let the job that is running finish, then exit.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        scheduler.start()  # runs until stopped (SIGTERM or Ctrl-C)
    except KeyboardInterrupt:
        scheduler.shutdown(wait=False)
