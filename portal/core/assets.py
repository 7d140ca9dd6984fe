"""Static files for slow links: compressed responses, and versioned static URLs cached for a year.

`url_for('static', filename=...)` gets `?v=<content hash>` added, so a changed file gets a new URL and
browsers may keep every versioned file without asking again. A request without the current version
(an old page, a hand-typed URL) is only cached briefly, and revalidated.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, request

STATIC_MAX_AGE = 365 * 24 * 3600
UNVERSIONED_MAX_AGE = 300
# Text responses worth compressing; images and archives are compressed already.
COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/problem+json",
    "image/svg+xml",
]


def _hasher(static_folder: Path):
    versions: dict[str, tuple[float, str]] = {}

    def version(filename: str) -> str | None:
        path = static_folder / filename
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        known = versions.get(filename)
        if known is None or known[0] != mtime:  # recomputed only when the file changes
            known = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
            versions[filename] = known
        return known[1]

    return version


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    from portal.extensions import compress

    compress.init_app(app)
    static_version = _hasher(Path(app.static_folder))

    @app.url_defaults
    def _version_static_urls(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            version = static_version(values.get("filename", ""))
            if version:
                values["v"] = version

    # Registered after Flask-Compress, so this runs before it (Flask runs these hooks in reverse).
    @app.after_request
    def _static_cache(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            _read_into_memory(response)
            filename = (request.view_args or {}).get("filename", "")
            if request.args.get("v") and request.args.get("v") == static_version(filename):
                response.cache_control.public = True
                response.cache_control.max_age = STATIC_MAX_AGE
                response.cache_control.immutable = True
                response.cache_control.no_cache = None
            else:
                response.cache_control.public = True
                response.cache_control.max_age = UNVERSIONED_MAX_AGE
        return response


def _read_into_memory(response) -> None:
    """Static files here are small: send them whole, so they are compressed in one piece and the file is
    closed now (Flask-Compress would otherwise wrap the open file in a generator that never closes it)."""
    if not response.is_streamed:
        return
    body = response.response
    response.direct_passthrough = False
    response.get_data()
    if hasattr(body, "close"):
        body.close()
