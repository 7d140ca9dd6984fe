"""Every tenant route, present and future, probed with another tenant's user and ids.

The tenant administrator of Farajaland (who holds every permission there) calls each route of
`app.url_map` that lives under `/<tenant>/`, once with Kalondo's object ids in Farajaland's URL
(must be 404: never confirm that the object exists) and once in Kalondo's own URL (must never show
Kalondo's private data). Afterwards, Kalondo's data must be unchanged.

A new route whose URL takes an argument not listed in ARGUMENTS fails `test_every_argument_is_known`:
add a seeder that creates such an object in the other tenant.
"""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from portal.auth import services as auth_services
from portal.auth.permissions import Role
from portal.core.db import SYSTEM, Base, TenantScoped, across_tenants, db, tenant_scope
from portal.tenancy.services import get_tenant

PRIVATE = "zz-private-kalondo-marker"
SKIP_METHODS = {"HEAD", "OPTIONS"}


def seed_members(tenant) -> dict:
    user = auth_services.create_user(f"{PRIVATE}@example.org", "long-enough-pw", name=PRIVATE)
    membership = auth_services.add_membership(tenant, user, Role.L2_TECHNICIAN, job_title=PRIVATE)
    auth_services.issue_api_token(user, PRIVATE)  # a token is its owner's alone: nobody else revokes it
    [token] = auth_services.api_tokens_of(user)
    return {"membership_id": membership.id, "token_id": token.id}


def seed_insights(tenant) -> dict:
    import datetime as dt

    from portal.insights.rollup import roll_up
    from portal.insights.services import link_article
    from portal.tickets.services import open_ticket

    agent = auth_services.create_user(f"{PRIVATE}-insights@example.org", name=PRIVATE)
    auth_services.add_membership(tenant, agent, Role.L1_AGENT, job_title=PRIVATE, office=PRIVATE)
    ticket = open_ticket(tenant, None, requester=agent, subject=PRIVATE, body=PRIVATE, office=PRIVATE)
    link_article(tenant, agent, ticket, PRIVATE, PRIVATE)  # an article still to write, named
    roll_up(tenant, through=dt.date.today())
    return {"reference": ticket.reference}


def seed_assistant(tenant) -> dict:
    from portal.assistant.models import Conversation, Example, Turn

    conversation = Conversation(tenant_id=tenant.id, locale="fr", key=PRIVATE)
    turn = Turn(tenant_id=tenant.id, conversation=conversation, locale="fr", question=PRIVATE, answer=PRIVATE)
    example = Example(tenant_id=tenant.id, slug="forgotten-password", locale="fr", question=PRIVATE, source="editor")
    db.session.add_all([conversation, turn, example])
    db.session.flush()
    return {"example_id": example.id}
def seed_escalations(tenant) -> dict:
    """A ticket escalated to L3 with an expert reply, linked to a problem, and a deployment report."""
    from portal.auth.permissions import GlobalRole
    from portal.escalation import services as escalation
    from portal.escalation.models import Deployment, Problem, ProblemTicket
    from portal.tickets import services as tickets

    l2 = auth_services.create_user(f"{PRIVATE}-l2@example.org", "long-enough-pw", name=PRIVATE)
    auth_services.add_membership(tenant, l2, Role.L2_TECHNICIAN)
    expert = auth_services.create_user(f"{PRIVATE}-l3@example.org", "long-enough-pw", global_role=GlobalRole.L3_EXPERT)
    contact = tickets.find_or_create_contact(tenant, email=f"{PRIVATE}-requester@example.org", phone="+237 6 99 00 11 22")
    ticket = tickets.open_ticket(tenant, None, requester=contact, subject=PRIVATE, body=PRIVATE)
    details = {"reason": PRIVATE, "severity": "high", "steps": PRIVATE, "expected": PRIVATE, "actual": PRIVATE, "impact": PRIVATE}
    escalation.escalate_ticket(tenant, l2, ticket, details)
    escalation.escalate_ticket(tenant, l2, ticket, details)
    reply = escalation.post_expert_reply(tenant, expert, ticket, PRIVATE)
    problem = Problem(title=PRIVATE)
    db.session.add(problem)
    db.session.flush()
    db.session.add(ProblemTicket(tenant_id=tenant.id, problem_id=problem.id, ticket_id=ticket.id))
    db.session.add(Deployment(tenant_id=tenant.id, version="1.7.3", previous_version="1.7.2", source="api"))
    return {"reference": ticket.reference, "reply_id": reply.id}

def seed_channels(tenant) -> dict:
    from portal.channels.models import InboundMessage, OutboundMessage

    inbound = InboundMessage(channel="email", provider_id=f"{PRIVATE}@kalondo.example", raw=PRIVATE.encode(), status="quarantined", error=PRIVATE, sender=f"{PRIVATE}@example.org", summary=PRIVATE)
    db.session.add(inbound)
    db.session.add(OutboundMessage(channel="email", recipient=f"{PRIVATE}@example.org", payload={"text": PRIVATE}))
    db.session.flush()
    return {"inbound_id": inbound.id}


def seed_kb_articles(tenant) -> dict:
    """A staff-only tenant article, a draft local copy of a generic article, drafts of translations, feedback and a search."""
    from portal.kb import services as kb
    from portal.kb.models import ArticleFeedback, SearchLog

    generic = kb.Draft("Shared generic article", "Generic text.", "other", [], "public", "published")
    kb.save_generic_article(None, "zz-shared-generic", "fr", generic)
    kb.save_article(tenant, None, "zz-shared-generic", "fr", kb.Draft(PRIVATE, PRIVATE, "other", [PRIVATE], "public", "draft"))
    # The slug appears in probed URLs (and so in pages), so only the text carries the marker.
    kb.save_article(tenant, None, "zz-kalondo-only", "fr", kb.Draft(PRIVATE, PRIVATE, "other", [PRIVATE], "staff", "published"))
    kb.save_article(tenant, None, "zz-kalondo-only", "fr", kb.Draft(PRIVATE, PRIVATE + " v2", "other", [], "staff", "published"))
    # Translations' drafts in progress: of its own article, and of the generic one both countries show.
    kb.save_translation_draft(tenant, None, "zz-kalondo-only", "fr", kb.Draft(PRIVATE, PRIVATE + " draft", "other", [PRIVATE], "staff", "published"))
    kb.save_translation_draft(tenant, None, "zz-shared-generic", "fr", kb.Draft(PRIVATE, PRIVATE + " draft", "other", [], "public", "published"))
    db.session.add(ArticleFeedback(slug="zz-kalondo-only", locale="fr", is_helpful=False, comment=PRIVATE))
    db.session.add(SearchLog(locale="fr", query=PRIVATE, result_count=0))
    return {"slug": "zz-kalondo-only", "locale": "fr", "number": 1}


def seed_tickets(tenant) -> dict:
    import io

    from portal.tickets import services as tickets

    contact = tickets.find_or_create_contact(tenant, email=f"{PRIVATE}@example.org", name=PRIVATE, phone="+237 600 000 000")
    png = b"\x89PNG\r\n\x1a\n" + PRIVATE.encode()
    ticket = tickets.open_ticket(
        tenant, None, requester=contact, subject=f"{PRIVATE} subject", body=f"{PRIVATE} body", channel="whatsapp",
        attachments=[(f"{PRIVATE}.png", io.BytesIO(png))], transcript=[{"role": "user", "text": PRIVATE}],
    )
    tickets.add_message(tenant, None, ticket, body=f"{PRIVATE} reply", author_contact=contact)
    canned = tickets.save_canned(tenant, None, title=PRIVATE, locale=tenant.default_locale, body=f"{PRIVATE} canned")
    attachment_id = db.session.scalar(select(tickets.Attachment.id).where(tickets.Attachment.ticket_id == ticket.id))
    category_id = tickets.list_categories(tenant)[0].id
    return {"reference": ticket.reference, "attachment_id": attachment_id, "canned_id": canned.id, "category_id": category_id}


def seed_groups(tenant) -> dict:
    """A support group of the other tenant, with a member: its key names no group of the probing tenant."""
    key = next(iter(tenant.settings.tiers.groups))
    agent = auth_services.create_user(f"{PRIVATE}-group@example.org", name=PRIVATE)
    auth_services.add_membership(tenant, agent, Role.L1_AGENT, job_title=PRIVATE, groups=[key])
    return {"group_key": key}


# Each seeder creates private objects in the other tenant and returns URL argument values.
SEEDERS = [seed_members, seed_kb_articles, seed_tickets, seed_assistant, seed_escalations, seed_channels, seed_insights, seed_groups]
# URL arguments that are not objects of a tenant, with a harmless value.
NEUTRAL_ARGUMENTS = {"token": "not-a-token", "filename": "css/portal.css", "table": "offices"}


# Signing out would end the probe's session; it touches no tenant data.
SKIP_ENDPOINTS = {"auth.logout"}


def tenant_rules(app):
    return [r for r in app.url_map.iter_rules() if "tenant" in r.arguments and r.endpoint not in SKIP_ENDPOINTS]


@pytest.fixture
def probe(app, make_user, client):
    admin = make_user("admin-a@example.org", tenant="farajaland", role=Role.TENANT_ADMIN)
    values = {}
    with app.app_context():
        other = get_tenant("kalondo")
        with tenant_scope(db.session, other.id):
            for seed in SEEDERS:
                values.update(seed(other))
            db.session.commit()
        token = auth_services.issue_api_token(auth_services.get_user_by_email(admin), "probe")
        db.session.commit()
    client.post("/farajaland/login", data={"email": admin, "password": "correct-horse-battery"})
    return {"values": values | NEUTRAL_ARGUMENTS, "token": token}


def snapshot_other_tenant(app) -> str:
    """A digest of every tenant-owned row of Kalondo."""
    digest = hashlib.sha256()
    with app.app_context():
        other = get_tenant("kalondo")
        with across_tenants(db.session, SYSTEM):
            for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
                cls = mapper.class_
                if not issubclass(cls, TenantScoped):
                    continue
                table = mapper.local_table
                rows = db.session.execute(select(table).where(table.c.tenant_id == other.id).order_by(*table.primary_key.columns)).all()
                digest.update(json.dumps([list(map(str, r)) for r in rows]).encode())
    return digest.hexdigest()


def test_every_argument_is_known(app, probe):
    known = set(probe["values"]) | {"tenant"}
    for rule in tenant_rules(app):
        missing = set(rule.arguments) - known
        assert not missing, f"{rule.rule}: add a seeder for {missing} in {__file__}"


def test_no_tenant_route_leaks_or_changes_another_tenants_data(app, client, probe):
    before = snapshot_other_tenant(app)
    headers = {"Authorization": f"Bearer {probe['token']}"}
    checked = 0
    for rule in tenant_rules(app):
        object_args = set(rule.arguments) - {"tenant"} - set(NEUTRAL_ARGUMENTS)
        for method in sorted(rule.methods - SKIP_METHODS):
            for slug in ("farajaland", "kalondo"):
                args = {k: probe["values"][k] for k in rule.arguments if k != "tenant"}
                with app.test_request_context():
                    url = app.url_map.bind("localhost").build(rule.endpoint, {"tenant": slug, **args}, method=method)
                response = client.open(url, method=method, headers=headers, data={}, follow_redirects=False)
                body = response.get_data().decode("utf-8", "replace")  # some routes send files (PDF)
                assert response.status_code < 500, f"{method} {url} gave {response.status_code}"
                assert PRIVATE not in body, f"{method} {url} shows another tenant's data"
                if slug == "farajaland" and object_args:
                    assert response.status_code == 404, f"{method} {url} gave {response.status_code}, not 404"
                checked += 1
    assert checked > 0
    assert snapshot_other_tenant(app) == before
