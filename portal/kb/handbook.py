"""The printable handbook: every published public article of a tenant and locale, by category."""
from __future__ import annotations

import re
from pathlib import Path

from flask import current_app, render_template

from portal.config import REPO_ROOT
from portal.kb import services

HANDBOOK_CSS = REPO_ROOT / "static" / "css" / "handbook.css"
# A link to another article by its slug ("how-to-get-help") points inside the handbook instead.
_ARTICLE_LINK_RE = re.compile(r'href="(?:\.\./articles/)?([a-z0-9][a-z0-9-]*)(#[^"]*)?"')


def printable_html(body_html: str) -> str:
    return _ARTICLE_LINK_RE.sub(lambda m: f'href="#article-{m.group(1)}"', body_html)


def context(tenant, locale: str) -> dict:
    """What the handbook template needs: the cover's contacts, the categories and their articles."""
    locale = tenant.best_locale(locale)
    settings = tenant.settings
    views = services.tenant_view(tenant, locale)
    return {
        "handbook_locale": locale,
        "settings": settings,
        "country_name": settings.country.name,
        "app_name": settings.country.application_name,
        "contacts": {
            "whatsapp": settings.support.whatsapp, "email": settings.support.email,
            "phone": settings.support.phone, "hours": settings.hours(locale),
        },
        "groups": services.group_by_category(views, locale),
        "count": len(views),
        "printable_html": printable_html,
    }


def _no_network(url: str, timeout: int = 10, ssl_context=None):
    # The PDF is made from our own HTML: remote images are left out rather than fetched.
    raise ValueError(f"not fetched: {url}")


def render_pdf(tenant, locale: str) -> bytes:
    from weasyprint import CSS, HTML

    markup = render_template("kb/handbook.html", **context(tenant, locale), pdf=True)
    stylesheet = CSS(filename=str(HANDBOOK_CSS))
    return HTML(string=markup, base_url=str(Path(current_app.root_path)), url_fetcher=_no_network).write_pdf(stylesheets=[stylesheet])
