"""Pages rendered once for anonymous readers and served again while their content is unchanged.

A page may come from this cache only when nothing of the reader shapes it but what the key holds:
the reader is not signed in, and the session holds nothing but the CSRF token (no flashed message,
no assistant conversation, nor anything a later feature keeps there). The CSRF token is then the one
value of the reader in the page: the page is rendered with a marker in its place, and each reader
gets their own token in it. The key holds the path, the interface language, the tenant's row
version and a version of the content that the caller reads from the database on every request, so
an edit shows at once, in every process of every server. Each process (each app) keeps its own
copies, least recently used first out, which is safe because the key says exactly what a copy shows.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from flask import current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from portal.core.i18n import current_locale

# Random per process, so no article text can contain it by chance or on purpose.
_CSRF_MARKER = f"csrf-{secrets.token_hex(16)}"
# What a session may hold and still be anyone's: the CSRF token, and Flask-Login's freshness flag.
_NEUTRAL_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})
MAX_PAGES = 512


class _Pages:
    def __init__(self) -> None:
        self.pages: OrderedDict[tuple, str] = OrderedDict()
        self.lock = threading.Lock()


def _store() -> _Pages:
    store = current_app.extensions.get("page_cache")
    if store is None:
        store = current_app.extensions.setdefault("page_cache", _Pages())
    return store


def page_key(content_version: Callable[[], Hashable]) -> tuple | None:
    """This request's key in the cache, or None when its page must be rendered for it alone.

    `content_version` reads the version of what the page shows; it is called only when the page
    may be shared.
    """
    if request.method != "GET" or current_user.is_authenticated or not _NEUTRAL_SESSION_KEYS.issuperset(session.keys()):
        return None
    tenant = g.get("tenant")
    tenant_version = (tenant.id, tenant.updated_at) if tenant is not None else None
    return (request.endpoint, request.path, current_locale(), tenant_version, content_version())


def cached_page(key: tuple | None) -> str | None:
    """The page stored under `key`, with this reader's CSRF token in it, or None."""
    if key is None:
        return None
    store = _store()
    with store.lock:
        page = store.pages.get(key)
        if page is not None:
            store.pages.move_to_end(key)
    return None if page is None else _with_token(page)


def render_cached(key: tuple | None, template: str, **context: Any) -> str:
    """Render `template` (for request.path: query arguments must not change the page), store it under `key`."""
    if key is None:
        return render_template(template, **context)
    # The page links back to itself (language switch, sign-in) without query arguments, so that
    # it does not depend on them.
    page = render_template(template, csrf_token=lambda: _CSRF_MARKER, current_path=request.path, **context)
    store = _store()
    with store.lock:
        store.pages[key] = page
        store.pages.move_to_end(key)
        while len(store.pages) > MAX_PAGES:
            store.pages.popitem(last=False)
    return _with_token(page)


def _with_token(page: str) -> str:
    return page.replace(_CSRF_MARKER, generate_csrf()) if _CSRF_MARKER in page else page
