"""Channels benchmark: email ingest rate and WhatsApp webhook acknowledgement time, in one process.

    python benchmarks/channels_bench.py [--messages 1000] [--webhooks 1000] [--replies 0.2]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/crvs_channels_bench python benchmarks/channels_bench.py

Uses a fresh SQLite database in a temporary folder, or the PostgreSQL database named by DATABASE_URL
(its tables are dropped and created again: give it a database of its own). The demo staff accounts
are loaded, so new tickets are assigned as in a real desk (round robin), with the demo country's
SLA and business hours.

Three figures. Email ingest is the whole path an MTA pipe, the SMTP listener or the IMAP poller takes, one message
at a time: raw message stored, parsed, requester found or created, then a new ticket opened (or,
for the share given by --replies, the message threaded into the ticket it answers by In-Reply-To),
all committed. The figure also gives the statements and commits per message, which the machine's
load does not change.

WhatsApp end to end: webhook + processing after the answer, with the assistant answering from the
demo articles (half the questions) or handing over as a ticket with an acknowledgement (the other
half); outbox rows written, not sent.

The webhook ack figure is the time until the response is ready: signature check + raw store + commit;
processing runs after the response is sent (or by the worker).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EMAIL = """From: Amina Banda <amina{n}@health.farajaland.example>
To: support@farajaland.example
Subject: =?UTF-8?Q?Code_de_v=C3=A9rification_non_re=C3=A7u_{n}?=
Message-ID: <bench-{n}@health.farajaland.example>
{extra}MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Bonjour, je ne re=C3=A7ois pas le code =C3=A0 6 chiffres (message {n}).

Le lun. 30 nov. 2026 =C3=A0 09:12, Support a =C3=A9crit :
> ancien message
--b
Content-Type: text/html; charset=utf-8

<p>Bonjour, je ne re&ccedil;ois pas le code &agrave; 6 chiffres (message {n}).</p>
--b--
"""


def messages(count: int, replies: float) -> list[bytes]:
    """`count` messages from different requesters; a share of them answer an earlier message."""
    every = round(1 / replies) if replies else 0
    raws = []
    for n in range(count):
        answers = every and n % every == every - 1 and n >= every
        extra = f"In-Reply-To: <bench-{n - 1}@health.farajaland.example>\n" if answers else ""
        raws.append(EMAIL.format(n=n, extra=extra).encode())
    return raws


class StatementCounter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.statements = self.commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *args):
        self.statements += 1

    def _commit(self, *args):
        self.commits += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--webhooks", type=int, default=1000)
    parser.add_argument("--replies", type=float, default=0.0, help="share of messages that answer an earlier one (0-1)")
    parser.add_argument("--chats", type=int, default=300, help="WhatsApp messages processed end to end (0: skip)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="channels-bench-"))
    os.environ.setdefault("FARAJALAND_WHATSAPP_APP_SECRET", "bench-secret")
    from portal import create_app
    from portal.channels.mail import ingest_email
    from portal.cli.demo import load_demo_accounts
    from sqlalchemy import func, select

    from portal.channels.models import OutboundMessage
    from portal.core.db import db, tenant_scope
    from portal.tenancy.services import get_tenant, sync_tenants
    from portal.tickets.models import Ticket

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # The assistant reads the demo articles from library/ (the Markdown the knowledge base imports).
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 20, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://", "ATTACHMENTS_DIR": str(tmp / "attachments"),
                      "ASSISTANT_SOURCE": "folder"})
    database = url.split("+")[0].split(":")[0]
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_tenants(REPO / "tenants")
        load_demo_accounts()
        tenant = get_tenant("farajaland")
        raws = messages(args.messages, args.replies)
        for raw in messages(20, 0):  # warm up: imports, compiled statements, first category seeding
            ingest_email(tenant, raw.replace(b"bench-", b"warmup-"))
        counter = StatementCounter(db.engine)
        start, cpu_start = time.perf_counter(), time.process_time()
        statuses: dict[str, int] = {}
        for raw in raws:
            result = ingest_email(tenant, raw)
            statuses[str(result.status)] = statuses.get(str(result.status), 0) + 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        with tenant_scope(db.session, tenant.id):
            tickets = db.session.scalar(select(func.count(Ticket.id))) - 20
    # CPU time is reported too: on a shared, overloaded machine the wall clock measures the neighbours.
    print(f"email ingest ({database}): {args.messages} messages in {elapsed:.2f} s = {args.messages / elapsed:.0f} messages/s wall, "
          f"{args.messages / cpu:.0f} messages/s of CPU time; {counter.statements / args.messages:.1f} statements and "
          f"{counter.commits / args.messages:.2f} commits per message (store + parse + route; {tickets} new tickets, "
          f"{args.messages - tickets} replies threaded; {statuses}; load average {os.getloadavg()[0]:.1f})")

    client = app.test_client()
    secret = os.environ["FARAJALAND_WHATSAPP_APP_SECRET"]

    def webhook(n: int, sender: str, text: str, buffered: bool = False):
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "100200300400500"}, "contacts": [{"profile": {"name": "A"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": f"wamid.bench.{n}", "type": "text", "text": {"body": text}}]}}]}]}).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        # buffered: the test client closes the response, which runs the processing after it.
        return client.post("/farajaland/channels/whatsapp", data=body, content_type="application/json", headers={"X-Hub-Signature-256": signature}, buffered=buffered)

    if args.chats:
        # End to end, one message per requester: the assistant answers half of them from the demo
        # articles (answer in the outbox); it cannot answer the other half, which become tickets
        # carrying the conversation, with an acknowledgement in the outbox.
        questions = ["My verification code never arrives", "how do I register a marriage"]

        def chat_counts() -> tuple[int, int]:
            with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
                return (db.session.scalar(select(func.count(OutboundMessage.id))),
                        db.session.scalar(select(func.count(Ticket.id)).where(Ticket.channel == "whatsapp")))

        from portal.assistant.services import warm_up

        warm_up(app).join()  # as a server does when it starts: the assistant's indexes and their vectors
        for n, question in enumerate(questions):  # and the first messages' own preparations
            assert webhook(10**5 + n, f"26096{n:07d}", question, buffered=True).status_code == 200
        before = chat_counts()
        with app.app_context():
            counter.statements = counter.commits = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        for n in range(args.chats):
            assert webhook(10**6 + n, f"26097{n:07d}", questions[n % 2], buffered=True).status_code == 200
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        outbox, chat_tickets = (after - earlier for after, earlier in zip(chat_counts(), before))
        print(f"whatsapp end to end ({database}): {args.chats} messages in {elapsed:.2f} s = {args.chats / elapsed:.0f} messages/s wall, "
              f"{args.chats / cpu:.0f} messages/s of CPU time; {counter.statements / args.chats:.1f} statements and {counter.commits / args.chats:.2f} commits per message "
              f"(signature + store + assistant + {chat_tickets} tickets handed over; {outbox} replies in the outbox; load average {os.getloadavg()[0]:.1f})")

    timings, cpu_timings = [], []
    from portal.channels import views

    views._process_later = lambda *args: None  # processing runs after the answer: not part of the ack time
    for n in range(args.webhooks):
        start, cpu_start = time.perf_counter(), time.process_time()
        response = webhook(n, "2609700", f"code not received {n}")
        timings.append((time.perf_counter() - start) * 1000)
        cpu_timings.append((time.process_time() - cpu_start) * 1000)
        assert response.status_code == 200, response.status_code
    timings.sort()
    cpu_timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    cpu_p95 = cpu_timings[int(len(cpu_timings) * 0.95) - 1]
    print(f"whatsapp webhook ack ({database}): {args.webhooks} requests, wall p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms; "
          f"CPU p50 {statistics.median(cpu_timings):.1f} ms, p95 {cpu_p95:.1f} ms (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
