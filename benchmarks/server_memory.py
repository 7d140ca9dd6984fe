"""Memory of a gunicorn server of the portal: shared encoder weights and indexes against one copy per worker.

    python benchmarks/server_memory.py [--workers 4] [--port 8200]

A fresh SQLite portal with the demo countries and content (what README command 1 makes) is served
by gunicorn twice, with the same workers:
1. with the repository's settings (`gunicorn.conf.py`: the application imported, the assistant's
   encoder weights read and its indexes built in the master, before it forks the workers);
2. with the same settings but `preload_app` off, so that each worker imports the application,
   reads the weights and builds the indexes itself.
Pages are requested until every worker has served some (a worker's first request starts its
assistant warm-up, which in run 2 builds the indexes and sentence vectors of every country), then the script waits until
the memory stops growing. Printed per run: the proportional set size (PSS: each shared page divided
among the processes sharing it, so the sum is what the server costs the machine) of the master and
of the workers, and each worker's unique set size (USS: what stopping it would give back).
Linux only (it reads /proc).
"""
from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from kb_search import wait_for  # noqa: E402  (the same wait for a server's first answer)

NO_PRELOAD = """\
exec(open({config!r}).read())
preload_app = False


def when_ready(server):
    pass
"""


def memory_kb(pid: int) -> tuple[int, int]:
    """(PSS, USS) of a process in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _sep, rest = line.partition(":")
        fields[name] = int(rest.split()[0])
    return fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"]


def workers_of(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def visit_every_worker(port: int, master: int, paths: list[str], timeout: float = 120) -> None:
    """Request pages from several threads until each worker has used CPU for them."""
    deadline = time.time() + timeout
    workers = workers_of(master)
    before = {pid: cpu_ticks(pid) for pid in workers}

    def hammer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(10):
            conn.request("GET", paths[i % len(paths)])
            conn.getresponse().read()

    while time.time() < deadline:
        threads = [threading.Thread(target=hammer) for _ in range(2 * len(workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if all(cpu_ticks(pid) > before[pid] for pid in workers):
            return
    raise RuntimeError("some worker never served a request")


def settled(master: int, timeout: float = 300) -> dict[int, tuple[int, int]]:
    """Each process's memory once the total has stopped growing (the warm-ups are done)."""
    deadline = time.time() + timeout
    previous = None
    while time.time() < deadline:
        now = {pid: memory_kb(pid) for pid in [master, *workers_of(master)]}
        total = sum(pss for pss, _uss in now.values())
        if previous is not None and abs(total - previous) <= previous * 0.005:
            return now
        previous = total
        time.sleep(5)
    return now


def measure(label: str, config: Path, workers: int, port: int, env: dict) -> str:
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(config), "-w", str(workers), "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", "wsgi:app"]
    server = subprocess.Popen(cmd, cwd=REPO, env=env)
    try:
        wait_for(port, "/", timeout=120)  # the master reads the encoder's weights first
        visit_every_worker(port, server.pid, ["/farajaland/", "/kalondo/", "/farajaland/kb/", "/"])
        figures = settled(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    master = figures.pop(server.pid)
    total = master[0] + sum(pss for pss, _uss in figures.values())
    uss = sorted(u for _pss, u in figures.values())
    return (f"{label}: {workers} workers, PSS total {total / 1024:.0f} MiB (master {master[0] / 1024:.0f} MiB, "
            f"workers {', '.join(f'{p / 1024:.0f}' for p, _u in figures.values())} MiB); "
            f"USS per worker {uss[0] / 1024:.0f} to {uss[-1] / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8200)
    args = parser.parse_args()
    if not Path("/proc/self/smaps_rollup").exists():
        sys.exit("this benchmark reads /proc/<pid>/smaps_rollup (Linux 4.14 or newer)")
    instance = Path(tempfile.mkdtemp(prefix="server-memory-"))
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance), "PYTHONPATH": str(REPO)}
    env.pop("DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for step in (["db", "upgrade"], ["tenants", "sync"], ["demo", "load"]):
        subprocess.run(flask + step, cwd=REPO, env=env, check=True, capture_output=True, timeout=900)
    no_preload = instance / "no_preload.conf.py"
    no_preload.write_text(NO_PRELOAD.format(config=str(REPO / "gunicorn.conf.py")))
    print(measure("shared (gunicorn.conf.py)", REPO / "gunicorn.conf.py", args.workers, args.port, env), flush=True)
    print(measure("one copy per worker (preload off)", no_preload, args.workers, args.port + 1, env), flush=True)


if __name__ == "__main__":
    main()
