"""The landing page listing country portals, and each country's support home page."""
from __future__ import annotations

from flask import Blueprint, Flask, g, render_template

from portal.core.i18n import current_locale
from portal.extensions import limiter
from portal.tenancy.services import list_tenants

bp = Blueprint("tenancy", __name__, template_folder="templates")


def register(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/")
def landing():
    return render_template("tenancy/landing.html", tenants=list_tenants())


@bp.get("/health")
@limiter.exempt
def health():
    return {"status": "ok"}


@bp.get("/<tenant>/")
def home():
    tenant = g.tenant
    settings = tenant.settings
    locale = current_locale()
    whatsapp = settings.support.whatsapp
    contacts = {
        "email": settings.support.email,
        "whatsapp": whatsapp,
        "phone": settings.support.phone,
        "hours": settings.hours(locale),
        "telegram": settings.channels.telegram.bot_username if settings.channels.telegram else None,
    }
    return render_template("tenancy/home.html", contacts=contacts, settings=settings)
