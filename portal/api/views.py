"""Endpoints of `/api/v1` that belong to no single domain."""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify
from sqlalchemy import select

from portal.api.helpers import api_caller, ok, register_api_errors
from portal.api.openapi import openapi_document
from portal.auth.models import Membership
from portal.core.db import SYSTEM, across_tenants, db
from portal.extensions import csrf

bp = Blueprint("api", __name__)
register_api_errors(bp)
# The API authenticates by bearer token only (never by cookie), so there is nothing to forge.
csrf.exempt(bp)


def register(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/api/v1/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of every endpoint under /api/v1 and /<tenant>/api/v1."""
    from portal import DOMAINS

    response = jsonify(openapi_document(DOMAINS))
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/api/v1/me")
def me():
    """The token's user, with their global role and the tenants they belong to."""
    user = api_caller()
    with across_tenants(db.session, SYSTEM):  # anyone may list their own memberships
        rows = db.session.scalars(select(Membership).where(Membership.user_id == user.id))
        memberships = [{"tenant": m.tenant.slug, "role": m.role, "active": m.is_active} for m in rows]
    return ok({"email": user.email, "name": user.name, "global_role": user.global_role, "memberships": memberships})
