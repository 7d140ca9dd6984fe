"""Configuration read from the environment, with defaults that let a newcomer run the demo."""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

REPO_ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_DATABASES = ("sqlite", "postgresql")


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message is one line meant for the operator."""


class Config:
    """Defaults; `load_config` fills in what depends on the environment."""

    PORTAL_ENV = "development"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=30)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    UI_LOCALES = ("en", "fr", "ar")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STRATEGY = "moving-window"
    LOGIN_RATE_LIMIT = "20 per minute"
    PUBLIC_RATE_LIMIT = "120 per minute"
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    PASSWORD_RESET_MAX_AGE = 60 * 60  # seconds
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "CRVS Support <no-reply@support.localhost>"
    MAIL_SUPPRESS_SEND = False
    TENANTS_DIR = str(REPO_ROOT / "tenants")
    LIBRARY_DIR = str(REPO_ROOT / "library")
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    ATTACHMENTS_DIR = None  # default: <instance>/attachments
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    # Types accepted for ticket attachments, as detected from the content (never the file name).
    ATTACHMENT_TYPES = (
        "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
        "video/mp4", "video/webm", "video/quicktime", "text/plain",  # a phone's 3GP reads as video/mp4
        # Voice messages: WhatsApp and Telegram send Ogg/Opus; phones record AAC, AMR, MP3 or M4A.
        "audio/ogg", "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/x-wav",
    )


def _database_url(instance_path: Path) -> str:
    raw = os.environ.get("DATABASE_URL", "").strip()
    if not raw:
        return f"sqlite:///{instance_path / 'portal.sqlite3'}"
    if raw.startswith("postgres://"):  # the scheme many hosts hand out
        raw = "postgresql://" + raw[len("postgres://"):]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a valid database URL (expected e.g. postgresql://user@host/db)") from None
    if url.get_backend_name() not in SUPPORTED_DATABASES:
        raise ConfigError(
            f"DATABASE_URL uses '{url.get_backend_name()}', but only sqlite and postgresql are supported"
        )
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _secret_key(instance_path: Path, env: str) -> str:
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        if len(key) < 16:
            raise ConfigError("SECRET_KEY is too short: use at least 16 random characters")
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY must be set when PORTAL_ENV=production")
    # Development and demo: generate one key and keep it, so sessions survive a restart.
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(name: str) -> bool | None:
    """A true/false setting, None when unset; anything else is an error (a typo must not quietly
    turn HTTPS cookies off)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    if value not in _TRUE + _FALSE:
        raise ConfigError(f"{name} must be true or false")
    return value in _TRUE


def _number(name: str, values: dict, what: str, minimum: int | None = None) -> None:
    """A whole-number setting into `values` when set; ConfigError naming it, and `what` it must be, if not."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is None or (minimum is not None and number < minimum):
        raise ConfigError(f"{name} must be {what}")
    values[name] = number


# The severities of an escalation to L3 (portal.escalation.services.DEFAULT_L3_SLA_HOURS has their defaults).
L3_SEVERITIES = ("critical", "high", "medium", "low")


def _l3_sla_hours() -> dict[str, int]:
    """ESCALATION_L3_SLA_HOURS: `critical=12,high=48` (calendar hours per severity; a severity left out
    keeps its default), as {severity: hours}."""
    raw = os.environ.get("ESCALATION_L3_SLA_HOURS", "").strip()
    hours = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        severity, _, number = (text.strip() for text in pair.partition("="))
        if severity not in L3_SEVERITIES or not number.isdigit() or int(number) < 1:
            raise ConfigError(
                "ESCALATION_L3_SLA_HOURS must be severity=hours pairs separated by commas, hours a whole number "
                f"of at least 1, severities among {', '.join(L3_SEVERITIES)} (e.g. critical=24,high=72,medium=240,low=480)"
            )
        hours[severity] = int(number)
    return hours


def load_config(instance_path: Path) -> dict:
    """Read every setting that comes from the environment; raise ConfigError on a bad one."""
    env = os.environ.get("PORTAL_ENV", "development").strip() or "development"
    if env not in ("development", "production", "testing"):
        raise ConfigError("PORTAL_ENV must be one of development, production, testing")
    instance_path.mkdir(parents=True, exist_ok=True)
    values: dict = {
        "PORTAL_ENV": env,
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "SECRET_KEY": _secret_key(instance_path, env),
    }
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")
        values["REDIS_URL"] = redis_url
        values["RATELIMIT_STORAGE_URI"] = redis_url
    else:
        values["REDIS_URL"] = None
        values["RATELIMIT_STORAGE_URI"] = "memory://"
    if _flag("HTTPS"):
        values["SESSION_COOKIE_SECURE"] = True
        values["REMEMBER_COOKIE_SECURE"] = True
        values["PREFERRED_URL_SCHEME"] = "https"
    for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER", "TENANTS_DIR", "ATTACHMENTS_DIR", "HANDBOOK_CACHE_DIR", "SERVER_NAME"):
        if os.environ.get(name):
            values[name] = os.environ[name]
    _number("MAIL_PORT", values, "a number")
    _number("ATTACHMENT_MAX_BYTES", values, "a number of bytes")
    if _flag("MAIL_USE_TLS"):
        values["MAIL_USE_TLS"] = True
    hosts = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    if hosts:
        values["TRUSTED_HOSTS"] = hosts  # Flask answers 400 to a request for any other Host
    elif env == "production" and not values.get("SERVER_NAME"):
        # Links in mail (password resets, invitations) are made from the request's Host: a forged
        # Host would send a reset link, and its token, to another site.
        raise ConfigError("SERVER_NAME or TRUSTED_HOSTS must be set when PORTAL_ENV=production")
    for name in ("JOBS_SLA_CHECK_SECONDS", "JOBS_ROLLUP_SECONDS", "JOBS_GITHUB_SYNC_SECONDS"):
        _number(name, values, "a whole number of seconds", minimum=1)
    _number("TRUSTED_PROXIES", values, "the number of reverse proxies in front (0, 1, 2...)", minimum=0)
    l3_hours = _l3_sla_hours()
    if l3_hours:
        values["ESCALATION_L3_SLA_HOURS"] = l3_hours
    semantic = _flag("ASSISTANT_SEMANTIC")
    if semantic is not None:
        values["ASSISTANT_SEMANTIC"] = semantic
    return values
