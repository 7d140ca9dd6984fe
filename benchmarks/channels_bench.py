"""Channels benchmark: email ingest rate and WhatsApp webhook acknowledgement time, in one process.

    python benchmarks/channels_bench.py [--messages 1000] [--webhooks 1000]

Uses a fresh SQLite database in a temporary folder (or DATABASE_URL when set). Email ingest is the
whole inbound path: store raw + commit, parse, route. When the ticket desk is not installed, routing
is replaced by a no-op so that what is measured is the channel's own work (the script says which).
The webhook figure is the time until the response is ready: signature check + raw store + commit;
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
MIME-Version: 1.0
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--webhooks", type=int, default=1000)
    parser.add_argument("--channel-only", action="store_true", help="replace ticket creation by a no-op: the channel's own cost")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="channels-bench-"))
    os.environ.setdefault("FARAJALAND_WHATSAPP_APP_SECRET", "bench-secret")
    from portal import create_app
    from portal.channels import routing
    from portal.channels.mail import ingest_email
    from portal.core.db import db
    from portal.tenancy.services import get_tenant, sync_tenants

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 20, "TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        db.create_all()
        sync_tenants(REPO / "tenants")
        desk = routing._service("portal.tickets.services") is not None and not args.channel_only
        if not desk:
            routing.route_email = lambda tenant, inbound, parsed: None
        tenant = get_tenant("farajaland")
        raws = [EMAIL.format(n=n).encode() for n in range(args.messages)]
        start, cpu_start = time.perf_counter(), time.process_time()
        statuses = {}
        for raw in raws:
            result = ingest_email(tenant, raw)
            statuses[result.status] = statuses.get(result.status, 0) + 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # CPU time is reported too: on a shared, overloaded machine the wall clock measures the neighbours.
    print(f"email ingest: {args.messages} messages in {elapsed:.2f} s = {args.messages / elapsed:.0f} messages/s wall, "
          f"{args.messages / cpu:.0f} messages/s of CPU time "
          f"(store + parse + {'open a ticket in the desk' if desk else 'no-op routing (--channel-only, or no ticket desk)'}; {statuses}; load average {os.getloadavg()[0]:.1f})")

    client = app.test_client()
    timings, cpu_timings = [], []
    secret = os.environ["FARAJALAND_WHATSAPP_APP_SECRET"]
    for n in range(args.webhooks):
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
            "metadata": {"phone_number_id": "100200300400500"}, "contacts": [{"profile": {"name": "A"}, "wa_id": "2609700"}],
            "messages": [{"from": "2609700", "id": f"wamid.bench.{n}", "type": "text", "text": {"body": f"code not received {n}"}}]}}]}]}).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        start, cpu_start = time.perf_counter(), time.process_time()
        response = client.post("/farajaland/channels/whatsapp", data=body, content_type="application/json", headers={"X-Hub-Signature-256": signature})
        timings.append((time.perf_counter() - start) * 1000)
        cpu_timings.append((time.process_time() - cpu_start) * 1000)
        assert response.status_code == 200, response.status_code
    timings.sort()
    cpu_timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    cpu_p95 = cpu_timings[int(len(cpu_timings) * 0.95) - 1]
    print(f"whatsapp webhook ack: {args.webhooks} requests, wall p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms; "
          f"CPU p50 {statistics.median(cpu_timings):.1f} ms, p95 {cpu_p95:.1f} ms (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
