"""How fast the central console answers with many escalations across countries.

Seeds N escalations to L3 spread over the demo tenants (directly as rows, not through the workflow,
to keep seeding quick), then times the console page query, the counts, and the duplicate
suggestions for one escalation. Prints figures; it is not a test.

    python benchmarks/escalation_console.py [N]          # SQLite in a temporary folder
    DATABASE_URL=postgresql://... python benchmarks/escalation_console.py 5000
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WORDS = ("outbox declaration offline sync certificate preview blank printer signature login code sms email "
         "timeout retry duplicate record search registrar district office upload photo form field crash android").split()


def main(count: int) -> None:
    from portal import create_app
    from portal.auth.services import create_user
    from portal.auth.permissions import GlobalRole
    from portal.core.db import db, tenant_scope, utcnow
    from portal.escalation import central
    from portal.escalation.models import TierStep
    from portal.tenancy.services import list_tenants, sync_tenants
    from portal.tickets.models import Contact, Ticket

    folder = tempfile.mkdtemp(prefix="esc-bench-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1), "SECRET_KEY": "bench", "TESTING": True, "RATELIMIT_STORAGE_URI": "memory://"})
    rng = random.Random(7)
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_tenants(REPO / "tenants")
        expert = create_user("bench-expert@example.org", "bench-password", global_role=GlobalRole.L3_EXPERT)
        db.session.commit()
        tenants = list_tenants()
        started = time.perf_counter()
        for t_index, tenant in enumerate(tenants):
            with tenant_scope(db.session, tenant.id):
                contact = Contact(tenant_id=tenant.id, name="Bench", email="bench@example.org")
                db.session.add(contact)
                db.session.flush()
                share = count // len(tenants)
                for n in range(1, share + 1):
                    text = " ".join(rng.choice(WORDS) for _ in range(12))
                    now = utcnow()
                    ticket = Ticket(tenant_id=tenant.id, number=n, reference=f"B{t_index}-{n:06d}", subject=text[:60], status="escalated", tier="L3", contact_id=contact.id, created_at=now, last_activity_at=now)
                    db.session.add(ticket)
                    db.session.flush()
                    db.session.add(TierStep(tenant_id=tenant.id, ticket_id=ticket.id, from_tier="L2", to_tier="L3", reason=text, details={}, severity=rng.choice(["critical", "high", "medium", "low"]), opencrvs_version=tenant.opencrvs_version, search_text=text, created_at=now, due_at=now))
                db.session.commit()
        print(f"seeded {count} escalations in {len(tenants)} tenants: {time.perf_counter() - started:.1f} s")

        def timed(label, fn, repeat=5):
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = fn()
                best = min(best, time.perf_counter() - t0)
            print(f"{label}: {best * 1000:.1f} ms (best of {repeat})")
            return result

        rows, _total = timed("console, first page of 50", lambda: central.list_escalations(expert, central.EscalationFilters()))
        timed("console, search 'outbox'", lambda: central.list_escalations(expert, central.EscalationFilters(q="outbox")))
        timed("console counts per status", lambda: central.console_counts(expert))
        timed("duplicate suggestions for one escalation", lambda: central.suggest_duplicates(expert, rows[0]), repeat=3)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
