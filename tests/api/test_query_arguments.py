"""Odd paging and filter values are refused by the API with a clear 400 (never a 500), and the
console pages that share the paging forgive them."""
import pytest

from portal.auth import services as auth_services
from portal.core.db import db


@pytest.fixture
def expert_token(app, make_user):
    email = make_user(global_role="l3_expert", tenant=None, role=None)
    with app.app_context():
        token = auth_services.issue_api_token(auth_services.get_user_by_email(email), name="test")
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=2.5", "page=%C2%B2", "page=100001", "page=1&page=2", "per_page=201", "status=closed", "sort=name", "severity=urgent", "q=a&q=b"],
)
def test_the_escalation_list_refuses_odd_arguments_with_a_400(client, expert_token, query):
    response = client.get(f"/api/v1/escalations?{query}", headers=expert_token)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"]


def test_the_escalation_list_accepts_its_documented_arguments(client, expert_token):
    response = client.get("/api/v1/escalations?status=all&sort=recent&severity=&tenant=farajaland&q=outbox&page=3&per_page=200", headers=expert_token)
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "page": 3, "per_page": 200, "total": 0}


def test_the_console_page_forgives_a_page_number_too_large_for_the_database(client, auth, make_user):
    auth.login(make_user(global_role="l3_expert", tenant=None, role=None), tenant=None)
    assert client.get("/expert/?page=99999999999999999999999").status_code == 200


def test_the_ticket_list_refuses_a_page_number_written_with_other_digits(client, app, make_user):
    email = make_user(role="l1_agent")
    with app.app_context():
        token = auth_services.issue_api_token(auth_services.get_user_by_email(email), name="test")
        db.session.commit()
    for page in ("%C2%B2", "%D9%A3"):  # a superscript two, an Arabic-Indic three
        response = client.get(f"/farajaland/api/v1/tickets?page={page}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 400, page


@pytest.mark.parametrize("limit", ["false", "2.5", "%C2%B2", "0", "51", "5&limit=6"])
def test_the_article_search_refuses_a_limit_that_is_not_a_number_it_allows(client, limit):
    response = client.get(f"/farajaland/api/v1/kb/search?q=password&limit={limit}")
    assert response.status_code == 400
    assert "limit" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("body", [{"reason": 5, "severity": "high"}, {"reason": "x", "severity": "high", "details": 5}, {"reason": "x", "severity": "high", "regression": 1}, {"reason": "x", "severity": "high", "details": {"steps": ["a"]}}])
def test_escalating_through_the_api_refuses_details_that_are_not_text(client, app, make_user, body):
    email = make_user(role="l1_agent")
    with app.app_context():
        token = auth_services.issue_api_token(auth_services.get_user_by_email(email), name="test")
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    reference = client.post("/farajaland/api/v1/tickets", json={"subject": "Printer", "body": "Blank page", "requester": {"email": "c@example.org"}}, headers=headers).get_json()["reference"]
    response = client.post(f"/farajaland/api/v1/tickets/{reference}/escalate", json=body, headers=headers)
    assert response.status_code == 400
    assert client.get(f"/farajaland/api/v1/tickets/{reference}", headers=headers).get_json()["tier"] == "L1"
    assert client.post(f"/farajaland/api/v1/tickets/{reference}/escalate", json={"reason": "x", "severity": "high", "regression": "yes"}, headers=headers).status_code == 201
