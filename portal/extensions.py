"""Flask extensions, created unbound and initialised in the app factory."""
from flask import request
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
