"""The repository's gunicorn settings (gunicorn.conf.py): the application, the assistant's encoder and
its indexes are made in the master before the fork, and every worker still answers and writes on its
own database connections. Run as an operator runs it: a fresh database, `db upgrade`, `tenants sync`,
the central library imported, then `gunicorn -w 2` from the repository root (on PostgreSQL too, with
TEST_DATABASE_URL)."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import REPO, unused_port


def _post(port: int, path: str, payload: dict) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", path, body=json.dumps(payload), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


@pytest.mark.slow
def test_workers_forked_from_a_loaded_master_answer_and_write(tmp_path, empty_database):
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path), "PYTHONPATH": str(REPO), "PORTAL_ENV": "development",
           "DATABASE_URL": empty_database}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for step in (["db", "upgrade"], ["tenants", "sync"], ["kb", "import", "--generic", str(REPO / "library" / "kb")]):
        subprocess.run(flask + step, cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    port = unused_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                              cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, _body = _post(port, "/farajaland/api/v1/assistant", {"message": "hello"})
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        assert status == 200
        questions = ["I forgot my password", "le code de vérification n'arrive pas"]
        first = [_post(port, "/farajaland/api/v1/assistant", {"message": question}) for question in questions * 4]
        assert all(status == 200 for status, _body in first)
        assert {body["lang"] for _status, body in first} == {"en", "fr"}
        time.sleep(3)  # whatever a worker still had to build at its first request is built by now
        later = [_post(port, "/farajaland/api/v1/assistant", {"message": question}) for question in questions * 2]
        # The first answers of each worker are the ones it gives later: the indexes and their vectors
        # came from the master (a worker building its own answered its first questions from words alone).
        for question in questions:
            seen = {(body["articles"][0]["slug"], body["confidence"])
                    for (_s, body), asked in zip(first + later, questions * 6) if asked == question}
            assert len(seen) == 1, (question, seen)
    finally:
        server.terminate()
        _out, errors = server.communicate(timeout=60)
    assert "could not be loaded" not in errors and "Traceback" not in errors, errors
    # Without Redis each worker counts the rate limits on its own: the operator is told at start.
    assert ("rate limits are counted in each worker's memory" in errors) == (not env.get("REDIS_URL")), errors
    engine = create_engine(empty_database)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM assistant_turns")).scalar() == 13
    finally:
        engine.dispose()
