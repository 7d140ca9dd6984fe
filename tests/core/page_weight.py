"""Measuring what a page costs on a slow link: the page and the static files it loads, as sent compressed."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

ACCEPT_ENCODING = "br, gzip"
BUDGET_BYTES = 60 * 1024


class _Assets(HTMLParser):
    """The URLs a browser fetches before it can show the page: stylesheets, scripts, images, icons."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.blocking: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href") and {"stylesheet", "icon", "preload"} & set((a.get("rel") or "").split()):
            self.urls.append(a["href"])
            if "stylesheet" in (a.get("rel") or "") and not a.get("media", "all") == "print":
                self.blocking.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.urls.append(a["src"])
            if tag == "script" and "defer" not in a and "async" not in a and a.get("type") != "module":
                self.blocking.append(a["src"])


@dataclass
class PageWeight:
    path: str
    parts: dict[str, int] = field(default_factory=dict)
    third_party: list[str] = field(default_factory=list)
    render_blocking: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def describe(self) -> str:
        listing = ", ".join(f"{url} {size} B" for url, size in self.parts.items())
        return f"{self.path}: {self.total} B ({self.total / 1024:.1f} KB) = {listing}"


def measure(client, path: str, **kwargs) -> PageWeight:
    """Fetch `path` and each asset it loads with a test client, asking for compression; sum the bytes sent."""
    headers = {"Accept-Encoding": ACCEPT_ENCODING}
    page = client.get(path, headers=headers, **kwargs)
    assert page.status_code == 200, (path, page.status_code)
    weight = PageWeight(path, {path: len(page.get_data())})
    html = _decoded(page)
    parser = _Assets()
    parser.feed(html)
    for url in parser.urls:
        parts = urlsplit(url)
        if parts.netloc:
            weight.third_party.append(url)
            continue
        with client.get(parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers) as asset:
            assert asset.status_code == 200, (url, asset.status_code)
            weight.parts[url] = len(asset.get_data())
    weight.render_blocking = [u for u in parser.blocking if urlsplit(u).netloc]
    return weight


def _decoded(response) -> str:
    data = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        import brotli

        data = brotli.decompress(data)
    elif encoding == "gzip":
        import gzip

        data = gzip.decompress(data)
    return data.decode("utf-8")
