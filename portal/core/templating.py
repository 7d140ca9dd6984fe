"""What every template can use: the tenant, the locale and its direction, the language switcher."""
from __future__ import annotations

from flask import Flask, g, request

from portal.core.i18n import current_locale, locale_name, offered_locales, text_direction


def init_app(app: Flask) -> None:
    from portal.auth.loaders import can
    from portal.auth.permissions import Permission

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
            "current_path": request.full_path.rstrip("?") if request else "/",
            "has_endpoint": lambda name: name in app.view_functions,
        }
