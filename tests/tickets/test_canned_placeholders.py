"""Canned responses are checked against the country's values when saved, and retire with one click."""
import re

EN = {"Accept-Language": "en"}
MISSPELT = "Welcome to {{ country.inexistant }}. A late birth costs {{ registration.fees.birth_latte }} {{ country.currency }}. Ref {{ ticket.reference }}."


def _canned_id(client) -> str:
    return re.search(r"/farajaland/tickets/canned/(\d+)", client.get("/farajaland/tickets/canned").get_data(as_text=True)).group(1)


def test_a_canned_response_with_placeholders_the_country_has_no_value_for_is_refused_naming_them(client, auth, l1):
    auth.login(l1)
    refused = client.post("/farajaland/tickets/canned", data={"title": "Late birth", "locale": "en", "body": MISSPELT}, headers=EN)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    error = page.split('id="body-err"')[1].split("</p>")[0]
    assert "Farajaland has no value for {{ country.inexistant }}, {{ registration.fees.birth_latte }}" in error
    assert "country.currency" not in error and "ticket.reference" not in error  # the country's and the ticket's own
    assert "Welcome to {{ country.inexistant }}" in page  # the text is kept to be corrected
    assert "No canned responses yet." in page
    fixed = MISSPELT.replace("country.inexistant", "country.name").replace("birth_latte", "birth_late")
    assert client.post("/farajaland/tickets/canned", data={"title": "Late birth", "locale": "en", "body": fixed + " {{ ticket.subject }}, {{ ticket.requester }}"}).status_code == 302
    assert "Welcome to Farajaland. A late birth costs 5 FRD." in client.get("/farajaland/tickets/canned").get_data(as_text=True)


def test_an_edit_to_a_misspelt_placeholder_is_refused_too(client, auth, l1):
    auth.login(l1)
    client.post("/farajaland/tickets/canned", data={"title": "Hello", "locale": "en", "body": "Hello from {{ country.name }}."})
    canned_id = _canned_id(client)
    refused = client.post(f"/farajaland/tickets/canned/{canned_id}", data={"title": "Hello", "locale": "en", "body": "Hello from {{ country.nmae }}."}, headers=EN)
    assert refused.status_code == 400 and "Farajaland has no value for {{ country.nmae }}" in refused.get_data(as_text=True)
    assert "Hello from Farajaland." in client.get("/farajaland/tickets/canned").get_data(as_text=True)


def test_retiring_a_canned_response_needs_no_valid_title_or_text(client, auth, l1):
    auth.login(l1)
    client.post("/farajaland/tickets/canned", data={"title": "Old greeting", "locale": "en", "body": "Hello."})
    canned_id = _canned_id(client)
    retired = client.post(f"/farajaland/tickets/canned/{canned_id}", data={"title": "", "body": "", "retire": "1"}, headers=EN)
    assert retired.status_code == 302
    listing = client.get("/farajaland/tickets/canned", headers=EN).get_data(as_text=True)
    assert "The canned response is retired." in listing and "Old greeting" not in listing
