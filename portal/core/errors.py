"""Error pages and JSON errors, localized, never a traceback."""
from __future__ import annotations

from contextlib import suppress

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.core.db import db

MESSAGES = {
    400: _l("The request could not be understood. Please check what you entered and try again."),
    401: _l("Please sign in to continue."),
    403: _l("You do not have permission to see this page."),
    404: _l("We could not find this page. It may have moved, or the address may be mistyped."),
    405: _l("This action is not allowed here."),
    409: _l("This change conflicts with another one. Please reload and try again."),
    413: _l("What you sent is too large, so nothing was saved. Go back: your browser usually keeps what you typed. Then attach smaller files, or fewer at a time."),
    415: _l("This type of content is not accepted."),
    422: _l("Some of the data sent is not valid."),
    429: _l("Too many requests. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. The team has been told; please try again shortly."),
}
TITLES = {
    400: _l("Bad request"),
    401: _l("Sign-in needed"),
    403: _l("Access denied"),
    404: _l("Page not found"),
    405: _l("Not allowed"),
    409: _l("Conflict"),
    413: _l("Too large"),
    415: _l("Unsupported content"),
    422: _l("Invalid data"),
    429: _l("Too many requests"),
    500: _l("Server error"),
}


def wants_json() -> bool:
    if "/api/" in request.path:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(code: int, message: str | None = None, **extra):
    """A localized error page or JSON error for `code`, with an optional specific message."""
    text = message or str(MESSAGES.get(code, MESSAGES[500]))
    if wants_json():
        body = {"error": {"code": code, "message": text, **extra}}
        return jsonify(body), code
    title = str(TITLES.get(code, TITLES[500]))
    if request_ctx.url_adapter is None:
        # Routing could not start (a Host outside TRUSTED_HOSTS): the page's links cannot be built.
        return Response(f"{title}\n\n{text}\n", code, mimetype="text/plain")
    return render_template("core/error.html", code=code, title=title, message=text), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        from flask_babel import gettext as _

        return error_response(400, _("Your form expired or was sent from another page. Please go back, reload and try again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        # A message given to abort(code, description=...) by our own code is shown as is.
        specific = error.description if getattr(error, "portal_message", False) else None
        response = make_response(error_response(error.code or 500, specific))
        if error.code == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        with suppress(Exception):  # the error page reads the database too (the tenant's languages)
            db.session.rollback()
        return error_response(500)


def fail(code: int, message: str):
    """Abort with a specific, already-translated message shown to the user."""
    from werkzeug.exceptions import default_exceptions

    exc = default_exceptions.get(code, InternalServerError)(description=message)
    exc.portal_message = True
    raise exc
