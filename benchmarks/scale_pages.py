"""Per-page time and SQL count of the CRVS Support Portal at a given data size.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/crvs_scale python benchmarks/scale_pages.py [--tickets 100000]
        [--tenant farajaland] [--repeat 5] [--only NAME,NAME] [--memory] [--explain MS] [--show-statements]
        [--label 100k] [--json out.json]

The database must be migrated with `tenants sync` and `demo load` done (README). `--tickets N` first
bulk-loads the tenant up to N tickets (about 5 messages, 3 events, 3 assistant turns each; 5,000
people and 2,000 articles once; escalations, replies, search logs, inbound mail), then rolls up
insights. Run it with growing N (10000, then 100000) to see how each page grows.

Prints, for each page: median wall time (ms), number of SQL statements, total SQL time, the slowest
statement's time, response size, and (with --memory) the Python peak allocation of one request.
Data size (tickets, messages, ...) is read from the database and printed first, so runs at
different scales can be compared. Runs every request through the whole Flask stack (test client).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import secrets
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

os.environ.setdefault("ASSISTANT_SEMANTIC", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from portal import create_app  # noqa: E402
from portal.core.db import db  # noqa: E402

PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password")

# -- synthetic data ---------------------------------------------------------------------------------
# Bulk-loaded with COPY into the tenant (default farajaland, after `demo load`), in the shapes the
# application writes; ticket search documents are computed by SQL as the app does (lower case, simple).

TOPICS = [
 ("login", "I cannot log in: the verification code by SMS never arrives", "access-and-login"),
 ("password", "Password reset link expired before I could use it", "access-and-login"),
 ("locked", "My account is locked after too many attempts", "access-and-login"),
 ("outbox", "Declarations stuck in the outbox and will not send", "offline-and-sync"),
 ("sync", "Offline records do not sync when the tablet is back online", "offline-and-sync"),
 ("certificate", "Certificate preview is blank when printing", "certificates-and-printing"),
 ("printer", "The printer cuts the bottom of the birth certificate", "certificates-and-printing"),
 ("signature", "Registrar signature missing on printed certificates", "certificates-and-printing"),
 ("correction", "How do I correct the mother's name on a registered birth", "corrections"),
 ("duplicate", "Duplicate record flagged for twins born the same day", "validation-and-registration"),
 ("validate", "Cannot validate declaration, the button is greyed out", "validation-and-registration"),
 ("facility", "Health facility missing from the drop-down list", "declarations"),
 ("village", "Village not found in the address list", "declarations"),
 ("late", "Late registration fee is calculated wrongly", "declarations"),
 ("death", "Death declaration rejected without a reason", "declarations"),
 ("tablet", "Tablet shows network error on every page", "devices-and-connectivity"),
 ("slow", "The application is very slow in the district office", "devices-and-connectivity"),
 ("report", "Monthly performance report shows zero registrations", "reports"),
 ("dashboard", "Dashboard figures differ from the registers", "reports"),
 ("invite", "New staff member never received the invitation email", "access-and-login"),
 ("search", "Search by tracking number gives no result", "other"),
 ("assign", "Record assigned to a colleague who left the office", "validation-and-registration"),
]
WORDS = ("verification code sms never arrives expired login locked password reset username pin outbox failed send "
 "offline sync declaration birth death record search assigned colleague download certificate print preview "
 "blank signature pdf correction registrar duplicate twins health facility village dropdown informant "
 "tracking number late fee payment android phone tablet network connection slow error message screen "
 "district office report dashboard performance user account deactivated invitation temporary email "
 "mother father child hospital clinic midwife ward chief province registration agent supervisor approve "
 "reject sent review update version upgrade battery charger solar internet bundle airtime").split()
OFFICES = ["Ibombo District Office", "Isamba District Office", "Itambo District Office", "Ezhi District Office",
           "Ilanga District Office", "Irundu District Office", "Zobwe District Office", "HQ Office", ""]
NAMES = "Amina Baraka Chipo Daudi Esther Faraji Grace Hamisi Imani Juma Kesi Lulu Mosi Neema Omari Pendo Rehema Salim Tumaini Upendo Wanjiru Zawadi".split()
SURN = "Banda Mwale Phiri Tembo Zulu Mumba Chanda Lungu Mulenga Kabwe Sakala Ngoma Daka Mbewe Musonda".split()

def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))

def subject(rng):
    t = rng.choice(TOPICS)
    extra = rng.choice(["", " in " + rng.choice(OFFICES[:-1]), " since yesterday", " (urgent)", " again", " for record " + str(rng.randint(1000000, 9999999))])
    return t, (t[1] + extra)[:300]

def body(rng, t):
    s = [t[1] + "."]
    for _ in range(rng.randint(1, 4)):
        s.append(sentence(rng, rng.randint(6, 18)).capitalize() + ".")
    return " ".join(s)

def person(rng):
    return rng.choice(NAMES) + " " + rng.choice(SURN)


STATUSES = ["closed"] * 50 + ["resolved"] * 25 + ["open"] * 10 + ["new"] * 5 + ["waiting"] * 5 + ["escalated"] * 5
PRIOS = ["low"] * 15 + ["normal"] * 60 + ["high"] * 20 + ["urgent"] * 5
CHANNELS = ["web"] * 50 + ["email"] * 20 + ["whatsapp"] * 15 + ["telegram"] * 5 + ["assistant"] * 8 + ["api"] * 2


class Loader:
    def __init__(self, dsn: str, tenant: str):
        import psycopg
        self.conn = psycopg.connect(dsn)
        self.cur = self.conn.cursor()
        self.now = dt.datetime.utcnow().replace(microsecond=0)
        row = self.cur.execute("select id from tenants where slug=%s", (tenant,)).fetchone()
        if row is None:
            raise SystemExit(f"no tenant {tenant}: run db upgrade, tenants sync and demo load first")
        self.tid, self.slug = row[0], tenant

    def copy(self, table, cols, rows):
        with self.cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as c:
            for r in rows:
                c.write_row(r)

    def count(self, sql, *params):
        return self.cur.execute(sql, params).fetchone()[0]
    def people(self):
        rng = random.Random(5)
        pw = self.cur.execute("select password_hash from users where email='agent@farajaland.demo'").fetchone()[0]
        roles = ["requester"] * 4700 + ["l1_agent"] * 200 + ["l2_technician"] * 80 + ["tenant_admin"] * 20
        rows = [(f"user{i}@farajaland.scale", person(rng) + f" {i}", pw, "en", True, 0, self.now, self.now) for i in range(len(roles))]
        self.copy("users", ["email", "name", "password_hash", "locale", "is_active_account", "failed_logins", "created_at", "updated_at"], rows)
        self.cur.execute("""insert into memberships (tenant_id, user_id, role, job_title, office, is_active, created_at, updated_at)
            select %s, u.id, r.role, 'Registration agent', '', true, now(), now() from users u
            join unnest(%s::text[]) with ordinality r(role, n) on u.email = 'user' || (r.n - 1) || '@farajaland.scale'""", (self.tid, roles))
        self.cur.execute("update memberships m set office = (%s::text[])[1 + (m.id %% 8)] where tenant_id=%s and office=''", (OFFICES[:-1], self.tid))
        self.cur.execute("""insert into contacts (tenant_id, name, email, user_id, locale, created_at, updated_at)
            select %s, u.name, u.email, u.id, 'en', now(), now() from users u join memberships m on m.user_id=u.id and m.tenant_id=%s
            where m.role='requester' and u.email like '%%farajaland.scale'""", (self.tid, self.tid))
        # contacts known only by phone / whatsapp / email
        rows = []
        for i in range(3000):
            kind = i % 3
            rows.append((self.tid, person(rng), f"c{i}@mail.example" if kind == 0 else None, f"+2609{i:07d}" if kind == 1 else None,
                         f"2609{i:07d}" if kind == 2 else None, "en", self.now, self.now))
        self.copy("contacts", ["tenant_id", "name", "email", "phone", "whatsapp_id", "locale", "created_at", "updated_at"], rows)
        self.conn.commit()

    STATUSES = ["closed"] * 50 + ["resolved"] * 25 + ["open"] * 10 + ["new"] * 5 + ["waiting"] * 5 + ["escalated"] * 5
    PRIOS = ["low"] * 15 + ["normal"] * 60 + ["high"] * 20 + ["urgent"] * 5
    CHANNELS = ["web"] * 50 + ["email"] * 20 + ["whatsapp"] * 15 + ["telegram"] * 5 + ["assistant"] * 8 + ["api"] * 2

    def tickets(self, n):
        rng = random.Random(n + int(time.time()))
        contacts = self.cur.execute("select id, user_id from contacts where tenant_id=%s", (self.tid,)).fetchall()
        req_contacts = [c for c in contacts if c[1] is not None]
        staff = [r[0] for r in self.cur.execute("select user_id from memberships where tenant_id=%s and role in ('l1_agent','l2_technician')", (self.tid,))]
        l1 = [r[0] for r in self.cur.execute("select user_id from memberships where tenant_id=%s and role='l1_agent'", (self.tid,))]
        cats = {r[1]: r[0] for r in self.cur.execute("select id, key from ticket_categories where tenant_id=%s", (self.tid,))}
        start_num = self.cur.execute("select coalesce(max(number),0) from tickets where tenant_id=%s", (self.tid,)).fetchone()[0]
        start_id = self.cur.execute("select coalesce(max(id),0) from tickets").fetchone()[0]
        self.cur.execute("select setval(pg_get_serial_sequence('tickets','id'), %s)", (start_id + n + 10,))
        ref_example = self.cur.execute("select reference from tickets where tenant_id=%s limit 1", (self.tid,)).fetchone()[0]
        prefix = ref_example.rsplit("-", 1)[0]
        tcols = ["id", "tenant_id", "number", "reference", "subject", "status", "priority", "tier", "channel", "category_id", "group_key",
                 "contact_id", "requester_user_id", "assignee_id", "opencrvs_version", "office", "locale", "kb_suggestion_opened",
                 "first_response_due_at", "resolution_due_at", "first_responded_at", "first_response_breached", "resolution_breached",
                 "resolved_at", "closed_at", "last_activity_at", "rating", "rating_comment", "created_at", "updated_at", "waiting_hours"]
        mcols = ["tenant_id", "ticket_id", "author_user_id", "author_contact_id", "body", "is_public", "is_from_staff", "channel", "created_at"]
        ecols = ["tenant_id", "ticket_id", "actor_user_id", "actor_label", "field", "old_value", "new_value", "created_at"]
        trows, mrows, erows, steps, outb, logs = [], [], [], [], [], []
        for k in range(n):
            tid_ = start_id + 1 + k
            num = start_num + 1 + k
            created = self.now - dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            status = rng.choice(STATUSES)
            topic, subj = subject(rng)
            cid, uid = rng.choice(req_contacts if rng.random() < 0.8 else contacts)
            assignee = rng.choice(staff) if status != "new" or rng.random() < 0.3 else None
            tier = "L1" if rng.random() < 0.8 else ("L2" if rng.random() < 0.85 else "L3")
            group = "first-line" if tier == "L1" else "technical"
            responded = created + dt.timedelta(hours=rng.randint(1, 30)) if status != "new" else None
            resolved = created + dt.timedelta(hours=rng.randint(2, 200)) if status in ("resolved", "closed") else None
            closed = resolved + dt.timedelta(days=3) if status == "closed" else None
            last = max(x for x in (created, responded, resolved, closed) if x)
            last = min(last, self.now)
            ch = rng.choice(CHANNELS)
            rating = rng.choice([None, None, 3, 4, 5, 5, 1, 2]) if resolved else None
            trows.append((tid_, self.tid, num, f"{prefix}-{num:06d}" if len(ref_example.rsplit('-',1)[1]) == 6 else f"{prefix}-{num}", subj, status,
                          rng.choice(PRIOS), tier, ch, cats[topic[2]] if topic[2] in cats else None, group, cid, uid, assignee, "1.8.1",
                          rng.choice(OFFICES), "en", rng.random() < 0.1, created + dt.timedelta(hours=8), created + dt.timedelta(hours=40),
                          responded, bool(responded and (responded - created).total_seconds() > 8 * 3600), bool(resolved and (resolved - created).total_seconds() > 40 * 3600),
                          resolved, closed, last, rating, "", created, last, 0.0))
            nmsg = max(1, int(rng.expovariate(1 / 5)))
            nmsg = min(nmsg, 40)
            for m in range(nmsg):
                st = m % 2 == 1
                mrows.append((self.tid, tid_, (assignee or rng.choice(l1)) if st else uid, None if st else cid,
                              body(rng, topic) if m == 0 else sentence(rng, rng.randint(8, 40)).capitalize() + ".",
                              not (st and rng.random() < 0.2), st, ch if not st else "web", created + dt.timedelta(minutes=30 * m)))
            erows.append((self.tid, tid_, None, "System", "created", None, "new", created))
            if assignee:
                erows.append((self.tid, tid_, assignee, "", "assignee", None, str(assignee), created + dt.timedelta(minutes=5)))
            if status != "new":
                erows.append((self.tid, tid_, assignee, "", "status", "new", status, last))
            if tier != "L1":
                steps.append((self.tid, tid_, "L1", "L2", True, sentence(rng, 12), json.dumps({"environment": "production", "steps": sentence(rng, 10)}),
                              rng.choice(["low", "medium", "high", "critical"]), "1.8.1", subj.lower(), created + dt.timedelta(hours=2),
                              created + dt.timedelta(hours=26), None if status not in ("resolved", "closed") and tier == "L2" else last))
                if tier == "L3":
                    steps.append((self.tid, tid_, "L2", "L3", True, sentence(rng, 12), json.dumps({"environment": "production", "steps": sentence(rng, 10)}),
                                  rng.choice(["low", "medium", "high", "critical"]), "1.8.1", subj.lower(), created + dt.timedelta(hours=5),
                                  created + dt.timedelta(hours=53), None if status not in ("resolved", "closed") else last))
            if ch in ("email", "whatsapp", "telegram"):
                outb.append((ch, f"+2609{rng.randint(0, 9999999):07d}" if ch != "email" else f"c{rng.randint(0,3000)}@mail.example",
                             json.dumps({"text": sentence(rng, 20)}), rng.choice(["sent", "delivered", "read", "read", "failed"]), 1, created, "", None, "",
                             f"wamid.{secrets.token_hex(8)}", json.dumps([]), created, tid_, None, self.tid, created, created))
            logs.append((self.tid, "en", " ".join(rng.sample(WORDS, rng.randint(1, 3))), None, rng.randint(0, 20), "web",
                         rng.choice([None, None, "scale-" + topic[0] + f"-{rng.randint(0,1999):05d}"]), None, uid, created))
            if len(trows) >= 20000:
                self.flush(trows, mrows, erows, steps, outb, logs, tcols, mcols, ecols)
                trows, mrows, erows, steps, outb, logs = [], [], [], [], [], []
                print("  ", k + 1, flush=True)
        self.flush(trows, mrows, erows, steps, outb, logs, tcols, mcols, ecols)
        self.cur.execute("update ticket_counters set value=(select max(number) from tickets where tenant_id=%s) where tenant_id=%s and name='reference'", (self.tid, self.tid))
        # search documents, as the app writes them (lowercase, no accents; ascii here)
        t0 = time.time()
        self.cur.execute("""update tickets t set search_document = to_tsvector('simple', lower(t.subject || ' ' || m.txt))
            from (select ticket_id, string_agg(body, ' ') txt from ticket_messages where ticket_id > %s group by ticket_id) m
            where m.ticket_id = t.id and t.id > %s""", (start_id, start_id))
        print("search docs", time.time() - t0)
        self.conn.commit()

    def flush(self, trows, mrows, erows, steps, outb, logs, tcols, mcols, ecols):
        self.copy("tickets", tcols, trows)
        self.copy("ticket_messages", mcols, mrows)
        self.copy("ticket_events", ecols, erows)
        self.copy("tier_steps", ["tenant_id", "ticket_id", "from_tier", "to_tier", "is_escalation", "reason", "details", "severity", "opencrvs_version",
                            "search_text", "created_at", "due_at", "ended_at"], steps)
        self.copy("outbound_messages", ["channel", "recipient", "payload", "status", "attempts", "next_attempt_at", "claimed_by", "claimed_at", "last_error",
                                   "provider_id", "deliveries", "sent_at", "ticket_id", "ticket_message_id", "tenant_id", "created_at", "updated_at"], outb)
        self.copy("kb_search_logs", ["tenant_id", "locale", "query", "category", "result_count", "channel", "opened_slug", "opened_at", "user_id", "created_at"], logs)
        self.conn.commit()

    def assistant(self, nturns):
        rng = random.Random(nturns)
        users = [r[0] for r in self.cur.execute("select user_id from memberships where tenant_id=%s and role='requester'", (self.tid,))]
        slugs = [r[0] for r in self.cur.execute("select slug from kb_articles where tenant_id=%s", (self.tid,))] or ["x"]
        convs, turns = [], []
        start = self.cur.execute("select coalesce(max(id),0) from assistant_conversations").fetchone()[0]
        self.cur.execute("select setval(pg_get_serial_sequence('assistant_conversations','id'), %s)", (start + nturns + 10,))
        cid = start; k = 0
        while k < nturns:
            cid += 1
            created = self.now - dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            ch = rng.choice(["web"] * 6 + ["whatsapp", "whatsapp", "telegram"])
            outcome = rng.choice(["no_feedback"] * 5 + ["solved"] * 3 + ["handed_over"])
            convs.append((cid, secrets.token_urlsafe(16), ch, "en", rng.choice(users), None, outcome, None, self.tid, created, created))
            for j in range(min(nturns - k, rng.randint(1, 6))):
                k += 1
                t = rng.choice(TOPICS)
                slug = rng.choice(slugs) if rng.random() < 0.7 else None
                conf = rng.random()
                turns.append((cid, created + dt.timedelta(minutes=j), ch, "en", t[1].lower() + "?", sentence(rng, 30) if slug else None, slug,
                              t[1] if slug else None, json.dumps([{"slug": slug, "title": t[1]}] if slug else []), conf, slug is None, False, None,
                              outcome, self.tid, rng.random() < 0.03))
        self.copy("assistant_conversations", ["id", "key", "channel", "locale", "user_id", "contact_id", "outcome", "ticket_id", "tenant_id", "created_at", "updated_at"], convs)
        self.copy("assistant_turns", ["conversation_id", "created_at", "channel", "locale", "question", "answer", "article_slug", "article_title", "articles",
                                 "confidence", "handoff", "fallback", "note", "outcome", "tenant_id", "asked_for_person"], turns)
        self.conn.commit()

    def inbound(self, n):
        rng = random.Random(3)
        rows = []
        for i in range(n):
            st = rng.choice(["processed"] * 8 + ["quarantined", "ignored"])
            rows.append(("email", "message", f"<scale-{time.time_ns()}-{i}@mail.example>", b"From: x\r\nSubject: test\r\n\r\n" + sentence(rng, 50).encode() * 3,
                         st, "could not parse" if st == "quarantined" else "", f"c{i}@mail.example", sentence(rng, 6), 1, self.now, None, None, self.tid,
                         self.now - dt.timedelta(minutes=i), self.now))
        self.copy("inbound_messages", ["channel", "kind", "provider_id", "raw", "status", "error", "sender", "summary", "attempts", "processed_at",
                                  "ticket_id", "ticket_message_id", "tenant_id", "created_at", "updated_at"], rows)
        self.conn.commit()

    def big_ticket(self, nmsg):
        """a ticket with nmsg messages (staff + requester, some internal), for the detail page"""
        rng = random.Random(9)
        t = self.cur.execute("select id, contact_id, requester_user_id, assignee_id, created_at from tickets where tenant_id=%s and status='open' and assignee_id is not null order by id limit 1", (self.tid,)).fetchone()
        self.cur.execute("delete from ticket_messages where ticket_id=%s", (t[0],))
        rows = []
        for m in range(nmsg):
            st = m % 2 == 1
            rows.append((self.tid, t[0], t[3] if st else t[2], None if st else t[1], sentence(rng, rng.randint(10, 80)), not (st and m % 6 == 1), st, "web", t[4] + dt.timedelta(minutes=m)))
        self.copy("ticket_messages", ["tenant_id", "ticket_id", "author_user_id", "author_contact_id", "body", "is_public", "is_from_staff", "channel", "created_at"], rows)
        ev = [(self.tid, t[0], t[3], "", "priority", "normal", "high", t[4] + dt.timedelta(minutes=m)) for m in range(60)]
        self.copy("ticket_events", ["tenant_id", "ticket_id", "actor_user_id", "actor_label", "field", "old_value", "new_value", "created_at"], ev)
        self.conn.commit()
        print(self.cur.execute("select reference from tickets where id=%s", (t[0],)).fetchone()[0])


    def kb(self, app, n: int):
        """n articles (half also in French) through the application's importer, which indexes them."""
        import tempfile
        from pathlib import Path
        rng = random.Random(1)
        cats = ("getting-started access-and-login declarations validation-and-registration certificates-and-printing corrections "
                "offline-and-sync devices-and-connectivity reports other").split()
        out = Path(tempfile.mkdtemp(prefix="scale-kb-"))
        (out / "en").mkdir(); (out / "fr").mkdir()
        for i in range(n):
            t = rng.choice(TOPICS)
            slug = f"scale-{t[0]}-{i:05d}"
            paras = []
            for _h in range(rng.randint(2, 5)):
                paras += ["## " + sentence(rng, 3).capitalize(),
                          " ".join(sentence(rng, rng.randint(8, 20)).capitalize() + "." for _ in range(rng.randint(2, 5))),
                          "\n".join("- " + sentence(rng, rng.randint(4, 9)) for _ in range(rng.randint(0, 4)))]
            tags = "".join(f"- {x}\n" for x in sorted(set(rng.sample(WORDS, 4))))
            cat, audience = rng.choice(cats), "public" if i % 5 else "staff"
            for loc, title in (("en", f"{t[1]} ({t[0]} guide {i})"), ("fr", f"Guide {i} : {t[0]}")):
                if loc == "fr" and i % 2:
                    continue
                title = title.replace("'", "''")
                (out / loc / f"{slug}.md").write_text(f"---\nslug: {slug}\ntitle: '{title}'\nlocale: {loc}\ncategory: {cat}\ntags:\n{tags}"
                                                      f"audience: {audience}\nstatus: published\n---\n\n" + "\n\n".join(paras) + "\n")
        from portal.cli.kb import import_path
        from portal.tenancy.services import get_tenant
        with app.app_context():
            report = import_path(out, get_tenant(self.slug))
        print(f"  KB: {len(report.created)} created, {len(report.problems)} problems", flush=True)


def load_to(app, dsn: str, tenant: str, target_tickets: int) -> None:
    """Top the tenant up to `target_tickets` tickets, with proportional messages, events, escalations,
    replies, search logs, assistant turns (3 per ticket) and inbound mail (10 %); 5,000 people and 2,000
    articles once. Then the weekly insights rollup, as `jobs run` would have done."""
    ld = Loader(dsn, tenant)
    started = time.perf_counter()
    if ld.count("select count(*) from users where email like %s", f"%@{tenant}.scale") == 0:
        ld.people()
        print("  5,000 people loaded", flush=True)
    if ld.count("select count(*) from kb_articles where tenant_id=%s and slug like 'scale-%%'", ld.tid) == 0:
        ld.kb(app, 2000)
    have = ld.count("select count(*) from tickets where tenant_id=%s", ld.tid)
    add = max(0, target_tickets - have)
    for start in range(0, add, 50_000):
        ld.tickets(min(50_000, add - start))
        print(f"  tickets: {have + min(add, start + 50_000):,}", flush=True)
    turns = ld.count("select count(*) from assistant_turns where tenant_id=%s", ld.tid)
    if turns < 3 * target_tickets:
        ld.assistant(3 * target_tickets - turns)
    inbound = ld.count("select count(*) from inbound_messages where tenant_id=%s", ld.tid)
    if inbound < target_tickets // 10:
        ld.inbound(target_tickets // 10 - inbound)
    if ld.count("select count(*) from ticket_messages m join tickets t on t.id=m.ticket_id where t.tenant_id=%s group by m.ticket_id order by 1 desc limit 1", ld.tid) < 200:
        ld.big_ticket(200)
    # the demo requester owns the longest conversation (its messages are theirs), for the requester's view of it
    big = ld.count("select m.ticket_id from ticket_messages m join tickets t on t.id=m.ticket_id where t.tenant_id=%s "
                   "group by m.ticket_id order by count(*) desc limit 1", ld.tid)
    agent = ld.count("select id from users where email=%s", f"agent@{tenant}.demo")
    ld.cur.execute("update tickets set requester_user_id=%s where id=%s", (agent, big))
    ld.cur.execute("update ticket_messages set author_user_id=%s where ticket_id=%s and not is_from_staff", (agent, big))
    # a heavy requester: the demo requester asks 1 % of the tickets
    if add:
        ld.cur.execute("update tickets set requester_user_id=(select id from users where email=%s) where id in "
                       "(select id from tickets where tenant_id=%s order by random() limit %s)", (f"agent@{tenant}.demo", ld.tid, add // 100))
    if ld.count("select count(*) from problems") < 60:
        ld.cur.execute("""insert into problems (title, description, status, severity, external_url, github_url, github_state, github_state_reason, created_at, updated_at)
            select 'Problem '||g||': certificate preview blank on '||(array['Android','Chrome','Firefox','Tablet'])[1+g%4], 'desc',
                   (array['open','awaiting_release','fix_released','closed'])[1+g%4], (array['low','medium','high','critical'])[1+g%4], '', '', '', '',
                   now()-g*interval '3 day', now() from generate_series(1,60) g""")
    ld.cur.execute("""insert into problem_tickets (problem_id, ticket_id, resolved_version, created_at, tenant_id)
        select (select min(id) from problems) + (row_number() over ()) % 60, s.ticket_id, '', now(), s.tenant_id
        from (select distinct ticket_id, tenant_id from tier_steps where to_tier='L3' and ticket_id not in (select ticket_id from problem_tickets)) s""")
    if not ld.count("select count(*) from kb_feedback where tenant_id=%s and comment like 'comment %%'", ld.tid):
        ld.cur.execute("insert into kb_feedback (slug, locale, is_helpful, comment, created_at, tenant_id) "
                   "select (select slug from kb_articles where tenant_id=%s and slug like 'scale-%%' order by id limit 1), 'en', random()<0.6, "
                       "'comment '||g, now() - g*interval '1 hour', %s from generate_series(1, 300) g", (ld.tid, ld.tid))
    ld.conn.commit()
    ld.conn.autocommit = True
    ld.cur.execute("vacuum analyze")
    from portal.cli.insights import roll_up_every_tenant
    with app.app_context():
        for line in roll_up_every_tenant(tenant, full=True):
            print("  " + line, flush=True)
    print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)


class SQLCounter:
    def __init__(self):
        self.active = False
        self.reset()

    def reset(self):
        self.count, self.total, self.slowest, self.statements = 0, 0.0, (0.0, "", None), Counter()

    def before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("t0", []).append(time.perf_counter())

    def after(self, conn, cursor, statement, parameters, context, executemany):
        elapsed = time.perf_counter() - conn.info["t0"].pop()
        if not self.active:
            return
        self.count += 1
        self.total += elapsed
        self.statements[re.sub(r"\s+", " ", statement)[:160]] += 1
        if elapsed > self.slowest[0]:
            self.slowest = (elapsed, statement, parameters)


def pages(ctx: dict) -> list[tuple[str, str, str, dict]]:
    """(name, client, method+path, options). ctx has the tenant slug, the big ticket, a KB slug, ..."""
    t, big, slug, month = ctx["tenant"], ctx["big_ticket"], ctx["kb_slug"], ctx["month"]
    year_start = ctx["year_start"]
    P = []
    add = lambda name, who, path, **kw: P.append((name, who, path, kw))  # noqa: E731
    # ticket desk (L1 agent)
    add("queue default (active)", "l1", f"/{t}/tickets/queue")
    for view in ("all", "unassigned", "mine", "group", "breaching", "waiting"):
        add(f"queue view={view}", "l1", f"/{t}/tickets/queue?view={view}")
    add("queue status=open&priority=high", "l1", f"/{t}/tickets/queue?status=open&priority=high")
    add("queue category=declarations", "l1", f"/{t}/tickets/queue?category=declarations")
    add("queue status=closed", "l1", f"/{t}/tickets/queue?status=closed")
    add("queue search 'certificate'", "l1", f"/{t}/tickets/queue?view=all&q=certificate")
    add("queue search 'printer blank'", "l1", f"/{t}/tickets/queue?view=all&q=printer+blank")
    add("queue search 'sync' active", "l1", f"/{t}/tickets/queue?q=sync")
    add("queue view=all page=50", "l1", f"/{t}/tickets/queue?view=all&page=50")
    add("queue status=closed page=400", "l1", f"/{t}/tickets/queue?status=closed&page=400")
    add("ticket 200 msgs (staff)", "l1", f"/{t}/tickets/{big}")
    add("ticket 200 msgs escalation tab", "l2", f"/{t}/tickets/{big}/escalation")
    add("ticket typical (staff)", "l1", f"/{t}/tickets/{ctx['typical_ticket']}")
    add("tickets/new form", "agent", f"/{t}/tickets/new")
    add("my requests (heavy requester)", "agent", f"/{t}/tickets/mine")
    add("ticket 200 msgs (requester)", "agent", f"/{t}/tickets/{ctx['agent_ticket']}")
    add("tiers admin", "admin", f"/{t}/tickets/tiers")
    add("canned responses", "l1", f"/{t}/tickets/canned")
    # API
    add("API tickets list", "api", f"/{t}/api/v1/tickets")
    add("API tickets page=50", "api", f"/{t}/api/v1/tickets?page=50")
    add("API tickets status=closed", "api", f"/{t}/api/v1/tickets?status=closed")
    add("API tickets q=certificate", "api", f"/{t}/api/v1/tickets?q=certificate")
    add("API ticket 200 msgs", "api", f"/{t}/api/v1/tickets/{big}")
    add("API me", "api", "/api/v1/me")
    # KB
    add("home", "agent", f"/{t}/")
    add("KB home", "agent", f"/{t}/kb/")
    add("KB home (anonymous)", "anon", f"/{t}/kb/")
    add("KB category declarations", "agent", f"/{t}/kb/?category=declarations")
    add("KB article", "agent", f"/{t}/kb/articles/{slug}")
    add("KB search 'certificate blank'", "agent", f"/{t}/kb/search?q=certificate+blank")
    add("KB search 'sms code'", "agent", f"/{t}/kb/search?q=sms+code")
    add("KB API search", "anon", f"/{t}/api/v1/kb/search?q=printer+certificate")
    add("KB API article", "anon", f"/{t}/api/v1/kb/articles/{slug}")
    add("KB manage (admin)", "admin", f"/{t}/kb/manage")
    add("KB translations (admin)", "admin", f"/{t}/kb/manage/translations")
    add("KB materials (admin)", "admin", f"/{t}/kb/manage/materials")
    add("KB handbook (HTML)", "agent", f"/{t}/kb/handbook")
    add("KB article feedback (admin)", "admin", f"/{t}/kb/manage/{slug}/feedback")
    add("KB article history (admin)", "admin", f"/{t}/kb/manage/{slug}/en/history")
    # assistant
    add("assistant page", "agent", f"/{t}/assistant")
    add("assistant API question", "anon", f"POST /{t}/api/v1/assistant", json={"message": "The certificate preview is blank when I print", "lang": "en"})
    add("assistant API 2nd lang", "anon", f"POST /{t}/api/v1/assistant", json={"message": "code sms pas reçu", "lang": "fr"})
    # insights
    add("insights default (12 wk)", "admin", f"/{t}/insights/")
    add("insights last year", "admin", f"/{t}/insights/?start={year_start}&end={ctx['today']}")
    add("insights 2 years (max)", "admin", f"/{t}/insights/?start={ctx['two_years']}&end={ctx['today']}")
    add("insights mid-week period", "admin", f"/{t}/insights/?start={ctx['odd_start']}&end={ctx['today']}")
    add("insights report month", "admin", f"/{t}/insights/report?month={month}")
    for table in ctx["insight_tables"]:
        add(f"insights CSV {table} (year)", "admin", f"/{t}/insights/export/{table}.csv?start={year_start}&end={ctx['today']}")
    add("expert insights default", "expert", "/expert/insights")
    add("expert insights year", "expert", f"/expert/insights?start={year_start}&end={ctx['today']}")
    # expert console
    add("expert console", "expert", "/expert/")
    for st in ("returned", "resolved", "all"):
        add(f"expert console status={st}", "expert", f"/expert/?status={st}")
    add("expert console all page=20", "expert", "/expert/?status=all&page=20")
    add("expert console q=certificate", "expert", "/expert/?status=all&q=certificate")
    add("expert console sort=recent", "expert", "/expert/?status=all&sort=recent")
    add("expert escalation detail", "expert", f"/expert/escalations/{ctx['step_id']}")
    add("expert problems", "expert", "/expert/problems")
    add("expert problem detail", "expert", f"/expert/problems/{ctx['problem_id']}")
    add("expert releases", "expert", "/expert/releases")
    add("expert upgrades", "expert", "/expert/upgrades")
    add("expert delivery (platform admin)", "platform", "/expert/delivery")
    add("API escalations", "expert_api", "/api/v1/escalations")
    # admin
    add("members (admin)", "admin", f"/{t}/members")
    add("channels inbox quarantined", "admin", f"/{t}/channels/inbox")
    add("channels inbox processed", "admin", f"/{t}/channels/inbox?status=processed")
    add("deployment", "admin", f"/{t}/deployment")
    add("profile", "l1", f"/{t}/profile")
    return P


def context(app, tenant: str) -> dict:
    import datetime as dt
    with app.app_context():
        q = lambda sql, **kw: db.session.execute(text(sql), kw).scalar()  # noqa: E731
        tid = q("select id from tenants where slug=:s", s=tenant)
        big = q("select t.reference from tickets t join ticket_messages m on m.ticket_id=t.id where t.tenant_id=:t "
                "group by t.id order by count(*) desc limit 1", t=tid)
        agent = q("select id from users where email=:e", e=f"agent@{tenant}.demo")
        agent_ticket = q("select t.reference from tickets t join ticket_messages m on m.ticket_id=t.id where t.requester_user_id=:u "
                         "group by t.id order by count(*) desc limit 1", u=agent)
        typical = q("select reference from tickets where tenant_id=:t and status='open' order by id desc limit 1", t=tid)
        slug = q("select a.slug from kb_articles a join kb_feedback f on f.slug=a.slug and f.tenant_id=a.tenant_id where a.tenant_id=:t "
                 "group by a.slug order by count(*) desc limit 1", t=tid) or q("select slug from kb_articles where tenant_id=:t order by id limit 1", t=tid)
        step = q("select id from tier_steps where to_tier='L3' order by (ended_at is null) desc, id desc limit 1")
        problem = q("select problem_id from problem_tickets group by problem_id order by count(*) desc limit 1") or q("select id from problems limit 1")
        sizes = {name: q(f"select count(*) from {name}") for name in (
            "tickets", "ticket_messages", "ticket_events", "users", "memberships", "contacts", "kb_articles", "assistant_turns",
            "assistant_conversations", "tier_steps", "problem_tickets", "outbound_messages", "inbound_messages", "kb_search_logs")}
    today = dt.date.today()
    month = (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return dict(tenant=tenant, big_ticket=big, agent_ticket=agent_ticket or big, typical_ticket=typical, kb_slug=slug, step_id=step,
                problem_id=problem, month=month, today=today.isoformat(), year_start=(today - dt.timedelta(days=364)).isoformat(),
                two_years=(today - dt.timedelta(days=731)).isoformat(), odd_start=(today - dt.timedelta(days=100)).isoformat(),
                sizes=sizes, insight_tables=[])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenant", default="farajaland")
    ap.add_argument("--tickets", type=int, default=0, help="first bulk-load the tenant up to this many tickets (and proportional data)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated substrings of page names")
    ap.add_argument("--memory", action="store_true", help="also one request under tracemalloc: Python peak MB")
    ap.add_argument("--label", default="")
    ap.add_argument("--json", default="", help="write the results to this file")
    ap.add_argument("--explain", type=float, default=0, help="EXPLAIN ANALYZE each page's slowest SELECT taking at least this many ms")
    ap.add_argument("--show-statements", action="store_true", help="the repeated statements of each page")
    args = ap.parse_args()
    app = create_app({
        "PORTAL_ENV": "testing", "TESTING": False, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://", "MAIL_SUPPRESS_SEND": True,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "scale-bench-secret-key-0123456789"),
        "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],
    })
    if args.tickets:
        url = make_url(os.environ["DATABASE_URL"])
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        load_to(app, dsn, args.tenant, args.tickets)
    counter = SQLCounter()
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", counter.before)
        event.listen(db.engine, "after_cursor_execute", counter.after)
    t = args.tenant
    ctx = context(app, t)
    print(f"# data {args.label}: " + ", ".join(f"{k}={v:,}" for k, v in ctx["sizes"].items()), flush=True)
    clients = {}
    for who, email in (("l1", f"l1@{t}.demo"), ("l2", f"l2@{t}.demo"), ("admin", f"admin@{t}.demo"), ("agent", f"agent@{t}.demo"),
                       ("expert", "expert@crvs.demo"), ("platform", "platform@crvs.demo")):
        c = app.test_client()
        login = f"/{t}/login" if who not in ("expert", "platform") else "/login"
        r = c.post(login, data={"email": email, "password": PASSWORD})
        assert r.status_code in (302, 303), (who, r.status_code)
        clients[who] = c
    clients["anon"] = app.test_client()
    from portal.auth import services as auth_services
    with app.app_context():
        token = auth_services.issue_api_token(auth_services.get_user_by_email(f"l1@{t}.demo"), "scale")
        expert_token = auth_services.issue_api_token(auth_services.get_user_by_email("expert@crvs.demo"), "scale")
        db.session.commit()
    # the CSV tables the dashboard offers
    with app.app_context():
        html = clients["admin"].get(f"/{t}/insights/").get_data(as_text=True)
    ctx["insight_tables"] = sorted(set(re.findall(r"/insights/export/([\w-]+)\.csv", html)))
    headers = {"api": {"Authorization": f"Bearer {token}"}, "expert_api": {"Authorization": f"Bearer {expert_token}"}}
    results = []
    print(f"{'page':<40} {'status':>6} {'median ms':>9} {'queries':>7} {'sql ms':>7} {'slowest':>8} {'KB':>6}" + ("  peak MB" if args.memory else ""))
    for name, who, path, kw in pages(ctx):
        if args.only and not any(o and o in name for o in args.only.split(",")):
            continue
        method, _, url = path.partition(" ") if path.startswith("POST ") else ("GET", "", path)
        client = clients["anon" if who in ("api", "expert_api") else who]

        def call():
            if method == "POST":
                return client.post(url, json=kw.get("json"), headers=headers.get(who, {}))
            return client.get(url, headers=headers.get(who, {}))

        call()  # warm up (caches, lazy imports)
        times, counts = [], []
        for _ in range(args.repeat):
            counter.reset()
            counter.active = True
            started = time.perf_counter()
            resp = call()
            elapsed = (time.perf_counter() - started) * 1000
            counter.active = False
            times.append(elapsed)
            counts.append(counter.count)
        peak = None
        if args.memory:
            tracemalloc.start()
            call()
            peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        slowest_ms = counter.slowest[0] * 1000
        row = dict(page=name, path=url, status=resp.status_code, ms=statistics.median(times), queries=counts[-1],
                   sql_ms=counter.total * 1000, slowest_ms=slowest_ms, slowest=counter.slowest[1][:2000], slowest_params=repr(counter.slowest[2])[:500],
                   kb=len(resp.data) / 1024, peak_mb=peak, repeated=[(s, n) for s, n in counter.statements.most_common(3) if n > 3])
        results.append(row)
        print(f"{name[:40]:<40} {resp.status_code:>6} {row['ms']:>9.1f} {row['queries']:>7} {row['sql_ms']:>7.1f} {slowest_ms:>8.1f} {row['kb']:>6.0f}"
              + (f"  {peak:7.1f}" if peak is not None else ""), flush=True)
        if args.explain and slowest_ms >= args.explain and counter.slowest[1].lstrip().upper().startswith(("SELECT", "WITH")):
            with app.app_context():
                raw = db.engine.raw_connection()
                try:
                    cur = raw.cursor()
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + counter.slowest[1], counter.slowest[2])
                    plan = [r[0] for r in cur.fetchall()]
                    raw.rollback()
                finally:
                    raw.close()
            print("      SQL: " + " ".join(counter.slowest[1].split())[:700])
            for line in plan[:30]:
                print("      | " + line)
        if args.show_statements and row["repeated"]:
            for s, n in row["repeated"]:
                print(f"      x{n}: {s}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(label=args.label, sizes=ctx["sizes"], results=results), f, indent=1, default=str)


if __name__ == "__main__":
    main()
