"""Print what the main pages weigh on the wire: the HTML and the static files it loads, compressed.

    python benchmarks/page_weight.py

Runs the app on a throwaway SQLite database with the demo tenants, accounts and content; no server.
The budget for a tenant's home and an article page is 60 KB (tests/core/test_assets.py checks it).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from portal import create_app  # noqa: E402
from portal.core.db import db  # noqa: E402
from portal.tenancy.services import sync_tenants  # noqa: E402
from tests.conftest import make_test_config  # noqa: E402
from tests.core.page_weight import BUDGET_BYTES, measure  # noqa: E402

PAGES = ["/", "/farajaland/", "/kalondo/", "/farajaland/login"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_test_config(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp)))
        with app.app_context():
            db.create_all()
            sync_tenants(REPO / "tenants")
        app.test_cli_runner().invoke(args=["demo", "load"])
        client = app.test_client()
        pages = list(PAGES)
        if "kb.article" in app.view_functions:
            pages += _article_pages(client)
        print(f"{'page':<55} {'bytes':>8} {'KB':>6}  budget {BUDGET_BYTES // 1024} KB")
        for path in pages:
            weight = measure(client, path)
            flag = "" if weight.total <= BUDGET_BYTES else "  OVER BUDGET"
            print(f"{path:<55} {weight.total:>8} {weight.total / 1024:>6.1f}{flag}")


def _article_pages(client) -> list[str]:
    """The first article linked from Farajaland's help index, if the knowledge base is there."""
    import re

    html = client.get("/farajaland/kb/", follow_redirects=True).get_data(as_text=True)
    links = re.findall(r'href="(/farajaland/kb/[^"?#]+)"', html)
    return links[:2]


if __name__ == "__main__":
    main()
