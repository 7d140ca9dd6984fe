"""How a request finds its user (session cookie, or a bearer token for the API) and its rights."""
from __future__ import annotations

from functools import wraps

from flask import Flask, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.models import User
from portal.auth.permissions import Permission
from portal.auth.services import permissions_in, user_for_api_token, user_for_sign_in
from portal.core.errors import error_response, wants_json
from portal.extensions import login_manager


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(session_id: str) -> User | None:
        return user_for_sign_in(session_id)

    @login_manager.unauthorized_handler
    def _unauthorized():
        if wants_json():
            return error_response(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def bearer_user() -> User | None:
    """The user of the request's `Authorization: Bearer` token; the API reads only this, never cookies."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        g.api_user = user_for_api_token(token) if token else None
    return g.api_user


def current_permissions() -> frozenset[Permission]:
    if "permissions" not in g:
        g.permissions = permissions_in(current_user, g.get("tenant"))
    return g.permissions


def can(permission: Permission) -> bool:
    return permission in current_permissions()


def require(permission: Permission):
    """View decorator: sign-in needed, then `permission` in the current tenant (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not can(permission):
                return error_response(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
