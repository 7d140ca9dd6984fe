"""Flask extensions, created unbound and initialised in the app factory."""
from flask import Flask, current_app, request
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from portal.core.db import db

__all__ = ["db", "migrate", "login_manager", "csrf", "babel", "limiter", "compress"]


def _client_key() -> str:
    # Behind a proxy, ProxyFix has already put the client address in remote_addr.
    return get_remote_address() or request.remote_addr or "unknown"


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()
limiter = Limiter(key_func=_client_key, default_limits=[])


def public_rate_limit() -> str:
    """The limit per client on what anyone may call without signing in and that costs the server
    work: searches, feedback, the PDF handbook, rating links (PUBLIC_RATE_LIMIT)."""
    return current_app.config["PUBLIC_RATE_LIMIT"]


def init_limiter(app: Flask) -> None:
    """Rate limits are set on the views they guard (`@limiter.limit(...)`, checked by the decorator),
    never application- or blueprint-wide. The check Flask-Limiter adds before every request applies
    only those, so it is left out: it was about a tenth of the cost of a cached article page."""
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        raise RuntimeError("rate limits go on views (@limiter.limit); application-wide limits are not checked")
    limiter.init_app(app)
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:  # not there when limits are disabled
        hooks.remove(limiter._check_request_limit)
