"""Canned responses are filled with `{{ dotted.name }}` values only: staff text is data, and code in
it (a loop, a huge number) must neither be saved nor run when the replies page shows it."""
from __future__ import annotations

import pytest

from portal.auth.permissions import Role
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets.models import CannedResponse

SLOW = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


@pytest.fixture
def agent(client, auth, make_user):
    auth.login(make_user(role=Role.L1_AGENT))


@pytest.mark.parametrize("body", [SLOW, "{{ 'a' * 10**10 }}", "{{ country.name|upper }}", "{# note #}", "{{ country.name "])
def test_anything_but_a_name_is_refused_with_a_clear_message(client, agent, body):
    response = client.post("/farajaland/tickets/canned", data={"title": "Trap", "locale": "en", "body": body})
    assert response.status_code == 400
    assert "The text has a placeholder error:" in response.get_data(as_text=True)


def test_a_reply_saved_before_is_shown_as_text_at_once_never_run(app, client, agent):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            db.session.add(CannedResponse(tenant_id=tenant.id, title="Old", locale="en", body=SLOW + " Hello {{ country.name }}{{ nope.nothing }}."))
            db.session.commit()
    page = client.get("/farajaland/tickets/canned").get_data(as_text=True)
    assert "Hello Farajaland." in page and "range(100000)" in page  # shown as written: run, it would take minutes
