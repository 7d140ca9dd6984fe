"""Knowledge-base data: the platform's generic library, and each tenant's own articles and signals.

The generic library (`GenericArticle` and its translations and revisions) belongs to the platform:
no tenant owns it. A tenant adapts it with rows of its own (`TenantScoped`): an `Article` with a
`generic_id` is a local copy (override) of a generic article, an `Article` without one is a
tenant-only article, and a `HiddenArticle` hides a generic article. What one tenant's readers see is
computed in one place: `portal.kb.services.tenant_view`.

`SearchDocument` is that view, filled with the tenant's values, materialized per slug and reader
locale for full-text search; the database-specific index over it (FTS5 on SQLite, a tsvector
table with a GIN index on PostgreSQL) is maintained by triggers made in `portal.kb.search`.

A translation's work in progress (`GenericTranslationDraft`, `ArticleTranslationDraft`) is kept in
tables of its own until it is published: nothing that serves readers reads them.
"""
from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import versions
from portal.core.db import TenantScoped, TimestampMixin, db, utcnow

if TYPE_CHECKING:
    from portal.auth.models import User


class Audience(StrEnum):
    PUBLIC = "public"
    STAFF = "staff"

    @property
    def label(self) -> str:
        return str({Audience.PUBLIC: _l("Everyone"), Audience.STAFF: _l("Support staff only")}[self])


class Status(StrEnum):
    PUBLISHED = "published"
    DRAFT = "draft"

    @property
    def label(self) -> str:
        return str({Status.PUBLISHED: _l("Published"), Status.DRAFT: _l("Draft")}[self])


class ArticleCategory(db.Model):
    """An ordered category of articles, with a title per locale (from the library's categories.yaml)."""

    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    titles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    def title(self, locale: str, fallback: str = "en") -> str:
        return self.titles.get(locale) or self.titles.get(fallback) or next(iter(self.titles.values()), self.slug)


class _ArticleMeta:
    """What an article is, whatever its locale."""

    slug: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(80), default="other")
    audience: Mapped[str] = mapped_column(String(16), default=Audience.PUBLIC.value)
    status: Mapped[str] = mapped_column(String(16), default=Status.PUBLISHED.value)
    # The locale it is written in first; other translations are outdated when it changes after them.
    source_locale: Mapped[str] = mapped_column(String(16), default="en")

    def meta(self) -> dict[str, Any]:
        return {"category": self.category, "audience": self.audience, "status": self.status}


class _TranslationText:
    """One locale of an article: title, Markdown body and the counters that detect outdated copies."""

    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    # Tags are words readers use, so each locale has its own.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision: Mapped[int] = mapped_column(default=1)
    # Revision of the source-locale translation this one was written from (None: it is the source).
    source_revision: Mapped[int | None]


class _RevisionRow:
    """A saved state of one locale of an article, with its author and time, for history and restore."""

    locale: Mapped[str] = mapped_column(String(16))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class GenericArticle(_ArticleMeta, TimestampMixin, db.Model):
    """An article of the central library, written once for every country (platform-owned)."""

    __tablename__ = "kb_generic_articles"
    __table_args__ = (UniqueConstraint("slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    translations: Mapped[list[GenericTranslation]] = relationship(
        back_populates="article", cascade="all, delete-orphan", lazy="selectin"
    )

    def translation(self, locale: str) -> GenericTranslation | None:
        return next((t for t in self.translations if t.locale == locale), None)


class GenericTranslation(_TranslationText, TimestampMixin, db.Model):
    __tablename__ = "kb_generic_translations"
    __table_args__ = (UniqueConstraint("article_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_generic_articles.id", ondelete="CASCADE"), index=True)
    article: Mapped[GenericArticle] = relationship(back_populates="translations")


class GenericRevision(_RevisionRow, db.Model):
    __tablename__ = "kb_generic_revisions"
    __table_args__ = (UniqueConstraint("article_id", "locale", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_generic_articles.id", ondelete="CASCADE"), index=True)
    author: Mapped["User | None"] = relationship()


class Article(_ArticleMeta, TenantScoped, TimestampMixin, db.Model):
    """A tenant's own article: a local copy of a generic one (`generic_id` set) or a tenant-only one."""

    __tablename__ = "kb_articles"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    generic_id: Mapped[int | None] = mapped_column(ForeignKey("kb_generic_articles.id", ondelete="SET NULL"), index=True)
    translations: Mapped[list[ArticleTranslation]] = relationship(
        back_populates="article", cascade="all, delete-orphan", lazy="selectin"
    )
    generic: Mapped[GenericArticle | None] = relationship(lazy="joined")

    @property
    def is_override(self) -> bool:
        return self.generic_id is not None

    def translation(self, locale: str) -> ArticleTranslation | None:
        return next((t for t in self.translations if t.locale == locale), None)


class ArticleTranslation(_TranslationText, TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "kb_article_translations"
    __table_args__ = (UniqueConstraint("article_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    # For a local copy: the generic translation's revision it was copied from (outdated when lower).
    upstream_revision: Mapped[int | None]
    article: Mapped[Article] = relationship(back_populates="translations")


class ArticleRevision(_RevisionRow, TenantScoped, db.Model):
    __tablename__ = "kb_article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "locale", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    author: Mapped["User | None"] = relationship()


class _DraftText:
    """The text of one locale of an article as an editor left it, not yet published.

    At most one per translation: whoever saves it next replaces it (seeing it first). Readers, search,
    the assistant, the handbook and the export read the translations only, never these rows."""

    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The `services.edit_token` of the published text the draft started from (which article, which
    # revision): publishing it over a text published since is refused until the editor has compared.
    base: Mapped[str] = mapped_column(String(40))
    # Who saved it last; `updated_at` says when.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def base_revision(self) -> int:
        """The revision of the published text the draft started from (0: the language had none)."""
        revision = self.base.partition(":")[2]
        return int(revision) if revision.isdigit() else 0


class GenericTranslationDraft(_DraftText, TimestampMixin, db.Model):
    """A central library editor's draft of one locale of a generic article."""

    __tablename__ = "kb_generic_translation_drafts"
    __table_args__ = (UniqueConstraint("article_id", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_generic_articles.id", ondelete="CASCADE"), index=True)
    author: Mapped["User | None"] = relationship()


class ArticleTranslationDraft(_DraftText, TenantScoped, TimestampMixin, db.Model):
    """A country's draft of one locale of article `slug`.

    Known by the address name, as the tenant's view is: the draft may be of a generic article the
    country has no copy of yet, and publishing it is what makes the copy."""

    __tablename__ = "kb_article_translation_drafts"
    __table_args__ = (UniqueConstraint("tenant_id", "slug", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120))
    author: Mapped["User | None"] = relationship()


class HiddenArticle(TenantScoped, db.Model):
    """A generic article a tenant chose not to show."""

    __tablename__ = "kb_hidden_articles"
    __table_args__ = (UniqueConstraint("tenant_id", "generic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    generic_id: Mapped[int] = mapped_column(ForeignKey("kb_generic_articles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ArticleFeedback(TenantScoped, db.Model):
    """A reader's answer to "Did this answer your question?"."""

    __tablename__ = "kb_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    is_helpful: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SearchLog(TenantScoped, db.Model):
    """One search, and the article opened from its results (for the insights work)."""

    __tablename__ = "kb_search_logs"
    # A country's searches of a period, with who searched: the insights read them from the index alone.
    __table_args__ = (Index("ix_kb_search_logs_tenant_time", "tenant_id", "created_at", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    locale: Mapped[str] = mapped_column(String(16))
    query: Mapped[str] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(80))
    result_count: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    opened_slug: Mapped[str | None] = mapped_column(String(120))
    opened_at: Mapped[dt.datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class SearchDocument(TenantScoped, db.Model):
    """One article as a tenant's readers of one locale see it, prepared for full-text search."""

    __tablename__ = "kb_search_documents"
    __table_args__ = (UniqueConstraint("tenant_id", "locale", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120))
    locale: Mapped[str] = mapped_column(String(16))
    content_locale: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(80))
    audience: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text, default="")
    # The tenant and reader locale as one token, so the index narrows to them inside the match.
    scope: Mapped[str] = mapped_column(String(40), index=True)
    filters: Mapped[str] = mapped_column(String(200), default="")
    # Stemmed words (SQLite indexes these) and the PostgreSQL text-search configuration.
    title_index: Mapped[str] = mapped_column(Text, default="")
    body_index: Mapped[str] = mapped_column(Text, default="")
    ts_config: Mapped[str] = mapped_column(String(40), default="simple")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SearchTerm(TenantScoped, db.Model):
    """A word found in a tenant's articles of one locale: the vocabulary that corrects typos."""

    __tablename__ = "kb_search_terms"
    __table_args__ = (UniqueConstraint("tenant_id", "locale", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    locale: Mapped[str] = mapped_column(String(16))
    term: Mapped[str] = mapped_column(String(80))


# What readers see changes with these rows: the generic library's under one version name, each
# tenant's own under another (portal.core.versions). Search rows, signals and drafts are left out.
GENERIC_CONTENT = "kb"


def tenant_content(tenant_id: int) -> str:
    return f"kb:{tenant_id}"


for _model in (GenericArticle, GenericTranslation, ArticleCategory):
    versions.watch(_model, lambda row: (GENERIC_CONTENT,))
for _model in (Article, ArticleTranslation, HiddenArticle):
    versions.watch(_model, lambda row: (tenant_content(row.tenant_id),))
