"""The repository's gunicorn settings (gunicorn.conf.py): the application and the assistant's encoder
are loaded in the master before the fork, and every worker still answers and writes on its own
database connections. Run as an operator runs it: a fresh database, `db upgrade`, `tenants sync`,
then `gunicorn -w 2` from the repository root (on PostgreSQL too, with TEST_DATABASE_URL)."""
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
    for step in (["db", "upgrade"], ["tenants", "sync"]):
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
        answers = [_post(port, "/farajaland/api/v1/assistant", {"message": question})
                   for question in ["I forgot my password", "le code de vérification n'arrive pas"] * 4]
        assert all(status == 200 for status, _body in answers)
        assert {body["lang"] for _status, body in answers} == {"en", "fr"}
    finally:
        server.terminate()
        _out, errors = server.communicate(timeout=60)
    assert "could not be loaded" not in errors and "Traceback" not in errors, errors
    engine = create_engine(empty_database)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM assistant_turns")).scalar() == 9
    finally:
        engine.dispose()
