"""Platform administrators see whether mail and replies go out, for every country, on one page."""
import datetime as dt

from sqlalchemy import update

from portal.channels import services
from portal.channels.models import InboundMessage, OutboundMessage
from portal.core.db import db, tenant_scope, utcnow
from portal.core.mail import QueuedMail
from portal.tenancy.services import get_tenant

PAGE = "/expert/delivery"


def _platform_admin(auth, make_user):
    auth.login(make_user(tenant=None, role=None, global_role="platform_admin"), tenant=None)


def _failures(app):
    """A reset mail the mail server refused, a WhatsApp reply Meta refused in Kalondo, a message
    quarantined in Farajaland."""
    with app.app_context():
        db.session.add(QueuedMail(recipient="amina@example.org", message="Subject: Reset your password"))
        db.session.commit()
        kalondo, farajaland = get_tenant("kalondo"), get_tenant("farajaland")
        with tenant_scope(db.session, kalondo.id):
            services.enqueue_text(kalondo, "whatsapp", "237699001122", "Votre référence est KAL-000001.")
            db.session.flush()
            db.session.execute(update(OutboundMessage).values(status="failed", attempts=1, last_error="HTTP 400: recipient not on WhatsApp"))
            db.session.commit()
        with tenant_scope(db.session, farajaland.id):
            services.store_inbound(farajaland, "whatsapp", "wamid.bad", b"{}")
            db.session.execute(update(InboundMessage).values(status="quarantined", error="not a WhatsApp event"))
            db.session.commit()
        db.session.execute(update(QueuedMail).values(status="failed", attempts=8, last_error="SMTPAuthenticationError: 535 bad login"))
        db.session.commit()


def test_platform_administrators_see_what_was_not_sent_and_why(app, client, auth, make_user):
    _failures(app)
    _platform_admin(auth, make_user)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "SMTPAuthenticationError: 535 bad login" in html and "amina@example.org" in html
    assert "HTTP 400: recipient not on WhatsApp" in html and "Kalondo" in html
    assert "Farajaland" in html  # its quarantined message is counted
    assert "worker" not in html  # nothing is overdue: no alarm
    # The console links the page for them.
    assert f'href="{PAGE}"' in client.get("/expert/").get_data(as_text=True)


def test_a_message_due_long_ago_and_not_sent_says_no_worker_is_sending(app, client, auth, make_user):
    with app.app_context():
        db.session.add(QueuedMail(recipient="amina@example.org", message="Subject: Invitation", next_attempt_at=utcnow() - dt.timedelta(minutes=25)))
        db.session.commit()
    _platform_admin(auth, make_user)
    html = client.get(PAGE).get_data(as_text=True)
    assert "flask outbox work" in html
    result = app.test_cli_runner().invoke(args=["outbox", "status"])
    assert "is `flask outbox work` running?" in result.output
    with app.app_context():  # a message due a minute ago is just waiting for the next pass
        db.session.execute(update(QueuedMail).values(next_attempt_at=utcnow() - dt.timedelta(minutes=1)))
        db.session.commit()
    assert "flask outbox work" not in client.get(PAGE).get_data(as_text=True)


def test_the_page_reads_in_french(app, client, auth, make_user):
    _failures(app)
    email = make_user(tenant=None, role=None, global_role="platform_admin", locale="fr")
    auth.login(email, tenant=None)
    html = client.get(PAGE).get_data(as_text=True)
    assert "Courrier système" in html and "Non envoyés, du plus récent au plus ancien" in html


def test_only_platform_administrators_open_it(app, client, auth, make_user):
    assert client.get(PAGE).status_code == 302  # to the sign-in page
    auth.login(make_user(role="tenant_admin"))
    assert client.get(PAGE).status_code == 403
    auth.logout()
    auth.login(make_user(tenant=None, role=None, global_role="l3_expert"), tenant=None)
    assert client.get(PAGE).status_code == 403
    assert PAGE not in client.get("/expert/").get_data(as_text=True)
