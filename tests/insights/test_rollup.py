"""The daily rollup gives the same figures as live counting, and running it again changes nothing."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from portal.core.db import db, tenant_scope
from portal.insights.facts import aggregate
from portal.insights.models import RollupRow, RollupState
from portal.insights.rollup import roll_up
from portal.tenancy.services import get_tenant

FIRST, LAST = dt.date(2026, 9, 21), dt.date(2026, 10, 18)
DIMS = {"demand": ("day", "category_id", "channel", "tier"), "people": ("office", "role", "category_id")}


def figures():
    return {cube: {k: vars(m) for k, m in aggregate(cube, dims, FIRST, LAST).items()} for cube, dims in DIMS.items()}


def test_rollup_matches_live_counts_and_is_idempotent(app, insight_data):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            live = figures()
            assert sum(m["tickets"] for m in live["demand"].values()) == 11
            # Roll up to the middle of the period: the later days stay live.
            first, through, written = roll_up(tenant, days=7, through=dt.date(2026, 10, 13))
            assert first == dt.date(2026, 9, 22)  # the first run starts at the first ticket
            assert written > 0
            assert figures() == live
            rows = db.session.scalar(select(func.count(RollupRow.id)))
            roll_up(tenant, days=7, through=dt.date(2026, 10, 13))
            assert db.session.scalar(select(func.count(RollupRow.id))) == rows
            assert figures() == live
            # Everything rolled up, and a later change to a ticket shows after the next run.
            roll_up(tenant, days=60, through=dt.date(2026, 10, 31))
            assert figures() == live
            assert db.session.scalar(select(RollupState.rolled_through)) == dt.date(2026, 10, 31)
        # Another tenant's rollup rows never count here.
        kalondo = get_tenant("kalondo")
        with tenant_scope(db.session, kalondo.id):
            roll_up(kalondo, through=dt.date(2026, 10, 31))
        with tenant_scope(db.session, tenant.id):
            assert figures() == live


def test_rollup_command_runs_for_every_tenant(app, runner, insight_data):
    result = runner.invoke(args=["insights", "rollup", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "farajaland:" in result.output and "kalondo:" in result.output
    assert runner.invoke(args=["insights", "rollup", "--tenant", "nowhere"]).exit_code != 0
