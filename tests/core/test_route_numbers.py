"""Numbers in addresses and queries that no database can hold are a 404 or a 400, never a 500."""
import re

import pytest
from werkzeug.routing import IntegerConverter

TOO_LARGE = "99999999999999999999999"  # beyond SQLite's and PostgreSQL's largest integer
SAMPLES = {"tenant": "farajaland", "reference": "FAR-000001", "locale": "en"}


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        if any(isinstance(conv, IntegerConverter) for conv in rule._converters.values()):
            yield rule


def test_every_numbered_route_treats_a_too_large_number_as_not_found(app, client, auth, make_user):
    auth.login(make_user(global_role="platform_admin", tenant=None, role=None), tenant=None)
    rules = list(_int_routes(app))
    assert len(rules) > 10  # the check below really walks the numbered routes
    for rule in rules:
        path = re.sub(r"<int:[^>]+>", TOO_LARGE, rule.rule)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: SAMPLES.get(m.group(1), "x"), path)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        response = client.open(path, method=method)
        assert response.status_code == 404, (method, path, response.status_code)


@pytest.mark.parametrize("query", ["page=%C2%B2", f"assignee={TOO_LARGE}", "assignee=%C2%B2", f"category={TOO_LARGE}", "category=%C2%B2"])
def test_the_queue_page_forgives_odd_numbers(client, auth, make_user, query):
    auth.login(make_user(role="l1_agent"))
    assert client.get(f"/farajaland/tickets/queue?{query}").status_code == 200
