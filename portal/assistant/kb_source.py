"""The knowledge base as the assistant's document source (tenant overrides, hidden and tenant-only
articles respected, because the knowledge base decides what a tenant publishes)."""
from __future__ import annotations

import hashlib
import time
from typing import Any, Hashable, Iterable

from portal.assistant.sources import Document, settings_stamp
from portal.kb import services as kb  # ImportError until the knowledge base exists: FolderSource is used

VERSION_TTL = 5.0  # seconds between two checks of the knowledge base's version stamp


class KbSource:
    key: Hashable = ("kb",)

    def __init__(self, ttl: float = VERSION_TTL):
        self.ttl = ttl
        self._stamps: dict[tuple[int, str], tuple[float, Hashable]] = {}

    def documents(self, tenant: Any, locale: str) -> Iterable[Document]:
        return list(kb.iter_published_articles(tenant, locale, audience="public"))

    def version(self, tenant: Any, locale: str) -> Hashable:
        key = (tenant.id, locale)
        now = time.monotonic()
        cached = self._stamps.get(key)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        # Bodies are rendered lazily by the knowledge base, so listing slugs and dates stays cheap.
        digest = hashlib.sha1()
        for article in kb.iter_published_articles(tenant, locale, audience="public"):
            digest.update(f"{article.slug}|{article.locale}|{article.updated_at}\n".encode())
        stamp = (tenant.id, settings_stamp(tenant), digest.hexdigest())
        self._stamps[key] = (now, stamp)
        return stamp
