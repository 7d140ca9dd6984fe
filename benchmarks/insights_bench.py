"""Insights dashboards on 1,000,000 tickets: prints how long each page takes.

    python benchmarks/insights_bench.py [--url postgresql://postgres@127.0.0.1:5432/crvs_insights_bench] [--tickets 1000000] [--live]
    python benchmarks/insights_bench.py --url sqlite:////tmp/crvs_insights_bench.sqlite3

Creates (and afterwards drops) a database, loads the tenants, 400 requesters with job titles and
offices, and the tickets over the last two years (COPY on PostgreSQL, executemany on SQLite), then
times each page through the Flask test client: with the weekly rollup (`--live`: also before it),
after a day of changes to 2,000 older tickets (each writing delta rows), and
the rollup runs themselves (the first, one with nothing to do, one folding the changes in).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from portal import create_app  # noqa: E402
from portal.auth import services as auth_services  # noqa: E402
from portal.auth.permissions import GlobalRole, Role  # noqa: E402
from portal.core.db import SYSTEM, across_tenants, db, tenant_scope, utcnow  # noqa: E402
from portal.insights.models import RollupRow  # noqa: E402
from portal.insights.rollup import roll_up  # noqa: E402
from portal.tenancy.services import list_tenants, sync_tenants  # noqa: E402
from portal.tickets.models import Ticket  # noqa: E402
from portal.tickets.services import find_or_create_contact, seed_categories  # noqa: E402
from tests.conftest import throwaway_postgres_database  # noqa: E402

PASSWORD = "bench-password-123"
JOBS = ["Registration agent", "Local registrar", "Registrar", "Community leader", "Health worker"]
SUBJECTS = [
    "Cannot print birth certificate", "Certificate printer shows blank page", "Forgot my password",
    "Verification code not received", "Tablet will not sync", "Record stuck in sent for approval",
    "How to correct a name on a record", "Report totals look wrong", "Cannot log in after update",
    "Declaration rejected without reason", "Late registration fee question", "Photo upload fails",
]
CHANNELS = ["web", "web", "web", "email", "whatsapp", "whatsapp", "telegram", "assistant"]
TIERS = ["L1"] * 8 + ["L2"] * 3 + ["L3"]


def _ticket_rows(rng, tenant, categories, people, count: int, now: dt.datetime):
    """The columns of COLUMNS for `count` tickets of `tenant` spread over the last two years."""
    for n in range(1, count + 1):
        user_id, contact_id, office = rng.choice(people)
        created = now - dt.timedelta(seconds=rng.randrange(730 * 86400))
        responded = created + dt.timedelta(minutes=rng.randrange(5, 3000)) if rng.random() < 0.9 else None
        resolved = created + dt.timedelta(hours=rng.randrange(1, 200)) if responded and rng.random() < 0.7 else None
        rating = rng.randint(1, 5) if resolved and rng.random() < 0.3 else None
        yield (
            tenant.id, n, f"B-{n:07d}", rng.choice(SUBJECTS), "resolved" if resolved else "open", "normal", rng.choice(TIERS),
            rng.choice(CHANNELS), rng.choice(categories), contact_id, user_id, office, "", False, rng.random() < 0.1,
            rng.random() < 0.05, "", created, created, created, responded, resolved, rating,
            created + dt.timedelta(hours=20), created + dt.timedelta(hours=100), 0.0,
        )


COLUMNS = ("tenant_id, number, reference, subject, status, priority, tier, channel, category_id, contact_id, requester_user_id, "
           "office, opencrvs_version, kb_suggestion_opened, first_response_breached, resolution_breached, rating_comment, "
           "created_at, updated_at, last_activity_at, first_responded_at, resolved_at, rating, first_response_due_at, resolution_due_at, waiting_hours")


def _sqlite_value(value):
    if isinstance(value, dt.datetime):  # as SQLAlchemy stores UTC datetimes on SQLite
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load(tickets: int, db_url: str) -> None:
    rng = random.Random(7)
    tenants = list_tenants()
    now = utcnow()
    plan = []
    for tenant in tenants:
        with tenant_scope(db.session, tenant.id):
            categories = [c.id for c in seed_categories(tenant)]
            offices = tenant.settings.registration.offices or ["Head office"]
            people = []
            for i in range(200):
                user = auth_services.create_user(f"bench{i}@{tenant.slug}.bench", name=f"Bench {i}")
                auth_services.add_membership(tenant, user, Role.REQUESTER, rng.choice(JOBS), rng.choice(offices))
                contact = find_or_create_contact(tenant, user=user)
                db.session.flush()
                people.append((user.id, contact.id, rng.choice(offices)))
            db.session.commit()
            plan.append((tenant, categories, people))
    per_tenant = tickets // len(plan)
    if db.engine.dialect.name == "postgresql":
        conn = psycopg.connect(make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False))
        for tenant, categories, people in plan:
            with conn.cursor() as cur, cur.copy(f"COPY tickets ({COLUMNS}) FROM STDIN") as copy:
                for row in _ticket_rows(rng, tenant, categories, people, per_tenant, now):
                    copy.write_row(row)
            conn.commit()
        conn.close()
    else:
        conn = sqlite3.connect(make_url(db_url).database)
        marks = ", ".join("?" for _ in COLUMNS.split(","))
        for tenant, categories, people in plan:
            rows = ([_sqlite_value(v) for v in row] for row in _ticket_rows(rng, tenant, categories, people, per_tenant, now))
            conn.executemany(f"INSERT INTO tickets ({COLUMNS}) VALUES ({marks})", rows)
            conn.commit()
        conn.close()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def change_old_tickets(count: int) -> int:
    """A busy day: `count` tickets opened in the last year are answered, resolved and rated through the
    ORM, as the desk does; returns the weeks that now have delta rows."""
    rng = random.Random(11)
    start = utcnow() - dt.timedelta(days=365)
    for t in list_tenants():
        with tenant_scope(db.session, t.id):
            ids = list(db.session.scalars(select(Ticket.id).where(Ticket.created_at >= start, Ticket.resolved_at.is_(None)).order_by(Ticket.id).limit(20 * count)))
            for ticket_id in rng.sample(ids, min(count // 2, len(ids))):
                ticket = db.session.get(Ticket, ticket_id)
                ticket.first_responded_at = ticket.first_responded_at or utcnow()
                ticket.resolved_at, ticket.status, ticket.rating = utcnow(), "resolved", rng.randint(1, 5)
            db.session.commit()
    with across_tenants(db.session, SYSTEM):
        return db.session.scalar(select(func.count(func.distinct(RollupRow.week))).where(RollupRow.is_delta.is_(True)))


def timed(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
    return elapsed


@contextmanager
def bench_database(url):
    if url.get_backend_name() == "postgresql":
        with throwaway_postgres_database(url, url.database) as db_url:
            yield db_url
        return
    path = Path(url.database)
    path.unlink(missing_ok=True)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        path.unlink(missing_ok=True)


def roll_up_all(label: str) -> None:
    started = time.perf_counter()
    runs = []
    for t in list_tenants():
        with tenant_scope(db.session, t.id):
            run = roll_up(t)
            runs.append(f"{t.slug} {run.weeks} weeks counted, {run.folded} folded, {run.rows:,} rows")
    print(f"{label}: {time.perf_counter() - started:.1f} s ({'; '.join(runs)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/crvs_insights_bench")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=2000, help="older tickets changed between two rollups")
    parser.add_argument("--live", action="store_true", help="also time the pages before the first rollup (slow)")
    args = parser.parse_args()
    url = make_url(args.url.replace("postgresql://", "postgresql+psycopg://", 1))
    with bench_database(url) as db_url, tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench", "TESTING": True, "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://", "MAIL_SUPPRESS_SEND": True,
                          "ATTACHMENTS_DIR": tmp})
        with app.app_context():
            db.create_all()
            sync_tenants(REPO / "tenants")
            started = time.perf_counter()
            load(args.tickets, db_url)
            print(f"{db.engine.dialect.name}: loaded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
            tenant = list_tenants()[0]
            with tenant_scope(db.session, tenant.id):
                admin = auth_services.create_user(f"admin@{tenant.slug}.bench", PASSWORD)
                auth_services.add_membership(tenant, admin, Role.TENANT_ADMIN)
            auth_services.create_user("expert@bench.bench", PASSWORD, global_role=GlobalRole.L3_EXPERT)
            db.session.commit()
            today = utcnow().date()
            year = f"?start={today - dt.timedelta(days=364)}&end={today}"
            month = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
            pages = {
                "tenant dashboard, 12 weeks": f"/{tenant.slug}/insights/",
                "tenant dashboard, 1 year": f"/{tenant.slug}/insights/{year}",
                "tenant monthly report": f"/{tenant.slug}/insights/report?month={month}",
                "tenant CSV export (offices, 1 year)": f"/{tenant.slug}/insights/export/offices.csv{year}",
                "cross-tenant dashboard, 12 weeks": "/expert/insights",
                "cross-tenant dashboard, 1 year": f"/expert/insights{year}",
            }
        tenant_client, expert_client = app.test_client(), app.test_client()
        tenant_client.post(f"/{tenant.slug}/login", data={"email": f"admin@{tenant.slug}.bench", "password": PASSWORD})
        expert_client.post("/login", data={"email": "expert@bench.bench", "password": PASSWORD})

        def run(label: str) -> None:
            print(f"\n{label}")
            for name, page in pages.items():
                client = expert_client if page.startswith("/expert") else tenant_client
                timed(client, page)  # warm the caches once
                best = min(timed(client, page) for _ in range(3))
                print(f"  {name:40s} {best * 1000:8.0f} ms")

        if args.live:
            run("without rollup (everything counted live)")
        with app.app_context():
            roll_up_all("first rollup of every tenant")
            roll_up_all("rollup again, nothing changed")
        run("with the rollup (the current week and the partial weeks counted live)")
        with app.app_context():
            started = time.perf_counter()
            weeks = change_old_tickets(args.changes)
            print(f"\n{args.changes:,} older tickets changed ({time.perf_counter() - started:.1f} s, with their delta rows): {weeks} weeks have deltas")
        run("after the changes, before the next rollup (delta rows added up)")
        with app.app_context():
            roll_up_all("rollup folding the deltas in")
            db.engine.dispose()


if __name__ == "__main__":
    main()
