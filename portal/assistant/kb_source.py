"""The knowledge base as the assistant's document source (tenant overrides, hidden and tenant-only
articles respected, because the knowledge base decides what a tenant publishes)."""
from __future__ import annotations

import time
from typing import Any, Hashable, Iterable

from sqlalchemy import func, select

from portal.assistant.sources import Document, settings_stamp
from portal.core.db import db
from portal.kb import services as kb  # ImportError until the knowledge base exists: FolderSource is used
from portal.kb.models import Article, ArticleTranslation, GenericArticle, GenericTranslation, HiddenArticle

VERSION_TTL = 5.0  # seconds between two checks of the knowledge base's version stamp


class KbSource:
    def __init__(self, ttl: float = VERSION_TTL):
        self.ttl = ttl
        self.key: Hashable = ("kb", ttl)  # sources with another freshness must not share an index cache
        self._stamps: dict[tuple[int, str], tuple[float, Hashable]] = {}

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
