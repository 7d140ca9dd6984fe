"""`/<tenant>/api/v1/kb`: search and read articles. Public articles need no token; staff ones do."""
from __future__ import annotations

from flask import Blueprint, Flask, g, request
from flask_babel import gettext as _

from portal.api.helpers import ApiError, int_query_arg, ok, register_api_errors
from portal.auth.loaders import bearer_user
from portal.auth.permissions import Permission
from portal.auth.services import permissions_in
from portal.core.db import db
from portal.extensions import limiter, public_rate_limit
from portal.kb import search, services
from portal.kb.models import Audience
from portal.kb.rendering import readable_links

bp = Blueprint("kb_api", __name__, url_prefix="/<tenant>/api/v1/kb")
register_api_errors(bp)


def register(app: Flask) -> None:
    from portal.extensions import csrf

    # Bearer tokens only, never cookies: there is nothing to forge.
    csrf.exempt(bp)
    app.register_blueprint(bp)


def _audience() -> str:
    user = bearer_user()
    if user is not None and Permission.KB_READ_STAFF in permissions_in(user, g.tenant):
        return Audience.STAFF
    return Audience.PUBLIC


def _locale() -> str:
    lang = request.args.get("lang") or ""
    if lang and lang not in g.tenant.locales:
        raise ApiError(400, _("Unknown language “%(lang)s”: this portal offers %(locales)s.", lang=lang, locales=", ".join(g.tenant.locales)))
    return lang or g.tenant.default_locale


@bp.get("/search")
@limiter.limit(public_rate_limit)
def search_articles():
    query = (request.args.get("q") or "").strip()
    if not query:
        raise ApiError(400, _("Give the words to search for as the parameter q."))
    limit = int_query_arg("limit", 10, 1, 50)  # "limit=abc" is a 400, not the default
    category = request.args.get("category") or None
    results = search.search(g.tenant, _locale(), query, category=category, audience=_audience(), limit=limit, user=bearer_user(), channel="api")
    db.session.commit()
    return ok({
        "results": [
            {"slug": h.slug, "title": h.title, "locale": h.locale, "snippet": str(h.snippet),
             "url": f"{h.url}?sid={results.token}" if results.search_id else h.url, "score": h.score}
            for h in results.hits
        ],
        "total": results.total,
        "total_capped": results.total_capped,
        "corrected_query": results.corrected_query,
    })


@bp.get("/articles/<slug>")
def get_article(slug: str):
    audience = _audience()
    view = services.get_article(g.tenant, slug, _locale(), audience=audience)
    if view is None:
        raise ApiError(404, _("No article “%(slug)s” here.", slug=slug))
    # Links to articles this reader cannot open read as their text, as on the article page.
    body_html = readable_links(view.body_html, services.readable_slugs(g.tenant, view.asked_locale, audience))
    return ok({
        "slug": view.slug, "title": view.title, "locale": view.locale, "body_html": body_html,
        "category": view.category, "updated_at": view.updated_at.isoformat(), "fallback": view.fallback,
    })
