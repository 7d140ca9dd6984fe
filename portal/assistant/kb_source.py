"""The knowledge base as the assistant's document source (tenant overrides, hidden and tenant-only
articles respected, because the knowledge base decides what a tenant publishes)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Hashable, Iterable

from sqlalchemy import func, select

from portal.assistant.examples import Example, examples_file, read_examples
from portal.assistant.sources import Document, settings_stamp
from portal.core.db import db
from portal.kb import services as kb  # ImportError until the knowledge base exists: FolderSource is used
from portal.kb.models import Article, ArticleTranslation, GenericArticle, GenericTranslation, HiddenArticle

VERSION_TTL = 5.0  # seconds between two checks of the knowledge base's version stamp


class KbSource:
    def __init__(self, ttl: float = VERSION_TTL, tenants_dir: Path | str | None = None):
        self.ttl = ttl
        self.tenants_dir = Path(tenants_dir) if tenants_dir else None
        self.key: Hashable = ("kb", ttl)  # sources with another freshness must not share an index cache
        self._stamps: dict[tuple[int, str], tuple[float, Hashable]] = {}

    # -- examples (portal.assistant.examples): the tenant's file, then what was learned or added here --

    def _examples_file(self, tenant: Any) -> Path | None:
        if self.tenants_dir is None:
            return None
        path = examples_file(self.tenants_dir, tenant.slug)
        return path if path.is_file() else None

    def examples(self, tenant: Any) -> Iterable[Example]:
        from portal.assistant.models import Example as Row

        path = self._examples_file(tenant)
        found = read_examples(path) if path else []
        rows = db.session.execute(select(Row.slug, Row.locale, Row.question).order_by(Row.id)).all()
        return found + [Example(slug, locale, question) for slug, locale, question in rows]

    def examples_version(self, tenant: Any) -> Hashable:
        """Changes when the file or the stored examples change; checked at most every `ttl` seconds."""
        from portal.assistant.models import Example as Row

        key = (tenant.id, "examples")
        now = time.monotonic()
        cached = self._stamps.get(key)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        path = self._examples_file(tenant)
        stamp = (tenant.id, path.stat().st_mtime_ns if path else None,
                 tuple(db.session.execute(select(func.count(Row.id), func.max(Row.id), func.sum(Row.id))).one()))
        self._stamps[key] = (now, stamp)
        return stamp

    def documents(self, tenant: Any, locale: str) -> Iterable[Document]:
        return list(kb.iter_published_articles(tenant, locale, audience="public"))

    def version(self, tenant: Any, locale: str) -> Hashable:
        """Changes whenever an article the tenant may show, its hiding or the tenant's settings change.

        Read from the knowledge base's tables in a few aggregate queries (the tenant's own rows are
        filtered by the session's tenant scope), so checking costs the same with 40 articles or 10,000;
        it may change for an edit that changes nothing the assistant sees, which only costs a rebuild.
        Each app process checks at most every `ttl` seconds, so several servers all catch up.
        """
        key = (tenant.id, locale)
        now = time.monotonic()
        cached = self._stamps.get(key)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        rows = []
        for model in (GenericArticle, GenericTranslation, Article, ArticleTranslation):
            rows.append(tuple(db.session.execute(
                select(func.count(model.id), func.max(model.updated_at), func.sum(model.id))).one()))
        hidden = select(func.count(HiddenArticle.id), func.max(HiddenArticle.id), func.sum(HiddenArticle.generic_id))
        rows.append(tuple(db.session.execute(hidden).one()))
        stamp = (tenant.id, settings_stamp(tenant), tuple(rows))
        self._stamps[key] = (now, stamp)
        return stamp
