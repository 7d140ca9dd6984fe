"""Test fixtures: an app on SQLite (default) or PostgreSQL (TEST_DATABASE_URL), factories, login helper.

The schema is created once per test process; after each test every table is emptied, so tests may
commit, open several connections or run threads and still start clean.
"""
from __future__ import annotations

import os
import re
import socket
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from portal import create_app
from portal.auth import services as auth_services
from portal.auth.permissions import GlobalRole, Role
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant, sync_tenants

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@contextmanager
def throwaway_postgres_database(url: URL, name: str):
    """Create database `name` on the server of `url`, yield its URL, drop it afterwards."""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def unused_port() -> int:
    """A local port nothing listens on (the OS's choice, its socket closed again)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def until_waiting(connection, what: str, waiters: int = 1, seconds: float = 10.0) -> None:
    """Return once `waiters` other transactions wait for a lock (PostgreSQL), as a request sent
    in a thread does when `connection` holds what it needs; fail the test, naming `what`, if none
    does within `seconds`."""
    deadline = time.monotonic() + seconds
    while connection.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar() < waiters:
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not wait for the lock held")
        time.sleep(0.05)


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A new empty database of the suite's kind (SQLite file, or PostgreSQL) for one test, beside the
    suite's own: for migrations run from nothing, or a server started as an operator starts it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with throwaway_postgres_database(url, f"{url.database}_empty") as empty_url:
        yield empty_url


def fresh_database(tmp_path_factory, suffix: str = ""):
    """Yield the URL of a new empty database for this worker (SQLite file, or a PostgreSQL database
    named after TEST_DATABASE_URL's), and drop it afterwards."""
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base:
        path = tmp_path_factory.mktemp("db") / f"portal-{_worker()}{suffix}.sqlite3"
        yield f"sqlite:///{path}"
        return
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base)
    with throwaway_postgres_database(url, re.sub(r"\W", "_", f"{url.database}_{_worker()}{suffix}")) as worker_url:
        yield worker_url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    yield from fresh_database(tmp_path_factory)


def make_test_config(database_url: str, tmp_path: Path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MAIL_SUPPRESS_SEND": True,
        "SERVER_NAME": None,
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "HANDBOOK_CACHE_DIR": str(tmp_path / "handbooks"),
        # The assistant's indexes are shared by every app of a process, and a server re-reads the
        # articles' version every few seconds: each test has new articles, read at once.
        "ASSISTANT_VERSION_TTL": 0,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    app = create_app(make_test_config(database_url, tmp_path_factory.mktemp("schema")))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return True


def _empty_tables(app) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{table}"'))
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _assistant_vectors_at_once(monkeypatch):
    """A first build of the assistant's index encodes its sentence vectors in a thread, words answering
    meanwhile; tests want the same answer whichever test built the index first."""
    from portal.assistant import engine

    monkeypatch.setattr(engine, "SYNC_VECTOR_TEXTS", 10**9)


@pytest.fixture
def make_app(database_url, _schema, tmp_path):
    """Build an app on the test database with extra settings; tenants from tenants/ are loaded."""
    apps = []

    def factory(**overrides):
        app = create_app(make_test_config(database_url, tmp_path, **overrides))
        if not apps:
            with app.app_context():
                sync_tenants(REPO / "tenants")
        apps.append(app)
        return app

    yield factory
    if apps:
        _empty_tables(apps[0])
    for app in apps:  # close every pooled connection now, not when the garbage collector gets to it
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def tenant(app):
    """Farajaland, the default demo tenant (read in a fresh app context)."""
    with app.app_context():
        return get_tenant("farajaland")


@pytest.fixture
def configure_tenant(app):
    """Change one table of a tenant's settings and commit, as `tenants sync` would:
    configure_tenant("farajaland", "sla", on_breach="escalate")."""

    def change(slug, table, **values):
        with app.app_context():
            tenant = get_tenant(slug)
            tenant.config = {**tenant.config, table: {**tenant.config.get(table, {}), **values}}
            db.session.commit()

    return change


@pytest.fixture
def other_tenant(app):
    with app.app_context():
        return get_tenant("kalondo")


@pytest.fixture
def make_user(app):
    """Create a user, optionally with a role in a tenant (by slug) or a global role; returns the email."""
    counter = {"n": 0}

    def factory(email=None, password=PASSWORD, tenant="farajaland", role=Role.REQUESTER, global_role=None, name="", **fields):
        counter["n"] += 1
        email = email or f"user{counter['n']}-{uuid.uuid4().hex[:6]}@example.org"
        with app.app_context():
            user = auth_services.create_user(email, password, name=name, global_role=GlobalRole(global_role) if global_role else None)
            for key, value in fields.items():
                setattr(user, key, value)
            if tenant and role and not global_role:
                t = get_tenant(tenant)
                with tenant_scope(db.session, t.id):
                    auth_services.add_membership(t, user, Role(role))
            db.session.commit()
        return email

    return factory


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=PASSWORD, tenant="farajaland"):
        prefix = f"/{tenant}" if tenant else ""
        response = self.client.post(f"{prefix}/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def logout(self, tenant="farajaland"):
        return self.client.post(f"/{tenant}/logout" if tenant else "/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
