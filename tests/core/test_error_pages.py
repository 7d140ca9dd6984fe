"""A wrong method on any route is a 405 page (or JSON error) naming the allowed methods, never a 500:
a browser reaches form-only addresses by reloading, going back, or switching language after a post."""
from __future__ import annotations

import pytest

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def post_only_urls(app) -> list[str]:
    urls = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods or rule.endpoint == "static":
            continue
        values = {name: "farajaland" if name == "tenant" else "1" for name in rule.arguments}
        try:
            url = adapter.build(rule.endpoint, values, method=sorted(rule.methods - {"OPTIONS"})[0])
        except Exception:  # an argument with a converter these values do not fit: skipped
            continue
        try:
            adapter.match(url, method="GET")
        except Exception:  # no page answers a GET here: a 405 (or a slash redirect) is due
            urls.append(url)
    return urls


@pytest.mark.parametrize("headers", [HTML, {"Accept": "application/json"}], ids=["html", "json"])
def test_a_get_on_a_form_only_address_is_a_405_not_a_500(app, client, headers):
    urls = post_only_urls(app)
    assert len(urls) > 20 and "/farajaland/assistant/solved" in urls
    for url in urls:
        response = client.get(url, headers=headers)
        if response.status_code == 308:  # the address with a trailing slash is another page, which a GET may read
            continue
        assert response.status_code == 405, (url, response.status_code)
        assert set(response.headers["Allow"].split(", ")) & {"POST", "PUT", "PATCH", "DELETE"}, url
        if headers is HTML and "/api/" not in url:
            assert "This action is not allowed here." in response.get_data(as_text=True), url


def test_the_405_page_is_in_the_readers_language(client):
    response = client.get("/farajaland/assistant/handover", headers={**HTML, "Accept-Language": "fr"})
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert '<html lang="fr"' in response.get_data(as_text=True)


def test_the_language_switch_on_a_page_answering_a_form_leads_to_a_readable_page(client):
    # A refused hand-over (no way to reach the person) is shown at the form's address, which a GET cannot read.
    client.post("/farajaland/assistant", data={"message": "the informant did not get the sms with the tracking id"})
    refused = client.post("/farajaland/assistant/handover", data={})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/farajaland/">' in page
    page = client.get("/farajaland/kb/?q=x").get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/farajaland/kb/?q=x">' in page
