"""Locale selection and helpers for translated text."""
from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask import current_app, g, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "ps", "dv", "ku", "yi", "sd"})
LOCALE_COOKIE = "lang"


def offered_locales() -> list[str]:
    """The locales a reader may choose here: the tenant's, or the interface's outside tenants."""
    tenant = g.get("tenant")
    return list(tenant.locales) if tenant else list(current_app.config["UI_LOCALES"])


def default_locale() -> str:
    tenant = g.get("tenant")
    return tenant.default_locale if tenant else current_app.config["BABEL_DEFAULT_LOCALE"]


def select_locale() -> str:
    """The reader's explicit choice, else their browser's preference, else the tenant default."""
    if not has_request_context():  # the CLI and jobs speak the interface default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    offered = offered_locales()
    choices = []
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        choices.append(current_user.locale)
    choices.append(request.cookies.get(LOCALE_COOKIE))
    for choice in choices:
        if choice in offered:
            return choice
    return request.accept_languages.best_match(offered) or default_locale()


def select_timezone() -> str | None:
    """Times on a country's pages are that country's (as the service levels count them); elsewhere,
    the central pages and jobs, UTC (Flask-Babel's default)."""
    tenant = g.get("tenant") if has_request_context() else None
    return tenant.settings.timezone if tenant is not None else None


def current_locale() -> str:
    return str(get_locale() or default_locale())


def text_direction(locale: str | None = None) -> str:
    code = (locale or current_locale()).split("_")[0]
    return "rtl" if code in RTL_LANGUAGES else "ltr"


# Dates shown to people name the month and put the day first, times count 24 hours, in every
# language: "1 Dec 2026, 09:17", "1 déc. 2026, 09:17". The numeric short formats are ambiguous
# (Babel's English writes 1 December as 12/1/26, month first, as in the United States).
DATE_SKELETON, TIME_SKELETON = "yMMMd", "Hm"
# The interface's English is international English ("1 Dec 2026"), not Babel's default, American.
_PATTERN_LOCALES = {"en": "en_001"}


@lru_cache(maxsize=64)
def date_pattern(locale: str) -> str:
    """The Babel pattern of a date in `locale`: day, month's name, year ("d MMM y" in English)."""
    return _pattern_locale(locale).datetime_skeletons[DATE_SKELETON].pattern


@lru_cache(maxsize=64)
def datetime_pattern(locale: str) -> str:
    """The Babel pattern of a date and time in `locale` ("d MMM y, HH:mm" in English)."""
    source = _pattern_locale(locale)
    glue = source.datetime_formats["medium"]
    return glue.replace("{1}", date_pattern(locale)).replace("{0}", source.datetime_skeletons[TIME_SKELETON].pattern)


def _pattern_locale(locale: str) -> Locale:
    try:
        parsed = Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):  # an unknown code still gets a date
        parsed = Locale.parse("en")
    return Locale.parse(_PATTERN_LOCALES[str(parsed)]) if str(parsed) in _PATTERN_LOCALES else parsed


def locale_name(code: str) -> str:
    """A language's own name for itself ("français"), for the switcher."""
    try:
        return Locale.parse(code).get_display_name(code).capitalize()
    except Exception:  # an unknown code still gets a label
        return code
