"""Security headers on every response, and Secure cookies whenever the request came over HTTPS."""
from __future__ import annotations

import re

from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.routing import IntegerConverter

from portal.core.db import MAX_ROW_ID

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


_DEFAULT_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_SECURE_RE = re.compile(r";\s*secure\s*(;|$)", re.IGNORECASE)


class SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure under HTTPS even when the configuration does not force it,
    and builds the cookie's signer once per secret key instead of twice per request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))

    def save_session(self, app: Flask, session, response) -> None:
        super().save_session(app, session, response)
        # Saved after every after_request hook: the cookies set there (Flask-Login's remember-me
        # token, which reads only REMEMBER_COOKIE_SECURE) are Secure under HTTPS too.
        if request and request.is_secure:
            cookies = response.headers.getlist("Set-Cookie")
            if any(not _SECURE_RE.search(cookie) for cookie in cookies):
                response.headers.setlist("Set-Cookie", [c if _SECURE_RE.search(c) else f"{c}; Secure" for c in cookies])

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = app.extensions.get("session_serializer")
        if cached is None or cached[0] != keys:
            cached = app.extensions["session_serializer"] = (keys, super().get_signing_serializer(app))
        return cached[1]


def storable(text: str, limit: int | None = None) -> str:
    """`text` as every database keeps it: NUL characters dropped, a lone surrogate (half an emoji)
    replaced by U+FFFD, and cut to `limit` characters. For what comes from outside unchecked (a
    webhook's fields, a mail's decoded text)."""
    text = str(text or "").replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text[:limit] if limit is not None else text


def _unstorable(value, depth: int = 0) -> bool:
    """True if `value` holds text no database column can keep: NUL characters or lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if depth > 32:
        return True
    if isinstance(value, dict):
        return any(_unstorable(k, depth + 1) or _unstorable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v, depth + 1) for v in value)
    return False


def keeps_raw_body(view):
    """Mark a webhook view: the text it carries is cleaned where it is read (`storable`), not
    refused at the door, since its sender would not send a refused event again."""
    view.keeps_raw_body = True
    return view


class RowIdConverter(IntegerConverter):
    """`<int:...>` in our routes is a row id: a number too large for the database matches no route
    (a 404) instead of reaching a query that the database refuses (a 500)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):  # noqa: A002  (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.url_map.converters["int"] = RowIdConverter

    @app.before_request
    def _refuse_unstorable_text():
        # PostgreSQL refuses NUL characters in text; refuse them for every database, with a clear 400.
        # A webhook is not refused (`keeps_raw_body`): a channel stores its raw body as it came, and
        # what is read from it is cleaned (`storable`), since a provider does not send a refused
        # event again. A body nested deeper than the parser goes is refused all the same.
        from flask_babel import gettext as _

        from portal.core.errors import error_response

        view = app.view_functions.get(request.endpoint or "")
        # Every value of a repeated field, not only the first: a view may read them all (getlist).
        values = [v for _key, vs in request.args.lists() for v in vs] if request.query_string else []
        if request.mimetype in _FORM_TYPES:
            values.extend(v for _key, vs in request.form.lists() for v in vs)
        elif request.is_json:
            try:
                values.append(request.get_json(silent=True))
            except RecursionError:  # nested deeper than the parser goes: no sender of ours writes that
                return error_response(400, _("The request body is nested too deeply."))
        if not getattr(view, "keeps_raw_body", False) and any(_unstorable(v) for v in values):
            return error_response(400, _("The request contains characters that are not allowed (such as a NUL character)."))

    @app.after_request
    def _headers(response):
        return secure_headers(response)


def secure_headers(response):
    """The security and caching headers every response carries (in a request context)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in _DEFAULT_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # The session cookie is set after these hooks: a session changed now (a new CSRF token,
        # say) means the response will carry one, and no shared cache may keep it.
        personal = request.cookies or session.modified or "Set-Cookie" in headers
        headers["Cache-Control"] = "no-store" if personal else "no-cache"
    return response
