"""Ticket desk benchmark on PostgreSQL: 50 tenants, 1,000,000 tickets, 5,000,000 messages.

    python benchmarks/tickets_bench.py [--url postgresql://postgres@127.0.0.1:5432/crvs_tickets_bench]
                                       [--tenants 50] [--tickets 1000000] [--messages-per-ticket 5]
                                       [--skip-load] [--requests 200]

Creates (or reuses, with --skip-load) the database, migrates it, bulk-loads with COPY (indexes are
dropped during the load and rebuilt afterwards, as one would for a bulk import), then prints:
the agent queue page and the API list p50/p95 (target <= 100 ms p95), text search within a tenant
p95 (target <= 200 ms), and the ticket creation rate through `open_ticket`.
Requests go through the whole Flask stack (test client: routing, sessions, scoping, templates).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import string
import sys
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.auth import services as auth_services  # noqa: E402
from portal.auth.permissions import Role  # noqa: E402
from portal.core.db import db, tenant_scope  # noqa: E402
from portal.tenancy.services import get_tenant, read_tenant_file, upsert_tenant  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"
WORDS = (
    "verification code sms never arrives expired login locked password reset username pin outbox failed send "
    "offline sync declaration birth death record search assigned colleague download certificate print preview "
    "blank signature pdf correction registrar duplicate twins health facility village dropdown informant "
    "tracking number late fee payment android phone tablet network connection slow error message screen "
    "district office report dashboard performance user account deactivated invitation temporary email"
).split()
STATUSES = ["new", "open", "open", "waiting", "resolved", "closed", "closed", "closed", "escalated"]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]


def log(*args) -> None:
    print(*args, flush=True)


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def tenant_code(i: int) -> str:
    return "B" + string.ascii_uppercase[i // 26] + string.ascii_uppercase[i % 26]


def prepare_database(url: str) -> None:
    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def make_bench_app(url: str):
    return create_app(
        {
            "TESTING": False,
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "bench-secret-key-0123456789",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_SUPPRESS_SEND": True,
            "ATTACHMENTS_DIR": "/tmp/tickets-bench-attachments",
        }
    )


def seed_tenants(app, n_tenants: int, requesters_per_tenant: int) -> None:
    """Tenants from Farajaland's file with new slugs and codes, an L1 agent each, requesters."""
    from flask_migrate import upgrade

    base, problems = read_tenant_file(REPO / "tenants" / "farajaland" / "tenant.toml")
    assert base is not None, problems
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"))
        for i in range(n_tenants):
            slug = f"bench-{i:02d}"
            data = base.model_dump(mode="json")
            data["slug"], data["name"] = slug, f"Bench country {i}"
            data["country"]["code"] = tenant_code(i)
            data["tiers"]["groups"]["first-line"]["members"] = [f"l1@{slug}.bench"]
            data["tiers"]["groups"]["technical"]["members"] = [f"l2@{slug}.bench"]
            tenant = upsert_tenant(type(base).model_validate(data))
            with tenant_scope(db.session, tenant.id):
                for local, role in (("l1", Role.L1_AGENT), ("l2", Role.L2_TECHNICIAN)):
                    user = auth_services.create_user(f"{local}@{slug}.bench", PASSWORD, name=f"{local} {slug}")
                    auth_services.add_membership(tenant, user, role)
                from portal.tickets.services import seed_categories

                seed_categories(tenant)
            db.session.commit()
        db.session.commit()
    # Requesters and contacts in bulk (hashing a password per user would take minutes).
    with app.app_context():
        conn = db.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT id, slug FROM tenants WHERE slug LIKE 'bench-%' ORDER BY id")
            tenants = cur.fetchall()
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            with cur.copy("COPY users (email, name, global_role, is_active_account, failed_logins, created_at, updated_at) FROM STDIN") as copy:
                for _tid, slug in tenants:
                    for r in range(requesters_per_tenant):
                        copy.write_row((f"r{r}@{slug}.bench", f"Requester {r}", None, True, 0, now, now))
            cur.execute(
                "INSERT INTO memberships (tenant_id, user_id, role, job_title, office, is_active, created_at, updated_at) "
                "SELECT t.id, u.id, 'requester', '', '', true, now(), now() FROM users u "
                "JOIN tenants t ON u.email LIKE 'r%%@' || t.slug || '.bench'"
            )
            cur.execute(
                "INSERT INTO contacts (tenant_id, name, email, user_id, locale, created_at, updated_at) "
                "SELECT m.tenant_id, u.name, u.email, u.id, 'en', now(), now() FROM memberships m JOIN users u ON u.id = m.user_id "
                "WHERE m.role = 'requester'"
            )
            conn.commit()
        finally:
            conn.close()


def _copy_rows(cur, table: str, columns: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def bulk_load(app, n_tickets: int, messages_per_ticket: int) -> None:
    rng = random.Random(42)
    with app.app_context():
        conn = db.engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT id FROM tenants WHERE slug LIKE 'bench-%' ORDER BY id")
        tenant_ids = [r[0] for r in cur.fetchall()]
        contacts: dict[int, list[tuple[int, int]]] = {t: [] for t in tenant_ids}
        cur.execute("SELECT tenant_id, id, user_id FROM contacts")
        for tid, cid, uid in cur.fetchall():
            contacts.setdefault(tid, []).append((cid, uid))
        staff: dict[int, list[int]] = {t: [] for t in tenant_ids}
        cur.execute("SELECT tenant_id, user_id FROM memberships WHERE role <> 'requester'")
        for tid, uid in cur.fetchall():
            staff[tid].append(uid)
        categories: dict[int, list[int]] = {t: [] for t in tenant_ids}
        cur.execute("SELECT tenant_id, id FROM ticket_categories")
        for tid, cid in cur.fetchall():
            categories[tid].append(cid)
        # Drop secondary indexes during the load; rebuild them afterwards from their definitions.
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('tickets', 'ticket_messages') "
            "AND indexname NOT LIKE 'pk_%%' AND indexname NOT LIKE 'uq_%%'"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        conn.commit()
        per_tenant = n_tickets // len(tenant_ids)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        start_time = time.perf_counter()
        ticket_cols = [
            "id", "tenant_id", "number", "reference", "subject", "status", "priority", "tier", "channel", "category_id",
            "group_key", "contact_id", "requester_user_id", "assignee_id", "opencrvs_version", "office", "locale",
            "kb_suggestion_opened", "first_response_due_at", "resolution_due_at", "first_responded_at",
            "first_response_breached", "resolution_breached", "last_activity_at", "rating_comment", "created_at", "updated_at",
            "search_document",
        ]
        message_cols = ["tenant_id", "ticket_id", "author_user_id", "author_contact_id", "body", "is_public", "is_from_staff", "channel", "created_at"]
        ticket_id = 0
        for index, tid in enumerate(tenant_ids):
            code = tenant_code(index)
            trows, mrows = [], []
            for number in range(1, per_tenant + 1):
                ticket_id += 1
                created = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 365))
                status = rng.choice(STATUSES)
                contact_id, user_id = rng.choice(contacts[tid])
                assignee = rng.choice(staff[tid] + [None])
                responded = created + dt.timedelta(hours=2) if status != "new" else None
                subject = sentence(rng, rng.randint(4, 9)).capitalize()
                bodies = [sentence(rng, rng.randint(10, 40)) for _ in range(messages_per_ticket)]
                trows.append((
                    ticket_id, tid, number, f"{code}-{number:06d}", subject, status,
                    rng.choice(PRIORITIES), "L1", rng.choice(["web", "email", "whatsapp", "telegram", "assistant"]),
                    rng.choice(categories[tid]), rng.choice(["first-line", "technical"]), contact_id, user_id, assignee,
                    "1.8.1", "Ibombo District Office", "en", False, created + dt.timedelta(hours=8), created + dt.timedelta(hours=40),
                    responded, False, False, created + dt.timedelta(hours=rng.randint(0, 72)), "", created, created,
                    # What to_tsvector('simple', ...) gives for these plain lowercase words (no positions).
                    " ".join(f"'{w}'" for w in sorted(set(" ".join([subject.lower(), *bodies]).split()))),
                ))
                for m in range(messages_per_ticket):
                    staff_msg = m % 2 == 1
                    mrows.append((
                        tid, ticket_id, assignee if staff_msg else user_id, None if staff_msg else contact_id,
                        bodies[m], not (staff_msg and m == 3), staff_msg, "web",
                        created + dt.timedelta(hours=m),
                    ))
            _copy_rows(cur, "tickets", ticket_cols, trows)
            _copy_rows(cur, "ticket_messages", message_cols, mrows)
            cur.execute(
                "INSERT INTO ticket_counters (tenant_id, name, value) VALUES (%s, 'reference', %s) "
                "ON CONFLICT (tenant_id, name) DO UPDATE SET value = EXCLUDED.value",
                (tid, per_tenant),
            )
            conn.commit()
            if index % 10 == 9:
                log(f"  loaded {ticket_id:,} tickets ({time.perf_counter() - start_time:.0f} s)")
        cur.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))")
        load_seconds = time.perf_counter() - start_time
        log(f"COPY load: {ticket_id:,} tickets and {ticket_id * messages_per_ticket:,} messages in {load_seconds:.0f} s")
        started = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in indexes:
            cur.execute(definition)
        conn.commit()
        cur.execute("ANALYZE tickets")
        cur.execute("ANALYZE ticket_messages")
        conn.commit()
        log(f"index rebuild + ANALYZE: {time.perf_counter() - started:.0f} s")
    finally:
        conn.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(client, path: str, headers=None) -> float:
    started = time.perf_counter()
    response = client.get(path, headers=headers or {})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} gave {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return elapsed


def report(name: str, samples: list[float], target: float | None = None) -> None:
    p95 = percentile(samples, 95)
    verdict = "" if target is None else ("  OK" if p95 <= target else f"  ABOVE TARGET ({target:.0f} ms)")
    log(f"{name:<38} n={len(samples):<4} p50={statistics.median(samples):7.1f} ms  p95={p95:7.1f} ms{verdict}")


def measure(app, n_requests: int, n_tenants: int, n_create: int) -> None:
    rng = random.Random(7)
    slugs = [f"bench-{i:02d}" for i in range(n_tenants)]
    with app.app_context():
        tokens = {}
        for slug in slugs:
            user = auth_services.get_user_by_email(f"l1@{slug}.bench")
            tokens[slug] = auth_services.issue_api_token(user, "bench")
        db.session.commit()
        ticket_count = db.session.execute(text("SELECT count(*) FROM tickets")).scalar()
        message_count = db.session.execute(text("SELECT count(*) FROM ticket_messages")).scalar()
    log(f"data: {len(slugs)} tenants, {ticket_count:,} tickets, {message_count:,} messages")
    clients = {}
    for slug in slugs:
        client = app.test_client()
        response = client.post(f"/{slug}/login", data={"email": f"l1@{slug}.bench", "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        clients[slug] = client
    views = ["", "?view=all", "?view=unassigned", "?view=mine", "?view=group", "?view=breaching", "?view=waiting", "?status=open&priority=high"]
    # Warm-up: one request per tenant so caches and the connection pool are ready.
    for slug in slugs:
        timed(clients[slug], f"/{slug}/tickets/queue")
    queue = [timed(clients[s], f"/{s}/tickets/queue{rng.choice(views)}") for s in (rng.choice(slugs) for _ in range(n_requests))]
    report("agent queue page (views, filters)", queue, 100)
    api = []
    for _ in range(n_requests):
        slug = rng.choice(slugs)
        query = rng.choice(["", "?status=open", "?priority=urgent", "?page=3", "?assignee=none", "?category=declarations"])
        api.append(timed(clients[slug], f"/{slug}/api/v1/tickets{query}", {"Authorization": f"Bearer {tokens[slug]}"}))
    report("API list (filters, pages)", api, 100)
    search_page, search_api = [], []
    for _ in range(n_requests):
        slug = rng.choice(slugs)
        words = " ".join(rng.sample(WORDS, rng.choice([1, 2])))
        search_page.append(timed(clients[slug], f"/{slug}/tickets/queue?view=all&q={words}"))
        search_api.append(timed(clients[slug], f"/{slug}/api/v1/tickets?q={words}", {"Authorization": f"Bearer {tokens[slug]}"}))
    report("text search, queue page", search_page, 200)
    report("text search, API", search_api, 200)
    creation_rate(app, slugs, per_thread=n_create)


def creation_rate(app, slugs: list[str], per_thread: int = 200, threads: int = 4) -> None:
    from portal.tickets import services

    def work(slug: str, count: int, out: list) -> None:
        with app.app_context():
            tenant = get_tenant(slug)
            with tenant_scope(db.session, tenant.id):
                user = auth_services.get_user_by_email(f"r1@{slug}.bench")
                contact = services.find_or_create_contact(tenant, user=user)
                db.session.commit()
                started = time.perf_counter()
                for _ in range(count):
                    services.open_ticket(tenant, user, requester=contact, subject="Outbox stuck after offline work", body="Failed to send since this morning.", category="offline-and-sync")
                out.append(time.perf_counter() - started)
            db.session.remove()

    single: list[float] = []
    work(slugs[0], per_thread, single)
    log(f"ticket creation, 1 thread:            {per_thread / single[0]:7.0f} tickets/s")
    spent: list[float] = []
    started = time.perf_counter()
    pool = [threading.Thread(target=work, args=(slugs[0], per_thread, spent)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    log(f"ticket creation, {threads} threads, one tenant: {threads * per_thread / elapsed:7.0f} tickets/s (same counter row)")
    with app.app_context():
        tenant = get_tenant(slugs[0])
        with tenant_scope(db.session, tenant.id):
            numbers = [r[0] for r in db.session.execute(text("SELECT number FROM tickets WHERE tenant_id = :t ORDER BY number"), {"t": tenant.id})]
    log(f"references gapless after concurrent creation: {numbers == list(range(1, len(numbers) + 1))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/crvs_tickets_bench")
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages-per-ticket", type=int, default=5)
    parser.add_argument("--requesters", type=int, default=200, help="requester accounts per tenant")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per measure")
    parser.add_argument("--skip-load", action="store_true", help="reuse the data of an earlier run")
    parser.add_argument("--load-only", action="store_true", help="load the data and stop")
    parser.add_argument("--create", type=int, default=200, help="tickets created per thread for the creation rate")
    args = parser.parse_args()
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    if not args.skip_load:
        started = time.perf_counter()
        prepare_database(url)
        app = make_bench_app(url)
        seed_tenants(app, args.tenants, args.requesters)
        bulk_load(app, args.tickets, args.messages_per_ticket)
        log(f"total load time: {time.perf_counter() - started:.0f} s")
        if args.load_only:
            return
    app = make_bench_app(url)
    measure(app, args.requests, args.tenants, args.create)


if __name__ == "__main__":
    main()
