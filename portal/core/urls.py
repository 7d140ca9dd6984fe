"""Full addresses for links that leave the site (mail, chat messages).

Inside a request they use the request's host; in a job (outbox worker, CLI) Flask needs SERVER_NAME,
and without it there is no address to give: callers then send their message without the link.
"""
from __future__ import annotations

from urllib.parse import urljoin

from flask import current_app, has_request_context, request, url_for


def external_url(endpoint: str, **values) -> str | None:
    """`url_for(endpoint, ..., _external=True)`, or None when no host is known."""
    try:
        return url_for(endpoint, _external=True, **values)
    except RuntimeError:
        return None


def absolute_url(path: str) -> str:
    """`path` (a site-relative address) made full the same way; unchanged when no host is known."""
    if path.startswith(("http://", "https://")):
        return path
    if has_request_context():
        return urljoin(request.host_url, path)
    server = current_app.config.get("SERVER_NAME")
    if server:
        return urljoin(f"{current_app.config.get('PREFERRED_URL_SCHEME', 'http')}://{server}/", path)
    return path
