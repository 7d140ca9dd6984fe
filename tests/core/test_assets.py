"""Pages for slow links: compressed, small, cacheable static files, nothing fetched from other sites."""
import re

import brotli
import pytest

from tests.core.page_weight import BUDGET_BYTES, measure


def test_html_is_sent_compressed_with_brotli_or_gzip(client):
    for encoding in ("br", "gzip"):
        response = client.get("/farajaland/", headers={"Accept-Encoding": encoding})
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
    page = client.get("/farajaland/", headers={"Accept-Encoding": "br"})
    assert "Farajaland" in brotli.decompress(page.get_data()).decode()


def test_a_client_that_cannot_decompress_gets_plain_text(client):
    response = client.get("/farajaland/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert "Farajaland" in response.get_data(as_text=True)


def test_stylesheet_url_is_versioned_and_cached_for_a_year(client):
    page = client.get("/farajaland/").get_data(as_text=True)
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
    assert re.fullmatch(r"/static/css/portal\.css\?v=[0-9a-f]{12}", href)
    with client.get(href, headers={"Accept-Encoding": "br"}) as css:
        assert css.status_code == 200 and css.headers["Content-Encoding"] == "br"
        cache = css.cache_control
    assert cache.public and cache.max_age == 365 * 24 * 3600 and cache.immutable


def test_an_old_or_missing_version_is_cached_only_briefly(client):
    for url in ("/static/css/portal.css", "/static/css/portal.css?v=000000000000"):
        with client.get(url) as response:
            assert response.status_code == 200
            assert response.cache_control.max_age == 300 and not response.cache_control.immutable


def test_pages_are_never_cached_by_shared_caches(client):
    response = client.get("/farajaland/")
    assert response.headers["Cache-Control"] in ("no-cache", "no-store")


@pytest.mark.parametrize("path", ["/", "/farajaland/", "/kalondo/", "/farajaland/login"])
def test_page_with_its_assets_weighs_at_most_60_kb_compressed(client, path):
    weight = measure(client, path)
    assert weight.total <= BUDGET_BYTES, weight.describe()
    assert not weight.third_party, weight.third_party
    assert not weight.render_blocking
