"""What every template can use: the tenant, the locale and its direction, the language switcher."""
from __future__ import annotations

import re

import flask_babel
from flask import Flask, g, request

from portal.core.i18n import current_locale, date_pattern, datetime_pattern, locale_name, offered_locales, text_direction

# Flask-Babel's named formats that pages show as our one readable format (see portal.core.i18n).
_READABLE_FORMATS = (None, "short", "medium")


def format_datetime(value=None, format: str | None = None, rebase: bool = True) -> str:
    """Flask-Babel's `datetimeformat` filter (the same time zone), with "short" and "medium" made
    unambiguous: "1 Dec 2026, 09:17"."""
    return flask_babel.format_datetime(value, datetime_pattern(current_locale()) if format in _READABLE_FORMATS else format, rebase)


def format_date(value=None, format: str | None = None, rebase: bool = True) -> str:
    """Flask-Babel's `dateformat` filter, with "short" and "medium" made unambiguous: "1 Dec 2026"."""
    return flask_babel.format_date(value, date_pattern(current_locale()) if format in _READABLE_FORMATS else format, rebase)


def init_app(app: Flask) -> None:
    from portal.auth.loaders import can
    from portal.auth.permissions import Permission

    # In place of Flask-Babel's own filters, which every domain's templates use.
    app.jinja_env.filters.update(datetimeformat=format_datetime, dateformat=format_date)

    @app.template_filter("whatsapp_link")
    def _whatsapp_link(number: str | None) -> str:
        """A WhatsApp number as a link that opens a chat with it ("+260 97 555 0100" → wa.me/260975550100)."""
        return "https://wa.me/" + re.sub(r"\D", "", number or "")

    @app.template_filter("phone_link")
    def _phone_link(number: str | None) -> str:
        return "tel:" + re.sub(r"[^\d+]", "", number or "")

    @app.template_filter("day_name")
    def _day_name(day: str) -> str:
        """A day of opening hours ("mon") as the reader's language names it ("lundi")."""
        from portal.tenancy.settings import day_name

        return day_name(day, current_locale())

    @app.template_filter("number")
    def _number(value: float | int | None) -> str:
        """A figure written the reader's way, without needless decimals ("8", "1,5" in French)."""
        return flask_babel.format_decimal(value, "#,##0.##") if value is not None else ""

    @app.template_filter("role_label")
    def _role_label(value: str) -> str:
        from portal.auth.permissions import ROLE_LABELS, GlobalRole, Role

        for enum in (Role, GlobalRole):
            try:
                return str(ROLE_LABELS[enum(value)])
            except ValueError:
                continue
        return value

    @app.context_processor
    def _globals():
        locale = current_locale()
        return {
            "tenant": g.get("tenant"),
            "locale": locale,
            "text_dir": text_direction(locale),
            "offered_locales": [(code, locale_name(code)) for code in offered_locales()],
            "can": can,
            "Permission": Permission,
            "current_path": _readable_path(),
            "has_endpoint": lambda name: name in app.view_functions,
        }


def _readable_path() -> str:
    """The address of this page for a link back to it (after a change of language): a page shown in
    answer to a form (a refused hand-over, say) is at an address a GET cannot read, so the link
    leads to the country's home, or the site's, instead of to a 405."""
    if not request:
        return "/"
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    try:
        request.url_adapter.match(request.path, method="GET")
    except Exception:  # no page at this address for a GET
        tenant = g.get("tenant")
        return f"/{tenant.slug}/" if tenant is not None else "/"
    return request.path
