"""Knowledge-base benchmark: search latency at 1k/10k/100k articles, article-page throughput.

Run from the repository root (it makes its own databases and servers, and removes them):

    python benchmarks/kb_search.py [--pg postgresql://postgres@127.0.0.1:5432/crvs_bench] [--sizes 1000,10000,100000]
                                   [--port 8100] [--seconds 10]

1. Search: synthetic articles (words drawn with a Zipf law from a real-looking vocabulary) are
   bulk-inserted into one tenant and locale with the portal's own row builder, then a mixed list
   of queries (domain questions, and Zipf-drawn words with some typos) goes through
   `portal.kb.search.search` as the search page calls it (20 results, the search recorded, then
   rolled back), after a warm-up that is not timed; p50 and p95 are printed per size and
   database. Targets: p95 <= 30 ms at 100k.
2. Pages: the demo library is loaded into a fresh SQLite portal; an article page is served by
   gunicorn and compared with a bare Flask endpoint served the same way, with `wrk` when it is
   installed, otherwise with a Python client on threads (no cookies kept: every request is a
   new reader), after a warm-up that is not counted, in alternating rounds; the medians are
   printed, and the servers' CPU time per request (steadier than rates on a busy machine).
   Target: >= 40 % of bare Flask. With wrk, a returning reader (who sends the session cookie
   the first visit got) is measured too, for information.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BASE_WORDS = (
    "code verification sms email login password username account locked deactivated reset security question pin "
    "device phone browser offline outbox send sync declaration birth death record registration certificate print "
    "signature preview pdf correction approval reprint duplicate twins informant tracking number message fee late "
    "delayed payment office district health facility village search jurisdiction assign unassign download validate "
    "register registrar agent field clerk administrator dashboard report performance completeness timeliness user "
    "network connection update version screen error failed stuck waiting expired incorrect attempts minute hours"
).split()


def vocabulary(size: int = 4000, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = list(BASE_WORDS)
    syllables = ["ka", "lo", "ra", "mi", "tu", "se", "no", "pa", "di", "re", "vo", "la", "ge", "zi", "ma", "ben", "tor", "al"]
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in words:
            words.append(word)
    return words


def zipf_weights(n: int) -> list[float]:
    return [1.0 / (rank + 1) ** 1.07 for rank in range(n)]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


# -- search ---------------------------------------------------------------------------------------


def make_app(database_url: str, instance: Path):
    os.environ["PORTAL_INSTANCE_PATH"] = str(instance)
    from portal import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench-" + "x" * 40, "TESTING": True,
        "RATELIMIT_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://", "WTF_CSRF_ENABLED": False,
    })


def bulk_load(tenant, start: int, stop: int, words: list[str], rng: random.Random) -> None:
    """Insert synthetic search documents through the row builder the portal indexes articles with."""
    from sqlalchemy import insert

    from portal.core.db import db
    from portal.kb.models import SearchDocument
    from portal.kb.search import document_row

    weights = zipf_weights(len(words))
    categories = ["access-and-login", "declarations", "certificates-and-printing", "offline-and-sync", "other"]
    batch = []
    for n in range(start, stop):
        title = " ".join(rng.choices(words, weights, k=rng.randint(4, 8))).capitalize()
        body = " ".join(rng.choices(words, weights, k=rng.randint(40, 90))) + "."
        batch.append(document_row(tenant.id, "en", f"synthetic-{n}", "en", categories[n % len(categories)], "public", title, body))
        if len(batch) == 2000:
            db.session.execute(insert(SearchDocument), batch)
            batch = []
    if batch:
        db.session.execute(insert(SearchDocument), batch)
    db.session.commit()


# What readers type: questions from the domain (some with words no article uses, so the any-word
# fallback runs), mixed with Zipf-drawn word combinations, a tenth of them with a typo.
REAL_QUERIES = [
    "verification code not received", "code expired", "too many login attempts", "incorrect username or password",
    "user deactivated", "forgot password", "reset password", "forgot username", "security question", "pin locked",
    "declaration stuck in outbox", "failed to send", "offline", "record assigned to colleague", "unassign record",
    "failed to download record", "record not found search", "tracking number message", "requires updates",
    "health facility missing", "village missing", "late registration fee", "delayed registration payment",
    "duplicate twins", "certificate preview blank", "pdf not opening", "signature missing print", "print certificate",
    "correction approval reprint", "registrar validate", "dashboard report completeness", "network connection error",
    "sms", "email", "birth", "death certificate", "informant", "jurisdiction search", "update version", "browser",
]


def make_queries(words: list[str], count: int, rng: random.Random) -> list[str]:
    weights = zipf_weights(len(words))
    queries = []
    for i in range(count):
        if i % 3 == 0:
            queries.append(rng.choice(REAL_QUERIES))
            continue
        picked = rng.choices(words[:600], weights[:600], k=rng.randint(1, 3))
        if i % 10 == 1:  # a typo: a letter left out
            w = picked[0]
            picked[0] = w[:2] + w[3:] if len(w) > 4 else w
        queries.append(" ".join(picked))
    return queries


def bench_search(label: str, database_url: str, sizes: list[int], queries: int) -> list[str]:
    from sqlalchemy import insert

    from portal.core.db import db, tenant_scope
    from portal.kb import search
    from portal.kb.models import SearchTerm
    from portal.tenancy.services import get_tenant, sync_tenants

    lines = []
    instance = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    app = make_app(database_url, instance)
    words = vocabulary()
    rng = random.Random(42)
    with app.app_context():
        db.drop_all()
        db.create_all()
        sync_tenants(REPO / "tenants")
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            db.session.execute(insert(SearchTerm), [{"tenant_id": tenant.id, "locale": "en", "term": w} for w in words])
            db.session.commit()
            loaded = 0
            for size in sizes:
                started = time.perf_counter()
                bulk_load(tenant, loaded, size, words, rng)
                if db.engine.dialect.name == "postgresql":
                    # As autovacuum would after such a load: without statistics the planner guesses.
                    with db.engine.connect() as conn:
                        conn.exec_driver_sql("ANALYZE")
                        conn.commit()
                load_s = time.perf_counter() - started
                loaded = size
                for query in make_queries(words, 20, random.Random(1)):  # warm-up, not timed
                    search.search(tenant, "en", query)
                    db.session.rollback()
                timings, cpu, capped = [], [], 0
                for query in make_queries(words, queries, rng):
                    t0, c0 = time.perf_counter(), time.process_time()
                    # As the search page calls it, the search recorded (then rolled back).
                    result = search.search(tenant, "en", query, limit=20)
                    timings.append((time.perf_counter() - t0) * 1000)
                    cpu.append((time.process_time() - c0) * 1000)
                    db.session.rollback()
                    capped += result.total_capped
                # The portal process's CPU time is the whole cost on SQLite (the database runs in it),
                # and a figure a busy machine barely changes; on PostgreSQL the server's share is not in it.
                line = (f"search {label:<10} {size:>7} articles: p50 {statistics.median(timings):6.1f} ms  "
                        f"p95 {percentile(timings, 95):6.1f} ms  (portal CPU p50 {statistics.median(cpu):.1f}, "
                        f"p95 {percentile(cpu, 95):.1f} ms; {queries} queries, {capped} with more than "
                        f"{search.COUNT_LIMIT} matches; loaded in {load_s:.0f} s)")
                print(line, flush=True)
                lines.append(line)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    shutil.rmtree(instance, ignore_errors=True)
    return lines


# -- pages ----------------------------------------------------------------------------------------


BARE_APP = '''
from flask import Flask
app = Flask(__name__)
PAGE = "<!doctype html><html><body><h1>Hello</h1><p>" + "text " * 400 + "</p></body></html>"

@app.get("/bare")
def bare():
    return PAGE
'''


def run(cmd, env, **kw):
    return subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True, text=True, **kw)


def wait_for(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server on {port} did not answer {path}")


def load_python(port: int, path: str, seconds: float, threads: int = 8) -> float:
    count = [0] * threads
    stop = time.time() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.time() < stop:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                count[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(count) / seconds


def load_wrk(port: int, path: str, seconds: float, cookie: str = "") -> float:
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{int(seconds)}s", *headers, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def session_cookie(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    return (response.getheader("Set-Cookie") or "").split(";")[0]


def server_cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by a gunicorn master and its workers (Linux /proc), or None elsewhere."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0
        for p in [pid, *map(int, children)]:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def bench_pages(port: int, seconds: float, rounds: int = 3) -> list[str]:
    instance = Path(tempfile.mkdtemp(prefix="kb-bench-pages-"))
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance), "PYTHONPATH": str(REPO)}
    env.pop("DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    run(flask + ["db", "upgrade"], env)
    run(flask + ["tenants", "sync"], env)
    run(flask + ["demo", "load"], env, timeout=600)
    (instance / "bare_app.py").write_text(BARE_APP)
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "1", "--log-level", "warning"]
    article = "/farajaland/kb/articles/verification-code-not-received"
    servers = [
        ("bare Flask", subprocess.Popen(gunicorn + ["-b", f"127.0.0.1:{port + 1}", "--chdir", str(instance), "bare_app:app"], env=env), port + 1, "/bare"),
        ("article page", subprocess.Popen(gunicorn + ["-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=REPO, env=env), port, article),
    ]
    tool = "wrk" if shutil.which("wrk") else "python threads"
    rates: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    try:
        for label, _proc, p, path in servers:
            wait_for(p, path)
            load_python(p, path, 2)  # warm-up, not counted
        # Rounds alternate between the two servers, so a busy moment of the machine hits both.
        cookie = session_cookie(port, article)
        runs = [(label, proc, p, path, "") for label, proc, p, path in servers]
        if tool == "wrk":
            runs.append(("returning reader", servers[1][1], port, article, cookie))
        for _ in range(rounds):
            for label, proc, p, path, cookie in runs:
                before = server_cpu_seconds(proc.pid)
                rate = load_wrk(p, path, seconds, cookie) if tool == "wrk" else load_python(p, path, seconds)
                after = server_cpu_seconds(proc.pid)
                rates.setdefault(label, []).append(rate)
                if before is not None and after is not None and rate:
                    cpu.setdefault(label, []).append((after - before) * 1000 / (rate * seconds))
    finally:
        for _label, proc, _p, _path in servers:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        shutil.rmtree(instance, ignore_errors=True)
    bare, page = statistics.median(rates["bare Flask"]), statistics.median(rates["article page"])
    lines = [
        f"pages ({tool}, gunicorn -w 2, {rounds} rounds of {seconds:.0f} s each, medians): bare Flask {bare:.0f} req/s, "
        f"article page {page:.0f} req/s = {page / bare:.0%} of bare Flask "
        f"(per round: {', '.join(f'{a / b:.0%}' for a, b in zip(rates['article page'], rates['bare Flask']))})",
    ]
    if "returning reader" in rates:
        back = statistics.median(rates["returning reader"])
        lines.append(f"pages, an anonymous reader coming back (sends the session cookie the first visit got): "
                     f"{back:.0f} req/s = {back / bare:.0%} of bare Flask")
    if len(cpu) >= 2:
        lines.append("pages, server CPU per request (medians): " + ", ".join(f"{label} {statistics.median(v):.2f} ms" for label, v in cpu.items()))
    for line in lines:
        print(line, flush=True)
    return lines


def bench_handbook() -> list[str]:
    """Render the handbook of 200 generated articles as HTML and as PDF."""
    from portal.core.db import db, tenant_scope
    from portal.kb import services
    from portal.tenancy.services import get_tenant, sync_tenants

    instance = Path(tempfile.mkdtemp(prefix="kb-bench-hb-"))
    app = make_app(f"sqlite:///{instance / 'hb.sqlite3'}", instance)
    with app.app_context():
        db.create_all()
        sync_tenants(REPO / "tenants")
        tenant = get_tenant("farajaland")
        paragraph = "Open the app, check the **outbox**, and contact {{ support.whatsapp }} if it fails. " * 6
        with tenant_scope(db.session, tenant.id):
            for n in range(200):
                body = f"## Steps\n\n1. First step\n2. Second step\n\n{paragraph}\n\n> **Note:** keep your phone charged.\n"
                services.save_article(tenant, None, f"article-{n}", "en", services.Draft(f"Article {n}", body, "other", [], "public", "published"), reindex=False)
            db.session.commit()
        client = app.test_client()
        t0 = time.perf_counter()
        assert client.get("/farajaland/kb/handbook", headers={"Accept-Language": "en"}).status_code == 200
        html_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pdf = client.get("/farajaland/kb/handbook.pdf", headers={"Accept-Language": "en"}).data
        pdf_s = time.perf_counter() - t0
        db.engine.dispose()
    shutil.rmtree(instance, ignore_errors=True)
    line = f"handbook: 200 articles as HTML in {html_s:.2f} s, as PDF in {pdf_s:.1f} s ({len(pdf) // 1024} KiB)"
    print(line, flush=True)
    return [line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="", help="PostgreSQL URL of a database to create and drop for the run")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="page measurements per server, alternating")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: sqlite,pg,pages,handbook")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    if "sqlite" not in skip:
        folder = Path(tempfile.mkdtemp(prefix="kb-bench-db-"))
        bench_search("SQLite", f"sqlite:///{folder / 'bench.sqlite3'}", sizes, args.queries)
        shutil.rmtree(folder, ignore_errors=True)
    if args.pg and "pg" not in skip:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        url = make_url(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
        try:
            bench_search("PostgreSQL", url.render_as_string(hide_password=False), sizes, args.queries)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            admin.dispose()
    if "handbook" not in skip:
        bench_handbook()
    if "pages" not in skip:
        bench_pages(args.port, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
