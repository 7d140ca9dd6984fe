"""Helpers every API view uses: who is calling (bearer token only), JSON bodies and errors."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import g, jsonify, request
from flask_babel import gettext as _

from portal.auth.loaders import bearer_user
from portal.auth.permissions import Permission
from portal.auth.services import permissions_in
from portal.core.errors import error_response


class ApiError(Exception):
    def __init__(self, code: int, message: str, **extra: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def api_caller(permission: Permission | None = None):
    """The token's user; raises ApiError 401 without a valid token, 403 without `permission`."""
    user = bearer_user()
    if user is None:
        raise ApiError(401, _("A valid API token is needed: send it as “Authorization: Bearer <token>”."))
    if permission is not None and permission not in permissions_in(user, g.get("tenant")):
        raise ApiError(403, _("Your token does not allow this."))
    return user


# A JSON body larger than this is refused before it is read: the longest thing an API takes is a
# message of 20,000 characters (files come as multipart forms, with their own limit).
MAX_JSON_BYTES = 256 * 1024


def json_body() -> dict[str, Any]:
    """The request's JSON object, or ApiError 400 (413 when too large) with a clear message."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise ApiError(413, _("The body is too large: send at most %(kb)s KB.", kb=MAX_JSON_BYTES // 1024))
    request.max_content_length = MAX_JSON_BYTES  # a body sent without its length is cut off there too
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    return data


def query_arg(name: str, allowed: Iterable[str] | None = None) -> str | None:
    """A query parameter given at most once (None when absent), from `allowed` if given; else ApiError 400."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ApiError(400, _("Give “%(name)s” only once.", name=name))
    value = values[0] if values else None
    if value is not None and allowed is not None and value not in allowed:
        raise ApiError(400, _("“%(name)s” must be one of: %(values)s.", name=name, values=", ".join(v or '""' for v in allowed)))
    return value


def int_query_arg(name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter from `low` to `high` (`default` when absent); else ApiError 400."""
    raw = query_arg(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ApiError(400, _("“%(name)s” must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high))
    return int(raw)


def register_api_errors(bp) -> None:
    @bp.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error_response(error.code, error.message, **error.extra)


def ok(payload: Any, status: int = 200):
    return jsonify(payload), status
