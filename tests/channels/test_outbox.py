"""The outbox: sent by workers, retried with backoff, never twice, failures kept visible."""
import datetime as dt
import email
import threading
from email import policy

from sqlalchemy import select

from portal.channels import services
from portal.channels.models import OutboundMessage
from portal.core.db import SYSTEM, across_tenants, db, tenant_scope, utcnow
from portal.tenancy.services import get_tenant


def db_is_postgresql(app):
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def queue(app, channel, recipient, text, **context):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            row = services.enqueue_text(tenant, channel, recipient, text, **context)
            db.session.commit()
            return row.id


def outbound(app, outbound_id):
    with app.app_context(), across_tenants(db.session, SYSTEM):
        row = db.session.get(OutboundMessage, outbound_id)
        db.session.expunge(row)
        return row


def test_an_email_reply_threads_in_the_requesters_mail_client(app, runner, smtp_sink):
    outbound_id = queue(
        app, "email", "amina.banda@health.farajaland.example", "Please wait 10 minutes, then ask for a new code.",
        subject="Verification code not received", reference="FAR-000042",
        references=["reply-2@health.farajaland.example", "first-1@health.farajaland.example"], locale="en",
    )
    result = runner.invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0 and "sent=1" in result.output
    [envelope] = smtp_sink.messages
    assert envelope.rcpt_tos == ["amina.banda@health.farajaland.example"]
    msg = email.message_from_bytes(envelope.content, policy=policy.default)
    row = outbound(app, outbound_id)
    assert msg["Message-ID"] == f"<{row.provider_id}>"
    assert msg["In-Reply-To"] == "<reply-2@health.farajaland.example>"
    assert " ".join(msg["References"].split()) == "<first-1@health.farajaland.example> <reply-2@health.farajaland.example>"
    assert msg["Subject"] == "Re: Verification code not received [FAR-000042]"
    assert msg["From"] == "Farajaland <support@farajaland.example>"
    assert msg.get_body(("plain",)).get_content().startswith("Please wait 10 minutes")
    assert "<p>Please wait 10 minutes" in msg.get_body(("html",)).get_content()
    assert "FAR-000042" in msg.get_body(("plain",)).get_content()
    assert (row.status, row.attempts, [d["status"] for d in row.deliveries]) == ("sent", 1, ["sent"])


def test_a_failed_send_is_retried_later_with_growing_delays_then_marked_failed(app, runner, smtp_sink):
    smtp_sink.refuse = True
    outbound_id = queue(app, "email", "jose@farajaland.example", "Answer")
    before = utcnow()
    runner.invoke(args=["outbox", "work", "--once"])
    row = outbound(app, outbound_id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in row.last_error
    assert dt.timedelta(seconds=29) < row.next_attempt_at - before < dt.timedelta(seconds=35)
    assert "sent" not in runner.invoke(args=["outbox", "work", "--once"]).output  # not due yet
    assert [services.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert services.backoff(30) == services.BACKOFF_CAP
    with app.app_context(), across_tenants(db.session, SYSTEM):
        row = db.session.get(OutboundMessage, outbound_id)
        row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
        row.attempts = services.MAX_ATTEMPTS - 1
        db.session.commit()
    runner.invoke(args=["outbox", "work", "--once"])
    row = outbound(app, outbound_id)
    assert (row.status, row.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert row.deliveries[-1]["status"] == "failed"
    smtp_sink.refuse = False
    runner.invoke(args=["outbox", "work", "--once"])
    assert smtp_sink.messages == []


def test_several_workers_never_send_the_same_message_twice(app, fake_api):
    ids = [queue(app, "telegram", str(1000 + n), f"answer {n}") for n in range(40)]
    errors = []
    start = threading.Barrier(4)

    def worker(name):
        try:
            with app.app_context():
                start.wait(5)
                while services.work_once(limit=3, worker=name).get("sent"):
                    pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    sent_to = sorted(r["json"]["chat_id"] for r in fake_api.requests if r["method"] == "POST")
    assert sent_to == sorted(str(1000 + n) for n in range(40))
    assert {outbound(app, i).status for i in ids} == {"sent"}
    with app.app_context(), across_tenants(db.session, SYSTEM):
        workers = {r.claimed_by.split(":")[0] for r in db.session.scalars(select(OutboundMessage))}
    if db_is_postgresql(app):
        assert len(workers) > 1  # the work really was shared (SQLite serialises writers)


def test_a_claim_left_by_a_dead_worker_is_taken_again_after_the_lease(app, fake_api):
    outbound_id = queue(app, "telegram", "77", "hello")
    with app.app_context():
        assert services.claim_due(worker="dead") == [outbound_id]
        assert services.claim_due(worker="alive") == []
        later = utcnow() + services.CLAIM_LEASE + dt.timedelta(seconds=1)
        assert services.claim_due(worker="alive", now=later) == [outbound_id]


def test_a_country_without_its_own_smtp_server_replies_through_the_system_mail(app, runner):
    from portal.core.mail import sent_mail

    with app.app_context():
        tenant = get_tenant("kalondo")
        with tenant_scope(db.session, tenant.id):
            services.enqueue_text(tenant, "email", "greffier@kalondo.example", "Votre compte est réactivé.", subject="Compte désactivé", reference="KAL-000001", locale="fr")
            db.session.commit()
    assert "sent=1" in runner.invoke(args=["outbox", "work", "--once"]).output
    with app.app_context():
        [msg] = sent_mail()
    assert msg["To"] == "greffier@kalondo.example"
    assert msg["From"].endswith("<assistance@etatcivil.kalondo.example>")
    assert "KAL-000001" in msg["Subject"]
