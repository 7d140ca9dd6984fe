"""Fixtures for the assistant: an app whose assistant answers from the demo content."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.core.db import SYSTEM, across_tenants, db


@pytest.fixture
def app(make_app):
    """The assistant reads the demo content straight from library/ and tenants/ (the same Markdown the
    knowledge base imports), which keeps these tests fast; test_kb_source.py covers the knowledge base."""
    return make_app(ASSISTANT_SOURCE="folder")


@pytest.fixture
def api(client):
    """POST to the assistant API of a tenant; returns the response."""

    def post(payload, tenant="farajaland", **kwargs):
        return client.post(f"/{tenant}/api/v1/assistant", json=payload, **kwargs)

    return post


@pytest.fixture
def stored(app):
    """Read what the assistant recorded (all tenants): stored(Turn) -> list of rows."""

    def read(model):
        with app.app_context(), across_tenants(db.session, SYSTEM):
            rows = db.session.scalars(select(model).order_by(model.id)).all()
            db.session.expunge_all()
            return rows

    return read

