"""`flask jobs run`: the periodic jobs (sla-check, insights rollup, GitHub sync) without cron."""
from __future__ import annotations

from portal.cli import jobs
from tests.tickets.test_sla import make_overdue


def test_once_runs_every_job_and_says_what_each_did(runner, in_tenant, requester, l1, make_ticket):
    reference = make_ticket(category="access-and-login")
    make_overdue(in_tenant)
    result = runner.invoke(args=["jobs", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert f"sla-check: farajaland: {reference} resolution breached" in result.output
    assert "sla-check: 2 new breaches" in result.output
    assert "insights-rollup: farajaland: " in result.output and "insights-rollup: kalondo: " in result.output
    assert "github-sync" not in result.output  # GitHub is not set up here
    again = runner.invoke(args=["jobs", "run", "--once"])
    assert "sla-check: 0 new breaches" in again.output  # each breach is acted on once


def test_a_failing_job_is_reported_and_the_others_still_run(runner, monkeypatch):
    def broken(slug=None):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(jobs.JOBS, "sla-check", (broken, "JOBS_SLA_CHECK_SECONDS", 300))
    result = runner.invoke(args=["jobs", "run", "--once"])
    assert result.exit_code == 1
    assert "sla-check: failed, tried again at its next turn" in result.output
    assert "insights-rollup: farajaland: " in result.output
    assert result.output.strip().splitlines()[-1] == "Error: failed: sla-check"


def test_the_schedule_has_each_job_at_its_interval_and_github_sync_when_set_up(make_app):
    app = make_app(JOBS_SLA_CHECK_SECONDS=60, GITHUB_REPOSITORY="opencrvs/opencrvs-core", GITHUB_TOKEN="t")
    scheduler = jobs.schedule(app)
    intervals = {job.id: job.trigger.interval.total_seconds() for job in scheduler.get_jobs()}
    assert intervals == {"sla-check": 60, "insights-rollup": 3600, "github-sync": 900}
    assert all(job.next_run_time is not None for job in scheduler.get_jobs())  # first run at start
    assert "github-sync" not in {job.id for job in jobs.schedule(make_app()).get_jobs()}


def test_jobs_warn_when_their_mail_can_carry_no_links(runner, make_app):
    result = runner.invoke(args=["jobs", "run", "--once"])
    assert "SERVER_NAME is not set" in result.stderr  # a breach notice would go out without the ticket's link
    outbox = runner.invoke(args=["outbox", "work", "--once"])
    assert outbox.exit_code == 0 and "SERVER_NAME" not in outbox.output  # one pass, as tests and cron run it
    hosted = make_app(SERVER_NAME="support.example.org").test_cli_runner().invoke(args=["jobs", "run", "--once"])
    assert hosted.exit_code == 0 and "SERVER_NAME" not in hosted.output
