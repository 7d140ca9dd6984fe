"""Print how long the printable handbook PDF takes: made (cold), sent from its kept file (warm), and 304.

    python benchmarks/handbook_speed.py [--warm 20]

Runs the app on a throwaway SQLite database with the demo tenants, accounts and content; no server.
For each demo country, in its default language:
1. where a cold request's time goes: the HTML (template and Markdown), WeasyPrint's layout, and
   drawing and writing the PDF (fonts subset and embedded), each timed apart once;
2. `/<country>/kb/handbook.pdf` through the Flask test client: the first request (cold: the PDF
   is made and kept), then `--warm` more (the median: sent from the file, as every later request
   until the content changes), and one with the ETag the phone kept (304, no body).
Before the cache every request was cold. Wall-clock and CPU seconds are printed: on a busy machine
the CPU time is the steadier figure.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from portal import create_app  # noqa: E402
from portal.core.db import db, tenant_scope  # noqa: E402
from portal.tenancy.services import get_tenant, sync_tenants  # noqa: E402
from tests.conftest import make_test_config  # noqa: E402

TENANTS = ["kalondo", "farajaland"]


def timed(action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def stages(app, slug: str) -> None:
    from weasyprint import CSS, HTML

    from portal.kb import handbook

    with app.test_request_context(f"/{slug}/kb/handbook.pdf"), tenant_scope(db.session, get_tenant(slug).id):
        tenant = get_tenant(slug)
        markup, html_s, html_cpu = timed(lambda: handbook.pdf_markup(tenant, tenant.default_locale))
        css = CSS(string=handbook.HANDBOOK_CSS.read_text(encoding="utf-8"))
        document, layout_s, layout_cpu = timed(
            lambda: HTML(string=markup, base_url=app.root_path, url_fetcher=handbook._no_network).render(stylesheets=[css]))
        pdf, write_s, write_cpu = timed(document.write_pdf)
    print(f"  stages: HTML {html_s:.2f} s ({html_cpu:.2f} CPU), layout {layout_s:.2f} s ({layout_cpu:.2f} CPU), "
          f"draw+write {write_s:.2f} s ({write_cpu:.2f} CPU); {len(document.pages)} pages, {len(pdf) // 1024} KB, "
          f"{len(markup) // 1024} KB of HTML")


def requests(client, slug: str, warm: int) -> None:
    path = f"/{slug}/kb/handbook.pdf"
    cold, cold_s, cold_cpu = timed(lambda: client.get(path))
    assert cold.status_code == 200, cold.status_code
    warm_times = []
    for _ in range(warm):
        response, seconds, _cpu = timed(lambda: client.get(path))
        assert response.status_code == 200 and response.data == cold.data
        warm_times.append(seconds)
    revalidated, not_modified_s, _cpu = timed(lambda: client.get(path, headers={"If-None-Match": cold.headers["ETag"]}))
    assert revalidated.status_code == 304
    print(f"  request: cold {cold_s:.2f} s ({cold_cpu:.2f} CPU), warm median {statistics.median(warm_times) * 1000:.1f} ms "
          f"(max {max(warm_times) * 1000:.1f}), 304 {not_modified_s * 1000:.1f} ms; {len(cold.data) // 1024} KB sent, 0 on 304")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=20, help="warm requests per country (median printed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_test_config(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp)))
        with app.app_context():
            db.create_all()
            sync_tenants(REPO / "tenants")
        app.test_cli_runner().invoke(args=["demo", "load"])
        importlib.import_module("weasyprint")  # loaded once, as a server process has: not counted

        client = app.test_client()
        for slug in TENANTS:
            print(slug)
            stages(app, slug)
            requests(client, slug, args.warm)


if __name__ == "__main__":
    main()
