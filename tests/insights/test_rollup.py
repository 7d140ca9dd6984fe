"""The weekly rollup gives the same figures as counting live, whatever changes after a week is rolled
up (the change writes delta rows); running it again counts no week twice."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

from sqlalchemy import func, select

from portal.auth.models import Membership
from portal.auth.permissions import GlobalRole, Role
from portal.auth.services import get_user_by_email
from portal.core.db import db, tenant_scope
from portal.insights.facts import gather
from portal.insights.models import DurationRow, RollupRow, RollupState
from portal.insights.rollup import roll_up
from portal.tenancy.services import get_tenant
from portal.tickets import services as tickets

FIRST, LAST = dt.date(2026, 9, 21), dt.date(2026, 10, 18)


def figures(use_rollup=True, first=FIRST, last=LAST):
    facts = gather(first, last, use_rollup=use_rollup)
    times = defaultdict(Counter)
    for (tid, tier, kind, removed), parts in facts.times.items():
        for part in parts:
            for v in part:
                times[(tid, tier, kind)][v] += -1 if removed else 1
    times = {key: sorted(values.elements()) for key, values in times.items() if any(values.values())}
    assert all(n >= 0 for values in times.values() for n in values)
    return facts.cubes, times


def assert_exact():
    """The figures with the rollup equal those counted live, on the whole fortnight and on ragged periods."""
    for first, last in [(FIRST, LAST), (dt.date(2026, 9, 23), dt.date(2026, 10, 14)), (dt.date(2026, 10, 12), dt.date(2026, 10, 12))]:
        assert figures(True, first, last) == figures(False, first, last)


def delta_weeks():
    """The weeks that have delta rows (counts or times)."""
    weeks = set(db.session.scalars(select(RollupRow.week).where(RollupRow.is_delta.is_(True))))
    return sorted(weeks | set(db.session.scalars(select(DurationRow.week).where(DurationRow.is_delta.is_(True)))))


def test_rollup_matches_live_counts_and_counts_only_what_changed(app, insight_data):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            live = figures(False)
            assert sum(values[0] for values in live[0]["tier"].values()) == 11
            # Roll up to the middle of the period: the later days stay live.
            run = roll_up(tenant, through=dt.date(2026, 10, 13))
            assert (run.weeks, run.rolled_through) == (3, dt.date(2026, 10, 11))  # from the first ticket's week
            assert run.rows > 0
            assert figures() == live
            assert_exact()
            rows = db.session.scalar(select(func.count(RollupRow.id)))
            assert roll_up(tenant, through=dt.date(2026, 10, 13)).weeks == 0  # nothing changed: nothing counted
            assert db.session.scalar(select(func.count(RollupRow.id))) == rows
            assert figures() == live

            # A requester rates a ticket of a rolled-up week: the change writes deltas for that week.
            a = get_user_by_email("agent-a@example.org")
            tickets.rate_ticket(tenant, a, tickets.get_ticket_by_reference(tenant, insight_data[0]), 2, "Slow")
            assert delta_weeks() == [dt.date(2026, 10, 5)]
            assert figures() != live
            assert_exact()
            # The next run counts no week again: it folds the deltas into the week's rows.
            run = roll_up(tenant, through=dt.date(2026, 10, 13))
            assert (run.weeks, run.folded) == (0, 1)
            assert delta_weeks() == []
            assert_exact()

            # An agent answers and resolves an old ticket, moves it to another category and tier:
            # counts, times and the people cube all follow.
            l2 = get_user_by_email("l1-links@example.org")
            old = tickets.get_ticket_by_reference(tenant, insight_data[8])  # opened 25 September
            tickets.add_message(tenant, l2, old, body="Here is how to reprint it.")
            tickets.change_tier(tenant, l2, old, "L2")  # what the escalation service does underneath
            tickets.update_ticket(tenant, l2, old, category="access-and-login", status="resolved")
            assert delta_weeks() == [dt.date(2026, 9, 21)]
            assert_exact()

            # The SLA check flags overdue tickets with an SQL update; the deltas follow too.
            flagged = tickets.check_sla(tenant, now=dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc))
            assert any(t.created_at.date() < dt.date(2026, 10, 5) for t, _kind in flagged)
            assert_exact()

            # A requester's new job title moves their tickets to another role.
            membership = db.session.scalar(select(Membership).where(Membership.user_id == a.id))
            membership.job_title = "Local registrar"
            db.session.commit()
            assert_exact()
            assert roll_up(tenant, through=dt.date(2026, 10, 13)).folded >= 2
            assert delta_weeks() == []
            assert_exact()

            # A ticket of a rolled-up week deleted, one imported with an old date: both counted.
            db.session.delete(tickets.get_ticket_by_reference(tenant, insight_data[9]))
            db.session.commit()
            assert_exact()
            from .conftest import add_ticket

            add_ticket(tenant, a, "reports", "Imported old request", "email", "L1", "2026-09-30 10:00", 2, 5)
            assert_exact()
            # A ticket moved out of a rolled-up week (its old date not even loaded) leaves it.
            moved = tickets.get_ticket_by_reference(tenant, insight_data[10])
            db.session.expire(moved)
            moved.created_at = dt.datetime.now(dt.timezone.utc)
            db.session.commit()
            assert_exact()

            # Everything rolled up, and `full` counts every week again with the same result.
            roll_up(tenant, through=dt.date(2026, 10, 31))
            assert db.session.scalar(select(RollupState.rolled_through)) == dt.date(2026, 10, 25)
            assert_exact()
            before = figures()
            assert roll_up(tenant, full=True, through=dt.date(2026, 10, 31)).weeks == 5  # 21 September to 25 October
            assert delta_weeks() == []
            assert figures() == before
        # Another tenant's rollup rows never count here.
        kalondo = get_tenant("kalondo")
        with tenant_scope(db.session, kalondo.id):
            roll_up(kalondo, through=dt.date(2026, 10, 31))
        with tenant_scope(db.session, tenant.id):
            assert figures() == before


def test_dashboards_are_the_same_with_and_without_the_rollup(client, make_user, auth, app, insight_data):
    """A period with partial weeks at both ends, half of it rolled up: the pages do not change."""
    admin, expert = make_user(role=Role.TENANT_ADMIN), make_user(global_role=GlobalRole.L3_EXPERT, tenant=None)

    def pages():
        auth.login(admin)
        tenant_page = client.get("/farajaland/insights/?start=2026-09-24&end=2026-10-16").get_data(as_text=True)
        auth.login(expert, tenant=None)
        expert_page = client.get("/expert/insights?start=2026-09-24&end=2026-10-16").get_data(as_text=True)
        return [re.sub(r'name="csrf_token" value="[^"]*"', "", page) for page in (tenant_page, expert_page)]

    live = pages()
    assert "Printer will not print certificate" in live[0]
    with app.app_context():
        for slug in ("farajaland", "kalondo"):
            tenant = get_tenant(slug)
            with tenant_scope(db.session, tenant.id):
                roll_up(tenant, through=dt.date(2026, 10, 13))
    assert pages() == live


def test_rollup_command_runs_for_every_tenant(app, runner, insight_data):
    result = runner.invoke(args=["insights", "rollup"])
    assert result.exit_code == 0, result.output
    assert "farajaland:" in result.output and "kalondo:" in result.output
    again = runner.invoke(args=["insights", "rollup", "--tenant", "farajaland"])
    assert "farajaland: 0 weeks counted" in again.output
    assert runner.invoke(args=["insights", "rollup", "--tenant", "nowhere"]).exit_code != 0
    unknown = runner.invoke(args=["tickets", "sla-check", "--tenant", "nowhere"])
    assert unknown.exit_code == 1 and "no tenant 'nowhere' (run 'flask --app wsgi tenants sync' first)" in unknown.output
