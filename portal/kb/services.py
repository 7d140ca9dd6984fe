"""The knowledge base's questions and state changes, for pages, the API, the CLI and the assistant.

The one answer to "which articles does this tenant show, and how" is `tenant_view`; everything
that lists, renders, searches, prints or exports articles for a tenant goes through it.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Iterator

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from portal.core import versions
from portal.core.db import current_tenant_id, db, utcnow
from portal.kb.models import (
    GENERIC_CONTENT,
    Article,
    ArticleRevision,
    ArticleTranslation,
    ArticleTranslationDraft,
    Audience,
    ArticleCategory,
    ArticleFeedback,
    GenericArticle,
    GenericRevision,
    GenericTranslation,
    GenericTranslationDraft,
    HiddenArticle,
    SearchDocument,
    SearchLog,
    Status,
    tenant_content,
)
from portal.kb.rendering import fill_placeholders, linked_articles, render_article

KIND_GENERIC, KIND_OVERRIDE, KIND_LOCAL = "generic", "override", "local"


class KbError(ValueError):
    """A request the knowledge base refuses, with a message for the user."""


class EditConflict(KbError):
    """Someone saved the article after the editor opened it: saving would overwrite their work.
    `token` is the article's state now, for a second, deliberate save."""

    def __init__(self, message: str, token: str):
        super().__init__(message)
        self.token = token


class DraftConflict(KbError):
    """The translation's draft is not the one the editor's form was made from (someone saved another,
    published or discarded it meanwhile): saving or discarding the draft would lose their work.
    `token` is the draft's state now (`draft_token`), for a second, deliberate try."""

    def __init__(self, message: str, token: str):
        super().__init__(message)
        self.token = token


class RevertRefused(KbError):
    """Dropping a local copy deletes the country's text in every language with all its revisions;
    `losses` are (locale, number of revisions). Asking again with `confirmed=True` is the editor's
    explicit confirmation (as for `UnpublishRefused`)."""

    def __init__(self, message: str, losses: list[tuple[str, int]]):
        super().__init__(message)
        self.losses = losses


class UnpublishRefused(KbError):
    """Saving as Draft would also take the published text of other languages away from readers
    (the status belongs to the article, not to one language); `locales` are those languages.
    Saving again with `unpublish=True` is the editor's explicit confirmation."""

    def __init__(self, message: str, locales: list[str]):
        super().__init__(message)
        self.locales = locales


@dataclass
class ArticleView:
    """One article as a tenant's readers of one locale see it.

    `body_markdown` has the tenant's values filled in (unknown placeholders left out),
    `body_html` is the safe rendering of it, `fallback` is true when the article is not written in
    the asked locale and is shown in the tenant's default one instead.
    """

    slug: str
    raw_title: str
    locale: str
    asked_locale: str
    category: str
    tags: list[str]
    audience: str
    status: str
    updated_at: dt.datetime
    fallback: bool
    kind: str
    raw_body: str
    values: dict[str, Any]
    tenant_slug: str
    editor: bool = False

    @cached_property
    def _rendered(self) -> tuple[str, str, list[str]]:
        return render_article(self.raw_body, self.values, editor=self.editor)

    @cached_property
    def title(self) -> str:
        return fill_placeholders(self.raw_title, self.values).text

    @property
    def body_markdown(self) -> str:
        return self._rendered[0]

    @property
    def body_html(self) -> str:
        return self._rendered[1]

    @property
    def unknown_placeholders(self) -> list[str]:
        return sorted(set(self._rendered[2]) | set(fill_placeholders(self.raw_title, self.values).unknown))

    @property
    def url(self) -> str:
        return article_path(self.tenant_slug, self.slug)


def article_path(tenant_slug: str, slug: str) -> str:
    return f"/{tenant_slug}/kb/articles/{slug}"


# -- the tenant's view of its articles --------------------------------------------------------------


def _sources(tenant, slug: str | None = None) -> Iterator[tuple[str, Article | None, GenericArticle | None]]:
    """(slug, tenant article or None, generic article or None) for every article the tenant may show."""
    generic_q = select(GenericArticle)
    local_q = select(Article)
    if slug is not None:
        generic_q = generic_q.where(GenericArticle.slug == slug)
        local_q = local_q.where(Article.slug == slug)
    generics = {g.slug: g for g in db.session.scalars(generic_q)}
    locals_ = {a.slug: a for a in db.session.scalars(local_q)}
    hidden = set(db.session.scalars(select(HiddenArticle.generic_id)))
    for key in sorted(set(generics) | set(locals_)):
        local, generic = locals_.get(key), generics.get(key)
        if local is not None and local.generic_id is None:
            yield key, local, None
        elif generic is not None and generic.id not in hidden:
            yield key, local, generic


def _build(tenant, key, local, generic, locale, *, audience, include_drafts, editor, values) -> ArticleView | None:
    # A local copy still in draft does not replace the published generic article for readers.
    if local is not None and local.generic_id is not None and local.status != Status.PUBLISHED and not include_drafts:
        local = None
    meta = local or generic
    if meta is None:
        return None
    if meta.status != Status.PUBLISHED and not include_drafts:
        return None
    if audience == Audience.PUBLIC and meta.audience != Audience.PUBLIC:
        return None
    for wanted, fallback in ((locale, False), (tenant.default_locale, True)):
        translation = (local.translation(wanted) if local else None) or (generic.translation(wanted) if generic else None)
        if translation is not None:
            break
    else:
        return None
    kind = KIND_LOCAL if generic is None else (KIND_OVERRIDE if isinstance(translation, ArticleTranslation) else KIND_GENERIC)
    return ArticleView(
        slug=key,
        raw_title=translation.title,
        locale=translation.locale,
        asked_locale=locale,
        category=meta.category,
        tags=list(translation.tags or []),
        audience=meta.audience,
        status=meta.status,
        updated_at=translation.updated_at,
        fallback=fallback,
        kind=kind,
        raw_body=translation.body,
        values=values,
        tenant_slug=tenant.slug,
        editor=editor,
    )


def tenant_view(
    tenant,
    locale: str,
    *,
    audience: str = Audience.PUBLIC,
    include_drafts: bool = False,
    editor: bool = False,
    slug: str | None = None,
) -> list[ArticleView]:
    """Every article `tenant` shows to readers of `locale`, ordered by category and title.

    Generic articles (unless hidden), replaced by the tenant's local copy where it has one, plus
    the tenant-only articles. `audience="staff"` includes staff-only articles; `include_drafts`
    (editors) includes drafts; `editor` marks unknown placeholders visibly.
    """
    locale = tenant.best_locale(locale)
    values = tenant.settings.placeholder_values(locale)
    views = []
    for key, local, generic in _sources(tenant, slug):
        view = _build(tenant, key, local, generic, locale, audience=audience, include_drafts=include_drafts, editor=editor, values=values)
        if view is not None:
            views.append(view)
    order = category_order()
    views.sort(key=lambda v: (order.get(v.category, len(order)), v.title.casefold()))
    return views


def get_article(tenant, slug: str, locale: str, *, audience: str = Audience.PUBLIC, include_drafts: bool = False, editor: bool = False) -> ArticleView | None:
    """One article of the tenant's view, or None (unknown, hidden, draft or not for this audience)."""
    views = tenant_view(tenant, locale, audience=audience, include_drafts=include_drafts, editor=editor, slug=slug)
    return views[0] if views else None


def _article_version_statement():
    by_slug = GenericArticle.slug == bindparam("slug")
    return select(
        select(GenericArticle.updated_at).where(by_slug).scalar_subquery(),
        select(HiddenArticle.id).join(GenericArticle, HiddenArticle.generic_id == GenericArticle.id).where(by_slug).scalar_subquery(),
        select(Article.updated_at).where(Article.slug == bindparam("slug")).scalar_subquery(),
        # Which other articles readers can open (its links to them are links or text): any article
        # changed, added, removed, hidden or shown again moves one of these.
        *(select(aggregate).scalar_subquery() for aggregate in (
            func.count(GenericArticle.id), func.max(GenericArticle.updated_at), func.count(Article.id), func.max(Article.updated_at),
            func.count(HiddenArticle.id), func.max(HiddenArticle.id),
        )),
    )


# Built once: it runs on every article page view.
_ARTICLE_VERSION = _article_version_statement()


def article_version(slug: str) -> tuple:
    """A value that changes whenever the tenant's view of article `slug` can change.

    Where the deployment keeps version tokens (portal.core.versions), the tokens of the generic
    library and of the tenant's own articles, with no query (the page cache lets such copies go
    after `versions.MAX_AGE`, for changes made outside the application). Elsewhere, read in one
    small query: every change to an article moves its row's `updated_at` (a translation's change
    included); a local copy comes and goes with its row (a new one has a new time), hiding with a
    row of its own. With the tenant's row version (its settings), this changes whenever
    `get_article` can answer differently; the counts and latest changes of all the articles and
    hidden ones change whenever the articles readers can open do (the page's links to them).
    """
    tokens = versions.current(GENERIC_CONTENT, tenant_content(current_tenant_id(db.session)))
    if tokens is not None:
        return tokens
    return tuple(db.session.execute(_ARTICLE_VERSION, {"slug": slug}).one())


@dataclass(frozen=True)
class ListedArticle:
    """An article as lists show it: its title, not its text."""

    slug: str
    title: str
    locale: str
    category: str
    audience: str
    fallback: bool


def reading_list(tenant, locale: str, audience: str = Audience.PUBLIC) -> list[ListedArticle]:
    """The published articles `tenant` shows readers of `locale` (as `tenant_view`, in its order),
    without their text: read in one query from the search documents, which hold each article as
    the tenant's readers of each locale see it (titles filled in), so that the help home and the
    forms that list articles do not build every article on each view."""
    locale = tenant.best_locale(locale)
    audiences = [Audience.PUBLIC.value] if audience == Audience.PUBLIC else [Audience.PUBLIC.value, Audience.STAFF.value]
    rows = db.session.execute(
        select(SearchDocument.slug, SearchDocument.title, SearchDocument.content_locale, SearchDocument.category, SearchDocument.audience)
        .where(SearchDocument.locale == locale, SearchDocument.audience.in_(audiences))
    )
    order = category_order()
    listed = [ListedArticle(slug, title, content_locale, category, audience_, content_locale != locale)
              for slug, title, content_locale, category, audience_ in rows]
    listed.sort(key=lambda a: (order.get(a.category, len(order)), a.title.casefold()))
    return listed


def readable_slugs(tenant, locale: str, audience: str = Audience.PUBLIC) -> frozenset[str]:
    """The address names of the articles readers of `locale` and `audience` can open (`reading_list`'s):
    a link to any other article is shown as its text alone (`portal.kb.rendering.article_links`)."""
    return frozenset(article.slug for article in reading_list(tenant, locale, audience))


def article_titles(tenant, locale: str, audience: str = Audience.STAFF) -> tuple[str, ...]:
    """The titles of the articles `tenant` shows readers of `locale`, in reading order."""
    return tuple(article.title for article in reading_list(tenant, locale, audience))


def iter_published_articles(tenant, locale: str, audience: str = "public") -> Iterator[ArticleView]:
    """Yield every published article `tenant` shows to readers of `locale` (public API for the assistant).

    `audience` is "public" (what anyone may read) or "staff" (public and staff-only articles).
    Each item has: `slug`, `title`, `locale` (the locale it is written in), `category`, `tags`
    (list of str), `body_markdown` (the tenant's values filled in; unknown placeholders dropped),
    `body_html` (sanitized HTML), `url` (path such as "/farajaland/kb/articles/<slug>"),
    `updated_at` (aware UTC datetime) and `fallback` (True when shown in the tenant's default
    locale because it is not written in `locale`). Must run with the session scoped to `tenant`
    (any request under `/<tenant>/`, or `tenant_scope(db.session, tenant.id)`).
    """
    yield from tenant_view(tenant, locale, audience=audience)


# -- categories ---------------------------------------------------------------------------------


def list_categories() -> list[ArticleCategory]:
    return list(db.session.scalars(select(ArticleCategory).order_by(ArticleCategory.position, ArticleCategory.slug)))


def category_order() -> dict[str, int]:
    return {slug: pos for slug, pos in db.session.execute(select(ArticleCategory.slug, ArticleCategory.position))}


def save_categories(entries: list[dict[str, Any]]) -> None:
    """Create or update the ordered categories from `[{"slug", "title": {locale: text}}]`."""
    existing = {c.slug: c for c in db.session.scalars(select(ArticleCategory))}
    for position, entry in enumerate(entries):
        category = existing.get(entry["slug"]) or ArticleCategory(slug=entry["slug"])
        category.position = position
        category.titles = dict(entry.get("title") or {})
        db.session.add(category)


def group_by_category(views: Sequence[ArticleView | ListedArticle], locale: str,
                      categories: Sequence[ArticleCategory] | None = None) -> list[tuple[str, str, list]]:
    """[(category slug, title, articles)] in category order; unknown categories last, by slug.
    `categories`: `list_categories()` when the caller has read it already."""
    titles = {c.slug: c.title(locale) for c in (list_categories() if categories is None else categories)}
    groups: dict[str, list[ArticleView]] = {}
    for view in views:
        groups.setdefault(view.category, []).append(view)
    return [(slug, titles.get(slug, slug), items) for slug, items in groups.items()]


# -- editing ------------------------------------------------------------------------------------


@dataclass
class Draft:
    """What an editor submits for one locale of an article."""

    title: str
    body: str
    category: str
    tags: list[str]
    audience: str
    status: str

    def meta(self) -> dict[str, Any]:
        return {"category": self.category, "audience": self.audience, "status": self.status}


def normalize_text(text: str) -> str:
    """`text` with one kind of line ending, "\n": browsers send "\r\n", files may have either, and
    a text that differs only by them is the same text (an export then import changes nothing)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _same_body(stored: str, submitted: str) -> bool:
    # Files end with a newline and the browser's text may not; blank lines around the text are not content.
    return normalize_text(stored).lstrip("\n").rstrip() == normalize_text(submitted).lstrip("\n").rstrip()


def _apply_meta(target, draft: Draft) -> None:
    target.category, target.audience, target.status = draft.category, draft.audience, draft.status


def _source_translation(owner):
    """(article holding it, translation) of `owner`'s source locale; a local copy may translate the generic one."""
    translation = owner.translation(owner.source_locale)
    if translation is None and isinstance(owner, Article) and owner.generic is not None:
        return owner.generic, owner.generic.translation(owner.source_locale)
    return owner, translation


def _write_translation(owner, translations, draft: Draft, locale: str, make, revision_cls, user, note: str) -> bool:
    """Write one locale of `owner` and record a revision; False when nothing changed."""
    translation = next((t for t in translations if t.locale == locale), None)
    meta_changed = owner.meta() != draft.meta()
    draft = Draft(normalize_text(draft.title), normalize_text(draft.body), draft.category, list(draft.tags), draft.audience, draft.status)
    if _same_text(translation, draft) and not meta_changed:
        return False
    _apply_meta(owner, draft)
    if translation is None:
        translation = make(locale=locale, title=draft.title, body=draft.body, tags=list(draft.tags), revision=1)
        translations.append(translation)
    else:
        translation.title, translation.body, translation.tags = draft.title, draft.body, list(draft.tags)
        translation.revision = (translation.revision or 0) + 1
    _, source = _source_translation(owner)
    translation.source_revision = None if locale == owner.source_locale or source is None else source.revision
    translation.updated_at = utcnow()
    owner.updated_at = utcnow()
    db.session.add(owner)
    db.session.flush()
    db.session.add(
        revision_cls(
            article_id=owner.id, locale=locale, number=translation.revision, title=draft.title, body=draft.body,
            meta=draft.meta() | {"tags": list(draft.tags)}, author_id=getattr(user, "id", None), note=note,
        )
    )
    return True


def edit_token(owner, locale: str) -> str:
    """What an editor's form starts from: which article (the tenant's own or the library's) at which
    revision of `locale`, or "new". Saving with it refuses to overwrite what was saved meanwhile."""
    if owner is None:
        return "new"
    translation = owner.translation(locale)
    if translation is None and isinstance(owner, Article) and owner.generic is not None:
        # A country's copy not written in this language gives its readers the generic text: an
        # editor of that language starts from it, whether the copy was made before or after.
        return edit_token(owner.generic, locale)
    return f"{_token_key(owner)}:{translation.revision if translation else 0}"


def _token_key(owner) -> str:
    """Which article an `edit_token` is of: the tenant's own or the library's, by id."""
    return f"{'g' if isinstance(owner, GenericArticle) else 'a'}{owner.id}"


def _held(model, slug: str):
    """The article `slug`, its row held until the transaction ends and read again with its
    translations, so that two editors saving at once take turns."""
    article = db.session.scalar(select(model).where(model.slug == slug).with_for_update(of=model))
    if article is not None:
        db.session.refresh(article)
    return article


def _check_base(owner, locale: str, base: str | None) -> None:
    """Refuse the save if `owner` changed in `locale` since the editor's form was made from `base`."""
    now = edit_token(owner, locale)
    if base is None or base == now:
        return
    if (name := _last_author(owner, locale)) is not None:
        message = _("%(name)s saved this article after you opened it. Your text is kept below: compare it with the saved version (History) before saving again.",
                    name=name)
    else:  # saved by a script or an import: a sentence of its own, not a name that starts it in lower case
        message = _("Someone saved this article after you opened it. Your text is kept below: compare it with the saved version (History) before saving again.")
    raise EditConflict(message, now)


def _last_author(owner, locale: str) -> str | None:
    """The name of whoever saved the latest revision of `owner` in `locale` (None: nobody signed it)."""
    latest = revisions(owner, locale)[:1] if owner is not None else []
    return latest[0].author.display_name if latest and latest[0].author else None


def withdrawn_locales(owner, draft: Draft, locale: str, locales: Sequence[str] | None = None) -> list[str]:
    """The languages other than `locale` whose published text readers lose if `draft` is saved over
    `owner`: status is the article's, not one language's, so Draft withdraws every translation of a
    published article (a local copy's readers get the generic text back). `locales`: the tenant's
    (None: the generic library's, which every country reads)."""
    if owner is None or owner.id is None or draft.status != Status.DRAFT or owner.status != Status.PUBLISHED:
        return []
    return sorted(t.locale for t in owner.translations if t.locale != locale and (locales is None or t.locale in locales))


def _check_unpublish(owner, draft: Draft, locale: str, locales: Sequence[str] | None, unpublish: bool) -> None:
    withdrawn = withdrawn_locales(owner, draft, locale, locales)
    if withdrawn and not unpublish:
        raise UnpublishRefused(
            _("The status applies to every language of the article: saving it as Draft also withdraws the published text in %(languages)s from readers. Keep it Published to save this language's text, or confirm below.",
              languages=", ".join(loc.upper() for loc in withdrawn)),
            withdrawn,
        )


def save_generic_article(user, slug: str, locale: str, draft: Draft, note: str = "", *, reindex: bool = True, base: str | None = None,
                         unpublish: bool = False) -> bool:
    """Create or update one locale of a generic article (platform admins); reindexes every tenant.

    `reindex=False` leaves the search index to the caller (bulk imports rebuild it once). `base`:
    the `edit_token` the editor's form was made with (EditConflict if the article changed since).
    `unpublish`: the editor confirmed that a Draft status withdraws the other languages too
    (UnpublishRefused otherwise, see `withdrawn_locales`).
    """
    article = _held(GenericArticle, slug)
    _check_base(article, locale, base)
    _check_unpublish(article, draft, locale, None, unpublish)
    if article is None:
        article = GenericArticle(slug=slug, source_locale=locale)
        article.translations = []
    changed = _write_translation(article, article.translations, draft, locale, GenericTranslation, GenericRevision, user, note)
    if changed and reindex:
        from portal.kb import search

        search.reindex_everywhere(slug)
    return changed


def save_article(tenant, user, slug: str, locale: str, draft: Draft, note: str = "", *, reindex: bool = True, base: str | None = None,
                 unpublish: bool = False) -> bool:
    """Create or update one locale of the tenant's article `slug` (`base`, `unpublish`: as for `save_generic_article`).

    Editing a generic article makes a local copy (override) for the tenant, remembering the
    generic revision it started from so later upstream changes flag it as outdated.
    """
    if locale not in tenant.locales:
        raise KbError("locale")
    article = _held(Article, slug)
    generic = db.session.scalar(select(GenericArticle).where(GenericArticle.slug == slug))
    _check_base(article or generic, locale, base)
    # A new local copy in draft leaves readers with the generic article: nothing is withdrawn then.
    _check_unpublish(article, draft, locale, tenant.locales, unpublish)
    if article is None:
        article = Article(slug=slug, source_locale=generic.source_locale if generic else locale, generic=generic)
        article.translations = []
    changed = _write_translation(article, article.translations, draft, locale, ArticleTranslation, ArticleRevision, user, note)
    if changed and article.generic is not None:
        upstream = article.generic.translation(locale)
        article.translation(locale).upstream_revision = upstream.revision if upstream else None
    if changed and reindex:
        from portal.kb import search

        search.reindex(tenant, slug)
    return changed


# -- drafts: one pending text per translation, kept from readers until it is published -------------


NO_DRAFT = "none"


def translation_draft(slug: str, locale: str, *, library: bool = False, for_update: bool = False):
    """The draft in progress of `locale` of article `slug`, or None: the generic library's (`library`),
    else the current tenant's (of its own article, or of a generic one it has no copy of yet).
    `for_update`: the row is held until the transaction ends, so that two editors take turns."""
    if library:
        model = GenericTranslationDraft
        query = (select(model).join(GenericArticle, model.article_id == GenericArticle.id)
                 .where(GenericArticle.slug == slug, model.locale == locale))
    else:
        model = ArticleTranslationDraft
        query = select(model).where(model.slug == slug, model.locale == locale)
    if for_update:  # read again, not taken as loaded earlier in the request
        query = query.with_for_update(of=model).execution_options(populate_existing=True)
    return db.session.scalar(query)


def draft_token(draft) -> str:
    """What an editor's form knows of a translation's draft: which one, saved when ("none": there was
    none). Saving or discarding a draft with it refuses to lose one saved meanwhile; publishing
    clears the draft it names, and only that one."""
    if draft is None:
        return NO_DRAFT
    return f"{draft.id}@{draft.updated_at.isoformat()}"


def _check_draft(current, seen: str | None) -> None:
    """Refuse if the translation's draft is not the one the editor's form was made from (`seen`;
    None: a caller without a form, such as a script, which is not checked)."""
    now = draft_token(current)
    if seen is None or seen == now:
        return
    if current is None:
        message = _("The draft of this translation was published or discarded after you opened it. Your text is kept below: compare it with the published text before saving again.")
    elif current.author is not None:
        message = _("%(name)s saved a draft of this translation after you opened it: their draft is shown on this page and your text is kept in the form. Save again to replace their draft with yours.",
                    name=current.author.display_name)
    else:
        message = _("Someone saved a draft of this translation after you opened it: their draft is shown on this page and your text is kept in the form. Save again to replace their draft with yours.")
    raise DraftConflict(message, now)


def _editable(slug: str, library: bool):
    """The article whose text an editor of `slug` starts from: the library's, or the tenant's own copy or article, else the generic one."""
    return get_generic(slug) if library else (get_local(slug) or get_generic(slug))


def save_translation_draft(tenant, user, slug: str, locale: str, draft: Draft, *, library: bool = False, base: str | None = None,
                           seen: str | None = None):
    """Keep the title, text and tags of `draft` as the pending draft of `locale` of article `slug`,
    replacing the one there was; returns it. Readers, search and the assistant keep getting the
    published text (or, for a language not written yet, another one): no revision is recorded.

    Category, audience and status are the article's, in every language: a draft leaves them as they
    are. `base`: the `edit_token` the editor's text started from (the published text now if None);
    `seen`: the `draft_token` the editor's form was made with (DraftConflict if it changed since).
    `library`: the generic library's draft (platform editors), else the tenant's. None: the text is
    the published one, so no draft is kept (and one there was is dropped)."""
    if locale not in tenant.locales:
        raise KbError("locale")
    owner = _editable(slug, library)
    if owner is None:
        raise KbError("slug")
    current = translation_draft(slug, locale, library=library, for_update=True)
    _check_draft(current, seen)
    if _same_text(_published_translation(owner, locale), draft):
        # Nothing to keep: the text is what readers get (a draft brought back to it is dropped).
        if current is not None:
            db.session.delete(current)
            db.session.flush()
        return None
    if current is None:
        current = GenericTranslationDraft(article_id=owner.id, locale=locale) if library else ArticleTranslationDraft(slug=slug, locale=locale)
    current.title, current.body, current.tags = normalize_text(draft.title), normalize_text(draft.body), list(draft.tags)
    current.base = base or edit_token(owner, locale)
    current.author_id = getattr(user, "id", None)
    current.updated_at = utcnow()
    try:
        with db.session.begin_nested():
            db.session.add(current)
    except IntegrityError:  # the translation's first draft, saved by someone else at this very moment
        _check_draft(translation_draft(slug, locale, library=library), NO_DRAFT)
        raise
    return current


def _same_text(translation, draft: Draft) -> bool:
    """Whether `draft` says what the published `translation` says (title, text and tags)."""
    return (translation is not None and _same_body(translation.body, normalize_text(draft.body))
            and (translation.title, list(translation.tags or [])) == (normalize_text(draft.title), list(draft.tags)))


def discard_translation_draft(tenant, user, slug: str, locale: str, *, library: bool = False, seen: str | None = None) -> bool:
    """Delete the pending draft of `locale` of article `slug`; False if there is none (any more).
    `seen`: as for `save_translation_draft` (a draft saved since the editor looked is not thrown away)."""
    current = translation_draft(slug, locale, library=library, for_update=True)
    if current is None:
        return False
    if seen is not None and seen != draft_token(current):
        raise DraftConflict(_("This draft was saved again after you opened the page, so it was not discarded. Check it below before discarding it."),
                            draft_token(current))
    db.session.delete(current)
    db.session.flush()
    return True


def publish_translation(tenant, user, slug: str, locale: str, draft: Draft, note: str = "", *, library: bool = False,
                        base: str | None = None, seen: str | None = None, unpublish: bool = False) -> bool:
    """Make `draft` the published text of `locale` of article `slug`, as a new revision, and clear
    the translation's pending draft if it is the one the editor's form was made from (`seen`, a
    `draft_token`); False when that text was published already.

    Saved as `save_generic_article` (`library`) or `save_article` save it, with their `base` and
    `unpublish`: a draft started before a text published since is refused (EditConflict) until its
    editor has compared them. A draft the editor did not see (saved after the form was made, or a
    caller without a form) is kept, and its own editor is shown what was published over it."""
    pending = translation_draft(slug, locale, library=library, for_update=True)
    from_draft = pending is not None and seen == draft_token(pending)
    try:
        if library:
            changed = save_generic_article(user, slug, locale, draft, note, base=base, unpublish=unpublish)
        else:
            changed = save_article(tenant, user, slug, locale, draft, note, base=base, unpublish=unpublish)
    except EditConflict as exc:
        if not from_draft:
            raise
        if (name := _last_author(_editable(slug, library), locale)) is not None:
            message = _("%(name)s published this translation after your draft was started. Compare the published text with your draft before publishing: publishing again replaces it with your text.",
                        name=name)
        else:
            message = _("Someone published this translation after your draft was started. Compare the published text with your draft before publishing: publishing again replaces it with your text.")
        raise EditConflict(message, exc.token) from None
    if from_draft:
        db.session.delete(pending)
        db.session.flush()
    return changed


def _published_translation(owner, locale: str):
    """The translation readers of `locale` get from `owner` (a local copy without one: the generic one), or None."""
    translation = owner.translation(locale)
    if translation is None and isinstance(owner, Article) and owner.generic is not None:
        translation = owner.generic.translation(locale)
    return translation


def _text_of(title: str, body: str, tags: Sequence[str] | None) -> str:
    """A translation's, a revision's or a draft's title, text and tags, as the draft's diffs show them."""
    tags = list(tags or [])
    return f"{title}\n\n{body}" + ("\n\n" + _("Tags: %(tags)s", tags=", ".join(tags)) if tags else "")


@dataclass
class PendingDraft:
    """A translation's draft as its edit page shows it, beside the text readers get now."""

    draft: GenericTranslationDraft | ArticleTranslationDraft
    published_revision: int  # of the text readers of the language get now (0: none, they get another language)
    diff: list[str]  # from the published text to the draft
    changed_since: bool  # a text was published after the draft was started
    meanwhile: list[str]  # what that changed in the published text, when the draft's start is still known

    @property
    def token(self) -> str:
        """Its `draft_token`, for discarding the draft the editor sees."""
        return draft_token(self.draft)

    @property
    def saved_relative(self) -> dt.timedelta:
        """How long ago the draft was saved, negative (the past), as Babel's `format_timedelta` reads it."""
        return self.draft.updated_at - utcnow()


def pending_draft(owner, locale: str, *, library: bool = False) -> PendingDraft | None:
    """The pending draft of `locale` of `owner` (an article as `_editable` gives it), compared with
    the published text, or None when nobody has one in progress."""
    draft = translation_draft(owner.slug, locale, library=library)
    if draft is None:
        return None
    published = _published_translation(owner, locale)
    if published is not None:
        old_label = _("published, revision %(number)s", number=published.revision)
    else:
        old_label = _("not published in %(language)s", language=locale.upper())
    published_text = _text_of(published.title, published.body, published.tags) if published else ""
    diff = _diff(published_text, _text_of(draft.title, draft.body, draft.tags), old_label, _("draft"))
    changed_since = draft.base != edit_token(owner, locale)
    meanwhile: list[str] = []
    # The draft's start, if the article it was made from (this one, or the generic one a copy was made of since) still has it.
    started_from = next((o for o in (owner, getattr(owner, "generic", None)) if o is not None and _token_key(o) == draft.base.partition(":")[0]), None)
    if changed_since and started_from is not None and published is not None:
        old = get_revision(started_from, locale, draft.base_revision) if draft.base_revision else None
        old_text = _text_of(old.title, old.body, (old.meta or {}).get("tags")) if old else ""
        meanwhile = _diff(old_text, published_text, _("revision %(number)s", number=draft.base_revision) if old else _("not published"),
                          _("revision %(number)s", number=published.revision))
    return PendingDraft(draft, published.revision if published else 0, diff, changed_since, meanwhile)


@dataclass(frozen=True)
class DraftInProgress:
    """A translation with a pending draft, as the lists of the editors' work show it."""

    slug: str
    locale: str
    title: str
    author: str | None
    updated_at: dt.datetime


def drafts_in_progress(tenant, *, library: bool = False) -> list[DraftInProgress]:
    """The translations with a pending draft, last saved first: the tenant's in its languages, or
    with `library` the generic library's."""
    from portal.auth.models import User

    model = GenericTranslationDraft if library else ArticleTranslationDraft
    slug = GenericArticle.slug if library else ArticleTranslationDraft.slug
    query = select(slug, model.locale, model.title, User, model.updated_at).select_from(model).outerjoin(User, model.author_id == User.id)
    if library:
        query = query.join(GenericArticle, GenericTranslationDraft.article_id == GenericArticle.id)
    rows = db.session.execute(query.order_by(model.updated_at.desc()))
    return [DraftInProgress(slug, locale, title, author.display_name if author else None, updated_at)
            for slug, locale, title, author, updated_at in rows if locale in tenant.locales]


def revert_to_generic(tenant, user, slug: str, *, confirmed: bool = False) -> bool:
    """Drop the tenant's local copy of a generic article (its history goes with it); False if there is none.

    Without `confirmed`, refuses with what would be lost (RevertRefused): one click must not
    throw away a country's work in every language."""
    article = db.session.scalar(select(Article).where(Article.slug == slug, Article.generic_id.is_not(None)))
    if article is None:
        return False
    if not confirmed:
        losses = copy_revisions(article)
        # Written out before the sentence: Babel's extractor cannot read a call inside another's arguments.
        languages = ", ".join(ngettext("%(language)s (%(num)d revision)", "%(language)s (%(num)d revisions)", count, language=locale.upper())
                              for locale, count in losses)
        raise RevertRefused(
            _("Using the generic article deletes your country's text of this article in %(languages)s, with its history: readers get the generic text in every language again. This cannot be undone.",
              languages=languages),
            losses,
        )
    # Deleted here, not left to ON DELETE CASCADE: SQLite enforces no foreign key unless asked, and
    # a later copy that gets the same id there would meet these revisions.
    db.session.execute(delete(ArticleRevision).where(ArticleRevision.article_id == article.id))
    db.session.delete(article)
    db.session.flush()
    from portal.kb import search

    search.reindex(tenant, slug)
    return True


def copy_revisions(article: Article) -> list[tuple[str, int]]:
    """(locale, number of revisions) of each language the tenant's `article` has, by locale."""
    counts = dict(db.session.execute(
        select(ArticleRevision.locale, func.count()).where(ArticleRevision.article_id == article.id).group_by(ArticleRevision.locale)).all())
    return [(t.locale, counts.get(t.locale, 0)) for t in sorted(article.translations, key=lambda t: t.locale)]


def set_hidden(tenant, user, slug: str, hidden: bool) -> bool:
    generic = db.session.scalar(select(GenericArticle).where(GenericArticle.slug == slug))
    if generic is None:
        return False
    row = db.session.scalar(select(HiddenArticle).where(HiddenArticle.generic_id == generic.id))
    if hidden and row is None:
        db.session.add(HiddenArticle(generic_id=generic.id, user_id=getattr(user, "id", None)))
    elif not hidden and row is not None:
        db.session.delete(row)
    db.session.flush()
    from portal.kb import search

    search.reindex(tenant, slug)
    return True


# -- editor's reading: sources, history, outdated copies -----------------------------------------


def article_title(tenant, slug: str, locale: str) -> str | None:
    """The title an editor knows an article by, hidden or in draft too: in `locale`, else in the
    tenant's default locale, with the tenant's values filled in; None for an unknown article."""
    local, generic = get_local(slug), get_generic(slug)
    if local is not None and local.generic_id is None:
        generic = None  # the tenant's own article, not a copy of the generic one of that name
    owners = [o for o in (local, generic) if o is not None]
    translation = next((o.translation(loc) for loc in (locale, tenant.default_locale) for o in owners if o.translation(loc)), None)
    if translation is None:
        return None
    return fill_placeholders(translation.title, tenant.settings.placeholder_values(locale)).text


def get_generic(slug: str) -> GenericArticle | None:
    return db.session.scalar(select(GenericArticle).where(GenericArticle.slug == slug))


def get_local(slug: str) -> Article | None:
    return db.session.scalar(select(Article).where(Article.slug == slug))


def is_hidden(generic: GenericArticle | None) -> bool:
    if generic is None:
        return False
    return db.session.scalar(select(HiddenArticle.id).where(HiddenArticle.generic_id == generic.id)) is not None


# A revision's note is stored in English, the source language of the interface, and shown in the
# reader's language (`revision_note`): editors of every language read the same history.
NOTE_EDITED = "edited in the browser"
NOTE_IMPORTED = "import"
NOTE_RESTORED = "restored revision {number}"
_RESTORED_RE = re.compile(r"restored revision (\d+)")


def revision_note(note: str) -> str:
    """A revision's `note` in the current language; a note written by someone (a script) as written."""
    if note == NOTE_EDITED:
        return _("edited in the browser")
    if note == NOTE_IMPORTED:
        return _("imported from files")
    if (restored := _RESTORED_RE.fullmatch(note)) is not None:
        return _("restored revision %(number)s", number=int(restored.group(1)))
    # Notes saved before they were stored in English are in the language of whoever saved them.
    if note in _translations_of_edited():
        return _("edited in the browser")
    return note


def _translations_of_edited() -> set[str]:
    translations = set()
    for locale in current_app.config["UI_LOCALES"]:
        with force_locale(locale):
            translations.add(_("edited in the browser"))
    return translations


def revisions(owner, locale: str) -> list:
    cls = GenericRevision if isinstance(owner, GenericArticle) else ArticleRevision
    return list(db.session.scalars(select(cls).where(cls.article_id == owner.id, cls.locale == locale).order_by(cls.number.desc())))


def get_revision(owner, locale: str, number: int):
    cls = GenericRevision if isinstance(owner, GenericArticle) else ArticleRevision
    return db.session.scalar(select(cls).where(cls.article_id == owner.id, cls.locale == locale, cls.number == number))


def restore_revision(tenant, user, owner, locale: str, number: int) -> bool:
    """Save the text of revision `number` of `owner` in `locale` again, as a new revision.

    Only that language's text and tags come back: category, audience and status belong to the
    article, and restoring one language's old draft must not withdraw the others from readers."""
    revision = get_revision(owner, locale, number)
    if revision is None:
        return False
    draft = Draft(title=revision.title, body=revision.body, tags=list((revision.meta or {}).get("tags") or []), **owner.meta())
    note = NOTE_RESTORED.format(number=number)
    if isinstance(owner, GenericArticle):
        return save_generic_article(user, owner.slug, locale, draft, note)
    return save_article(tenant, user, owner.slug, locale, draft, note)


@dataclass
class Outdated:
    """A copy written from an older state of its source, with what changed there since."""

    slug: str
    locale: str
    reason: str  # "upstream": the generic article changed; "source": the source-locale translation changed
    since: int
    current: int
    diff: list[str]


def _diff(old: str, new: str, old_label: str, new_label: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm=""))


def outdated_state(owner, locale: str) -> Outdated | None:
    """Whether `owner`'s `locale` is outdated (its generic source or its source locale changed)."""
    translation = owner.translation(locale)
    if translation is None:
        return None
    if isinstance(owner, Article) and owner.generic is not None and translation.upstream_revision is not None:
        upstream = owner.generic.translation(locale)
        if upstream is not None and upstream.revision > translation.upstream_revision:
            old = get_revision(owner.generic, locale, translation.upstream_revision)
            diff = _diff(old.body if old else "", upstream.body, f"r{translation.upstream_revision}", f"r{upstream.revision}")
            return Outdated(owner.slug, locale, "upstream", translation.upstream_revision, upstream.revision, diff)
    if translation.source_revision is not None:
        holder, source = _source_translation(owner)
        if source is not None and source.revision > translation.source_revision:
            old = get_revision(holder, owner.source_locale, translation.source_revision)
            diff = _diff(old.body if old else "", source.body, f"r{translation.source_revision}", f"r{source.revision}")
            return Outdated(owner.slug, locale, "source", translation.source_revision, source.revision, diff)
    return None


def generic_text_locales(article: Article | None, locales: Sequence[str]) -> list[str]:
    """The `locales` whose readers still get the generic text of `article`, a local copy the country
    wrote in other languages only: its changes have not reached them (empty for any other article)."""
    if article is None or article.generic is None or not article.translations:
        return []
    return [loc for loc in locales if article.translation(loc) is None and article.generic.translation(loc) is not None]


@dataclass
class LocalChange:
    """What a country changed in one language of its local copy, from the generic text it copied."""

    locale: str
    diff: list[str]


def local_changes(owner, locale: str) -> list[LocalChange]:
    """For the `locale` page of a local copy whose readers of `locale` still get the generic text
    (`generic_text_locales`): the country's changes in its other languages, to bring into this one."""
    if not isinstance(owner, Article) or locale not in generic_text_locales(owner, [locale]):
        return []
    changes = []
    for translation in sorted(owner.translations, key=lambda t: t.locale):
        copied = get_revision(owner.generic, translation.locale, translation.upstream_revision) if translation.upstream_revision else None
        old = f"{copied.title}\n\n{copied.body}" if copied else ""
        label = f"{translation.locale}: generic r{translation.upstream_revision}" if copied else f"{translation.locale}: generic"
        diff = _diff(old, f"{translation.title}\n\n{translation.body}", label, f"{translation.locale}: local r{translation.revision}")
        changes.append(LocalChange(translation.locale, diff))
    return changes


@dataclass
class TranslationRow:
    slug: str
    title: str
    kind: str
    missing: list[str]
    outdated: list[str]
    # Locales served from the generic text though the country changed the article in another one.
    generic_text: list[str] = field(default_factory=list)


def outdated_articles(tenant) -> dict[str, tuple[str, list[str]]]:
    """{slug: (title, [outdated locales])}: the rows of `translation_status` that have outdated
    locales (the articles the tenant may show, drafts and staff ones included; a locale is outdated
    as `outdated_state` says; the title is the first translation's, local copy first), read from the
    few columns it needs instead of whole articles with their bodies, revisions and diffs (for the
    insights dashboard, which only lists them)."""
    generics = {slug: (gid, source) for gid, slug, source in db.session.execute(
        select(GenericArticle.id, GenericArticle.slug, GenericArticle.source_locale))}
    generic_ids = {gid for gid, _source in generics.values()}
    locals_ = {slug: (aid, gid, source) for aid, slug, gid, source in db.session.execute(
        select(Article.id, Article.slug, Article.generic_id, Article.source_locale))}
    hidden = set(db.session.scalars(select(HiddenArticle.generic_id)))
    # (article id, locale) -> (revision, source revision, upstream revision), and the titles of each
    # article for the first one. Read in no particular order, as the articles' `translations` are
    # (the databases give the rows of one article in their physical order either way).
    generic_texts: dict = {}
    generic_titles: dict[int, list[str]] = defaultdict(list)
    for aid, locale, title, revision, source_revision in db.session.execute(
        select(GenericTranslation.article_id, GenericTranslation.locale, GenericTranslation.title, GenericTranslation.revision,
               GenericTranslation.source_revision)
    ):
        generic_texts.setdefault((aid, locale), (revision, source_revision, None))
        generic_titles[aid].append(title)
    local_texts: dict = {}
    local_titles: dict[int, list[str]] = defaultdict(list)
    for aid, locale, title, revision, source_revision, upstream_revision in db.session.execute(
        select(ArticleTranslation.article_id, ArticleTranslation.locale, ArticleTranslation.title, ArticleTranslation.revision,
               ArticleTranslation.source_revision, ArticleTranslation.upstream_revision)
    ):
        local_texts.setdefault((aid, locale), (revision, source_revision, upstream_revision))
        local_titles[aid].append(title)

    def outdated(texts, aid, source_locale, generic_id, locale) -> bool:
        """`portal.kb.services.outdated_state` of one locale of an article (generic_id: of a local copy)."""
        translation = texts.get((aid, locale))
        if translation is None:
            return False
        _revision, source_revision, upstream_revision = translation
        if generic_id is not None and upstream_revision is not None:
            upstream = generic_texts.get((generic_id, locale))
            if upstream is not None and upstream[0] > upstream_revision:
                return True
        if source_revision is not None:
            source = texts.get((aid, source_locale))
            if source is None and generic_id is not None:
                source = generic_texts.get((generic_id, source_locale))
            if source is not None and source[0] > source_revision:
                return True
        return False

    out = {}
    for key in sorted(set(generics) | set(locals_)):
        local, generic = locals_.get(key), generics.get(key)
        if local is not None and local[1] is None:
            generic = None
        elif generic is None or generic[0] in hidden:
            continue
        owners = []  # (texts, titles, id, source locale, generic id of a local copy)
        if local is not None:
            aid, gid, source = local
            owners.append((local_texts, local_titles, aid, source, gid if gid in generic_ids else None))
        if generic is not None:
            owners.append((generic_texts, generic_titles, generic[0], generic[1], None))
        locales = sorted({loc for texts, _titles, aid, source, gid in owners for loc in tenant.locales if outdated(texts, aid, source, gid, loc)})
        if locales:
            title = next((t for _texts, titles, aid, *_rest in owners for t in titles.get(aid, ())), key)
            out[key] = (title, locales)
    return out


def translation_status(tenant) -> list[TranslationRow]:
    """Per article of the tenant (drafts and staff included): the locales missing, outdated, and
    still served from the generic text of an article the country changed in other locales."""
    rows = []
    for key, local, generic in _sources(tenant):
        owners = [o for o in (local, generic) if o is not None]
        present = {t.locale for o in owners for t in o.translations}
        missing = [loc for loc in tenant.locales if loc not in present]
        outdated = sorted({loc for o in owners for loc in tenant.locales if outdated_state(o, loc)})
        first = next((t.title for o in owners for t in o.translations), key)
        kind = KIND_LOCAL if generic is None else (KIND_OVERRIDE if local is not None else KIND_GENERIC)
        generic_text = generic_text_locales(local, tenant.locales) if generic is not None else []
        if missing or outdated or generic_text:
            rows.append(TranslationRow(key, first, kind, missing, outdated, generic_text))
    return rows


@dataclass
class MaterialsStatus:
    unknown: list[tuple[str, str, list[str]]]  # (slug, locale, names)
    outdated: list[Outdated]
    missing: list[TranslationRow]
    hidden: list[str]
    # (slug, locale, slug of the article it links to): links their readers get as plain text.
    dead_links: list[tuple[str, str, str]] = field(default_factory=list)


def _written_articles(tenant) -> Iterator[ArticleView]:
    """Every article of the tenant (drafts and staff ones included) in each language it is written in."""
    for locale in tenant.locales:
        for view in tenant_view(tenant, locale, audience=Audience.STAFF, include_drafts=True):
            if not view.fallback:
                yield view


def articles_linking_to(tenant, slug: str, locale: str) -> list[str]:
    """The titles (in `locale` where written in it) of the tenant's articles that link to article `slug`."""
    titles: dict[str, str] = {}
    for view in _written_articles(tenant):
        if view.slug != slug and slug in linked_articles(view.body_html) and (view.slug not in titles or view.locale == locale):
            titles[view.slug] = view.title
    return list(titles.values())


def materials_status(tenant) -> MaterialsStatus:
    """What a tenant should fix in its materials: unknown placeholders, outdated copies, gaps, and links
    to articles their readers cannot open (hidden, in draft, for staff only, or unknown)."""
    unknown, dead_links = [], []
    readable = {(locale, audience): readable_slugs(tenant, locale, audience) for locale in tenant.locales for audience in Audience}
    for view in _written_articles(tenant):
        if view.unknown_placeholders:
            unknown.append((view.slug, view.locale, view.unknown_placeholders))
        can_open = readable[(view.asked_locale, view.audience)]
        dead_links.extend((view.slug, view.locale, target) for target in linked_articles(view.body_html) if target not in can_open)
    outdated = []
    for local in db.session.scalars(select(Article).order_by(Article.slug)):
        for translation in local.translations:
            state = outdated_state(local, translation.locale)
            if state is not None:
                outdated.append(state)
    hidden_ids = select(HiddenArticle.generic_id)
    hidden = list(db.session.scalars(select(GenericArticle.slug).where(GenericArticle.id.in_(hidden_ids)).order_by(GenericArticle.slug)))
    return MaterialsStatus(unknown, outdated, translation_status(tenant), hidden, dead_links)


@dataclass
class ManagedArticle:
    slug: str
    title: str
    kind: str
    status: str
    audience: str
    category: str
    hidden: bool
    locales: list[str]
    outdated: list[str]
    helpful: int
    not_helpful: int
    # The locales with a draft in progress: the tenant's, and the generic library's.
    drafts: list[str] = field(default_factory=list)
    library_drafts: list[str] = field(default_factory=list)


def managed_articles(tenant, locale: str) -> list[ManagedArticle]:
    """Every article an editor of the tenant can act on, hidden generic ones included."""
    counts = feedback_counts()
    drafts: dict[tuple[bool, str], set[str]] = defaultdict(set)
    for library in (False, True):
        for pending in drafts_in_progress(tenant, library=library):
            drafts[(library, pending.slug)].add(pending.locale)
    hidden_ids = set(db.session.scalars(select(HiddenArticle.generic_id)))
    generics = {g.slug: g for g in db.session.scalars(select(GenericArticle))}
    locals_ = {a.slug: a for a in db.session.scalars(select(Article))}
    rows = []
    for key in sorted(set(generics) | set(locals_)):
        local, generic = locals_.get(key), generics.get(key)
        if local is not None and local.generic_id is None:
            generic = None
        meta = local or generic
        owners = [o for o in (local, generic) if o is not None]
        translation = next((o.translation(loc) for loc in (locale, tenant.default_locale) for o in owners if o.translation(loc)), None)
        title = translation.title if translation else key
        kind = KIND_LOCAL if generic is None else (KIND_OVERRIDE if local is not None else KIND_GENERIC)
        outdated = sorted({loc for o in owners for loc in tenant.locales if outdated_state(o, loc)})
        yes, no = counts.get(key, (0, 0))
        rows.append(
            ManagedArticle(
                key, title, kind, meta.status, meta.audience, meta.category, generic is not None and generic.id in hidden_ids,
                sorted({t.locale for o in owners for t in o.translations} & set(tenant.locales)), outdated, yes, no,
                sorted(drafts[(False, key)]), sorted(drafts[(True, key)]) if generic is not None else [],
            )
        )
    order = category_order()
    rows.sort(key=lambda r: (order.get(r.category, len(order)), r.title.casefold()))
    return rows


# -- feedback and search log ---------------------------------------------------------------------


def record_feedback(tenant, user, slug: str, locale: str, is_helpful: bool, comment: str = "") -> ArticleFeedback:
    feedback = ArticleFeedback(slug=slug, locale=locale, is_helpful=is_helpful, comment=comment.strip()[:2000], user_id=getattr(user, "id", None))
    db.session.add(feedback)
    db.session.flush()
    return feedback


def feedback_counts() -> dict[str, tuple[int, int]]:
    """{slug: (helpful, not helpful)} for the current tenant."""
    rows = db.session.execute(select(ArticleFeedback.slug, ArticleFeedback.is_helpful, func.count()).group_by(ArticleFeedback.slug, ArticleFeedback.is_helpful))
    counts: dict[str, list[int]] = {}
    for slug, helpful, n in rows:
        counts.setdefault(slug, [0, 0])[0 if helpful else 1] += n
    return {k: (v[0], v[1]) for k, v in counts.items()}


def feedback_for(slug: str) -> list[ArticleFeedback]:
    return list(db.session.scalars(select(ArticleFeedback).where(ArticleFeedback.slug == slug).order_by(ArticleFeedback.created_at.desc())))


def record_opened(tenant, search_id: int | None, slug: str) -> None:
    """Note that the reader of search `search_id` opened `slug` (first opening only)."""
    if not search_id:
        return
    log = db.session.get(SearchLog, search_id)
    if log is not None and log.opened_slug is None:
        log.opened_slug, log.opened_at = slug, utcnow()


