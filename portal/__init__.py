"""The CRVS Support Portal: one Flask application serving many countries (tenants)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import REPO_ROOT, Config, ConfigError, load_config

__all__ = ["create_app", "ConfigError"]

# Every domain package that serves pages registers its blueprint(s) from `register(app)`.
DOMAINS = ("tenancy", "auth", "api", "tickets", "kb", "assistant", "escalation", "channels", "insights")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment (or instance config), then what a test passes."""
    instance_path = Path(os.environ.get("PORTAL_INSTANCE_PATH") or REPO_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        static_folder=str(REPO_ROOT / "static"),
        template_folder="core/templates",
    )
    app.config.from_object(Config)
    if test_config is None:
        app.config.from_mapping(load_config(instance_path))
        app.config.from_pyfile("config.py", silent=True)
    else:
        instance_path.mkdir(parents=True, exist_ok=True)
        app.config.from_mapping(test_config)
    from portal.core.page_cache import SharedPages

    app.wsgi_app = SharedPages(app, app.wsgi_app)  # inside ProxyFix: it sees the client's scheme and host
    hops = app.config.get("TRUSTED_PROXIES")  # a whole number, checked by load_config
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    _init_extensions(app)

    from portal.core import errors, security, templating
    from portal.tenancy import context

    security.init_app(app)
    errors.register_error_handlers(app)
    context.init_app(app)
    templating.init_app(app)

    import importlib

    for domain in DOMAINS:
        importlib.import_module(f"portal.{domain}.views").register(app)
    from portal.cli import register_commands

    register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    from portal.auth import loaders
    from portal.core.i18n import select_locale, select_timezone
    from portal.core import assets, versions
    from portal.extensions import babel, csrf, db, init_limiter, login_manager, migrate

    assets.init_app(app)

    db.init_app(app)
    versions.init_app(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone, default_translation_directories=str(REPO_ROOT / "translations"))
    init_limiter(app)
    login_manager.init_app(app)
    loaders.init_app(app)
