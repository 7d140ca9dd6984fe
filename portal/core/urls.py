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


def no_host_warning() -> str | None:
    """For a long-running job process: why its links will be missing, or None when a host is set."""
    if current_app.config.get("SERVER_NAME"):
        return None
    return ("warning: SERVER_NAME is not set, so links in the mail and chat replies this process "
            "sends (to a ticket, an article, a password reset) are left out; set it to the portal's public host")
