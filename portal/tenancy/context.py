"""Resolving the tenant from the URL prefix, once per request, and scoping the session to it."""
from __future__ import annotations

from flask import Flask, abort, g

from portal.core.db import db, set_current_tenant
from portal.tenancy.services import get_tenant


def init_app(app: Flask) -> None:
    @app.url_value_preprocessor
    def _pull_tenant(endpoint, values) -> None:
        g.tenant = None
        set_current_tenant(db.session, None)
        if values and "tenant" in values:
            tenant = get_tenant(values.pop("tenant"))
            if tenant is None:
                abort(404)
            g.tenant = tenant
            set_current_tenant(db.session, tenant.id)

    @app.url_defaults
    def _add_tenant(endpoint, values) -> None:
        tenant = g.get("tenant")
        if tenant is not None and "tenant" not in values and app.url_map.is_endpoint_expecting(endpoint, "tenant"):
            values["tenant"] = tenant.slug
