"""Pages rendered once for anonymous readers and served again while their content is unchanged.

A page may come from this cache only when nothing of the reader shapes it but what the key holds:
the reader is not signed in, and the session holds nothing but the CSRF token (no flashed message,
no assistant conversation, nor anything a later feature keeps there). The CSRF token is then the one
value of the reader in the page: the page is rendered with a marker in its place, and each reader
gets their own token in it. The key holds the path, the interface language, the tenant's row
version and a version of the content that the caller reads from the database on every request, so
an edit shows at once, in every process of every server. Each process (each app) keeps its own
copies, least recently used first out, which is safe because the key says exactly what a copy shows.

A GET with no Authorization header, no query string and no cookie but a session holding nothing but
the CSRF token (a first visit, or an anonymous reader coming back) has nothing of its reader in its
page but that token. Where the deployment keeps version tokens (portal.core.versions), such a page
is also kept as a *shared copy* with the tokens its request read, and `SharedPages`, in front of the
application, serves the next such request from it while those tokens are unchanged: the reader's locale is chosen from Accept-Language as the application
would, a CSRF token and its session cookie are made by Flask-WTF and Flask, and the headers by the
same functions as for any response; routing to the view, the tenant, the database session and the
other hooks are skipped, which is most of the cost of the page.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from flask import Flask, current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie

from portal.core import versions
from portal.core.i18n import current_locale, default_locale, offered_locales
from portal.core.security import secure_headers
from portal.extensions import compress

# Random, made when the module is imported (in gunicorn's master, so shared by its workers, which is
# harmless: it is never sent to anyone), so no article text can contain it by chance or on purpose.
_CSRF_MARKER = f"csrf-{secrets.token_hex(16)}"
# What a session may hold and still be anyone's: the CSRF token, and Flask-Login's freshness flag.
_NEUTRAL_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})
MAX_PAGES = 512


@dataclass(frozen=True)
class _SharedCopy:
    page: str  # with the CSRF marker
    tokens: dict[str, str]  # the version tokens its request read, by name
    read_at: float  # when those tokens were read (time.monotonic)


@dataclass
class _SharedPage:
    """The shared copies of one page (scheme, host, path), one per locale, all rendered under one
    offer of locales: a render under another offer starts the set again."""

    offered: tuple[tuple[str, ...], str]  # the locales on offer, and the default
    copies: dict[str, _SharedCopy]


class _Pages:
    def __init__(self) -> None:
        # key -> (page, when the version tokens in its key were read, or None if it holds none)
        self.pages: OrderedDict[tuple, tuple[str, float | None]] = OrderedDict()
        # (scheme, host, path) -> its shared copies
        self.shared: OrderedDict[tuple, _SharedPage] = OrderedDict()
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
    return (request.endpoint, request.script_root, request.path, current_locale(), tenant_version, content_version())


def cached_page(key: tuple | None) -> str | None:
    """The page stored under `key`, with this reader's CSRF token in it, or None."""
    if key is None:
        return None
    store = _store()
    with store.lock:
        page, read_at = store.pages.get(key) or (None, None)
        if page is not None:
            if read_at is not None and not versions.fresh(read_at):
                return None  # tokens vouch for a copy a minute at most (changes made outside the application)
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
    read = versions.seen()
    with store.lock:
        store.pages[key] = (page, read[1] if read is not None else None)
        store.pages.move_to_end(key)
        while len(store.pages) > MAX_PAGES:
            store.pages.popitem(last=False)
        if read is not None and _shareable(request.environ, current_app.config["SESSION_COOKIE_NAME"]):
            where, offered = _where(request.environ), (tuple(offered_locales()), default_locale())
            shared = store.shared.get(where)
            if shared is None or shared.offered != offered:
                shared = store.shared[where] = _SharedPage(offered, {})
            shared.copies[current_locale()] = _SharedCopy(page, *read)
            store.shared.move_to_end(where)
            while len(store.shared) > MAX_PAGES:  # any Host header makes a place: keep them bounded
                store.shared.popitem(last=False)
    return _with_token(page)


def _with_token(page: str) -> str:
    return page.replace(_CSRF_MARKER, generate_csrf()) if _CSRF_MARKER in page else page


# -- anonymous readers, served in front of the application ----------------------------------------


def _shareable(environ: dict, session_cookie: str) -> bool:
    """Nothing of the reader but their session can shape this request's page: a GET with no
    credentials, no query arguments and no cookie but the session's (whose content is checked
    once it is opened: `_NEUTRAL_SESSION_KEYS`)."""
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_AUTHORIZATION") or environ.get("QUERY_STRING"):
        return False
    header = environ.get("HTTP_COOKIE")
    return not header or set(parse_cookie(header).keys()) <= {session_cookie}


def _where(environ: dict) -> tuple[str, str, str]:
    # SCRIPT_NAME is in every link of the page, so it is part of where the page is.
    path = environ.get("SCRIPT_NAME", "") + "\0" + environ.get("PATH_INFO", "")
    return environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", ""), path


class SharedPages:
    """WSGI middleware: anonymous readers of a page that has a shared copy are answered from it (see above)."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response):
        if _shareable(environ, self.app.config["SESSION_COOKIE_NAME"]):
            response = self._from_copy(environ)
            if response is not None:
                return response(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _from_copy(self, environ: dict):
        app = self.app
        store = app.extensions.get("page_cache")
        tokens = app.extensions.get("versions")
        if store is None or tokens is None or not store.shared:
            return None
        shared = store.shared.get(_where(environ))
        if shared is None:
            return None
        locales, default = shared.offered
        accepted = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        # The offer is the tenant's: if it changed, so did the tenants' token, and the copy is refused.
        copy = shared.copies.get(accepted.best_match(locales) or default)
        if copy is None or not versions.fresh(copy.read_at) or versions.read(tokens, copy.tokens) != tuple(copy.tokens.values()):
            return None
        with app.request_context(environ):
            if not _NEUTRAL_SESSION_KEYS.issuperset(session.keys()):
                return None  # signed in, or a message waiting: the application renders for them
            response = app.response_class(_with_token(copy.page), mimetype="text/html")
            secure_headers(response)
            response = compress.after_request(response)
            app.session_interface.save_session(app, session._get_current_object(), response)
            return response
