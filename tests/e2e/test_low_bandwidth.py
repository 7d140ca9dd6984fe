"""What a page costs over the wire, measured by the browser itself (compressed bodies plus headers)."""
import pytest

from tests.core.page_weight import BUDGET_BYTES

PAGES = ["/farajaland/", "/kalondo/", "/sahilia/", "/farajaland/login", "/farajaland/kb/articles/forgotten-password", "/farajaland/kb/search?q=verification+code"]


def transferred(page, path: str) -> tuple[int, dict[str, int]]:
    sizes: dict[str, int] = {}

    def count(request):
        s = request.sizes()
        sizes[request.url] = s["responseBodySize"] + s["responseHeadersSize"]

    page.on("requestfinished", count)
    with page.expect_event("load"):
        page.goto(path)
    page.wait_for_load_state("networkidle")
    return sum(sizes.values()), sizes


@pytest.mark.parametrize("path", PAGES)
def test_first_visit_transfers_at_most_60_kb(page, live_server, path):
    total, sizes = transferred(page, path)
    print(f"\n{path}: {total} B transferred ({total / 1024:.1f} KB): {sizes}")
    assert total <= BUDGET_BYTES, sizes
    assert all(url.startswith(live_server.url) for url in sizes), "a page must not fetch from other sites"


def test_a_second_page_reuses_the_cached_stylesheet(page):
    transferred(page, "/farajaland/")
    total, sizes = transferred(page, "/farajaland/login")
    stylesheet = [url for url in sizes if "/static/css/" in url]
    assert stylesheet and all(sizes[url] == 0 for url in stylesheet), sizes
