"""The printable handbook: every published public article of a tenant and locale, by category.

Its PDF takes WeasyPrint several seconds (laying out and drawing some sixty pages of text), so it is
made once per version of what it shows and kept as a file (`cached_pdf`), which every later request,
of any process or server that sees the folder, sends as it is.

A file is named by the *fingerprint* of what it was made from: the handbook's HTML (the tenant's
articles, settings and interface words in that locale), the stylesheet, WeasyPrint's version and
`BUILD`. A change to any of them gives another name, so a file is never stale, and the fingerprint
is also the response's ETag. Working the fingerprint out takes rendering the HTML (tens of
milliseconds); each process keeps it while the version tokens of the generic library, the tenant's
own articles and the tenants are unchanged (portal.core.versions, as the article pages and the search
vocabulary do), so a request for a handbook already made reads a few tokens and sends a file.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Collection

from flask import current_app, render_template
from flask_babel import force_locale

from portal.config import REPO_ROOT
from portal.core import versions
from portal.kb import services
from portal.kb.models import GENERIC_CONTENT, tenant_content
from portal.kb.rendering import article_links
from portal.tenancy.models import TENANTS

HANDBOOK_CSS = REPO_ROOT / "static" / "css" / "handbook.css"
# Change it when the PDF is made differently in a way the HTML does not show (WeasyPrint options):
# every handbook is then made again.
BUILD = "2"
# Seconds after which a half-written file left by a process that died is removed.
_STALE_PART = 3600


def printable_html(body_html: str, slugs: Collection[str]) -> str:
    """An article's HTML for the handbook: a link to another article of the handbook (`slugs`) points
    at it inside the handbook; a link to one the handbook leaves out (hidden, draft, staff only)
    keeps its text without the link, rather than an anchor to nothing."""
    return article_links(body_html, lambda slug, _fragment: f"#article-{slug}" if slug in slugs else None)


def context(tenant, locale: str) -> dict:
    """What the handbook template needs: the cover's contacts, the categories and their articles."""
    locale = tenant.best_locale(locale)
    settings = tenant.settings
    views = services.tenant_view(tenant, locale)
    in_handbook = {view.slug for view in views}
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
        "printable_html": lambda body_html: printable_html(body_html, in_handbook),
    }


def pdf_markup(tenant, locale: str) -> str:
    """The HTML the PDF is made from, wholly in `locale` (one of the tenant's): articles and interface words."""
    with force_locale(locale):
        return render_template("kb/handbook.html", **context(tenant, locale), pdf=True)


def _no_network(url: str, timeout: int = 10, ssl_context=None):
    # The PDF is made from our own HTML: remote images are left out rather than fetched.
    raise ValueError(f"not fetched: {url}")


def write_pdf(markup: str) -> bytes:
    """Lay `markup` out with the handbook's stylesheet, as PDF (the slow part: seconds)."""
    from weasyprint import CSS, HTML

    stylesheet = CSS(string=HANDBOOK_CSS.read_text(encoding="utf-8"))
    document = HTML(string=markup, base_url=str(Path(current_app.root_path)), url_fetcher=_no_network)
    return document.write_pdf(stylesheets=[stylesheet])


def render_pdf(tenant, locale: str) -> bytes:
    """The handbook of `tenant` in `locale` as PDF, made now (`cached_pdf` keeps it)."""
    return write_pdf(pdf_markup(tenant, tenant.best_locale(locale)))


# -- the files --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handbook:
    """A handbook's PDF on disk: its file, its fingerprint (the ETag) and when it was made."""

    path: Path
    fingerprint: str
    locale: str
    built_at: dt.datetime

    def read(self) -> bytes:
        return self.path.read_bytes()

    def filename(self, tenant_slug: str) -> str:
        return f"{tenant_slug}-handbook-{self.locale}.pdf"


@lru_cache(maxsize=1)
def _weasyprint_version() -> str:
    # From the package's metadata: importing WeasyPrint takes seconds, and a handbook already made needs none of it.
    return importlib.metadata.version("weasyprint")


def _fingerprint_of(markup: str) -> str:
    digest = hashlib.sha256()
    for part in (BUILD, _weasyprint_version(), HANDBOOK_CSS.read_text(encoding="utf-8"), markup):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:40]


def fingerprint(tenant, locale: str) -> str:
    """The fingerprint of the handbook `tenant` shows in `locale` now (one of the tenant's locales)."""
    names = (GENERIC_CONTENT, tenant_content(tenant.id), TENANTS)
    return versions.kept("handbook", (tenant.id, locale), names, lambda: _fingerprint_of(pdf_markup(tenant, locale)))


def cache_folder(tenant) -> Path:
    """Where the tenant's handbooks are kept: HANDBOOK_CACHE_DIR (default `<instance>/handbooks`), one
    folder per tenant. Servers that share it make each handbook once; servers that do not, once each."""
    root = current_app.config.get("HANDBOOK_CACHE_DIR") or Path(current_app.instance_path) / "handbooks"
    return Path(root) / str(tenant.id)


def _file(folder: Path, locale: str, fingerprint_: str) -> Path:
    return folder / f"{locale}-{fingerprint_}.pdf"


def _found(path: Path, fingerprint_: str, locale: str) -> Handbook | None:
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return Handbook(path, fingerprint_, locale, dt.datetime.fromtimestamp(int(mtime), dt.timezone.utc))


def cached_pdf(tenant, locale: str, known: str | None = None) -> Handbook:
    """The PDF of the handbook `tenant` shows in `locale` now, made (and kept) if no process has made it.

    `known` is its fingerprint when the caller has it already. One process at a time makes a given
    tenant's handbook in a locale; the others wait for it, then send its file.
    """
    locale = tenant.best_locale(locale)
    known = known or fingerprint(tenant, locale)
    folder = cache_folder(tenant)
    found = _found(_file(folder, locale, known), known, locale)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with _only_one_maker(folder, locale):
        markup = pdf_markup(tenant, locale)
        # Read again: the content may have changed since the fingerprint was kept (outside the
        # application, within versions.MAX_AGE); the HTML read now is what is made and named.
        actual = _fingerprint_of(markup)
        path = _file(folder, locale, actual)
        found = _found(path, actual, locale)  # made by another process while this one waited
        if found is None:
            _write_whole(path, write_pdf(markup))
            _remove_others(folder, locale, keep=path)
            found = _found(path, actual, locale)
    assert found is not None
    return found


def kept_pdf(tenant, locale: str, known: str | None = None) -> tuple[Handbook, bytes]:
    """`cached_pdf` and its bytes. A file another server replaced (and removed) between finding it
    and reading it is made again, for the version there is now."""
    book = cached_pdf(tenant, locale, known)
    try:
        return book, book.read()
    except FileNotFoundError:
        book = cached_pdf(tenant, locale)
        return book, book.read()


@contextmanager
def _only_one_maker(folder: Path, locale: str):
    # An advisory lock on a file beside the handbooks: the other processes of this server (and of
    # servers sharing the folder, where the file system supports it) wait instead of making it too.
    with open(folder / f".{locale}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_whole(path: Path, data: bytes) -> None:
    """Write to a temporary file, then rename it: readers see no file or the whole of it."""
    part = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        with open(part, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _remove_others(folder: Path, locale: str, keep: Path) -> None:
    """Remove the older handbooks of this locale (a process may still be sending one: on POSIX it
    keeps reading it), and parts that a process that died left."""
    for path in folder.glob(f"{locale}-*.pdf"):
        if path != keep:
            path.unlink(missing_ok=True)
    for part in folder.glob(".*.part"):
        try:
            if time.time() - part.stat().st_mtime > _STALE_PART:
                part.unlink(missing_ok=True)
        except FileNotFoundError:
            pass


def build_all(tenant) -> list[Handbook]:
    """Make (or find) the handbook of every locale of `tenant`, as the first reader would."""
    return [cached_pdf(tenant, locale) for locale in tenant.locales]
