"""Knowledge-base pages: reading, searching and printing for everyone; editing for the support team."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.auth.loaders import can, require
from portal.auth.permissions import Permission
from portal.core import page_cache
from portal.core.db import db
from portal.core.i18n import current_locale, locale_name
from portal.extensions import limiter, public_rate_limit
from portal.kb import handbook, search, services
from portal.kb.forms import ArticleForm, FeedbackForm, RevertForm
from portal.kb.models import Audience
from portal.kb.rendering import placeholder_names, readable_links, render_article, scrollable_tables, unknown_placeholders

bp = Blueprint("kb", __name__, template_folder="templates", url_prefix="/<tenant>/kb")


def register(app: Flask) -> None:
    from portal.kb import api

    app.register_blueprint(bp)
    api.register(app)


def reader_audience() -> str:
    return Audience.STAFF if can(Permission.KB_READ_STAFF) else Audience.PUBLIC


def _user():
    return current_user if current_user.is_authenticated else None


# -- reading ------------------------------------------------------------------------------------


# Articles shown per category on the help home; a category's own page shows them all.
HOME_PER_CATEGORY = 10


@bp.get("/")
def index():
    """The help home: every category with its first articles, or one category's page (`?category=`)."""
    locale = current_locale()
    categories = services.list_categories()
    groups = services.group_by_category(services.reading_list(g.tenant, locale, reader_audience()), locale, categories)
    category = request.args.get("category") or None  # "?category=" is the home
    if category is not None:
        groups = [group for group in groups if group[0] == category]
        if not groups:
            abort(404)
    return render_template("kb/index.html", groups=groups, category=category, shown=None if category else HOME_PER_CATEGORY,
                           categories=categories)


def search_page():
    locale = current_locale()
    query = request.args.get("q", "")
    # Cut to what the search log keeps (80 characters): a longer category names no category anyway,
    # and would be too long a word for PostgreSQL's full-text query.
    category = (request.args.get("category") or "")[:80] or None
    results = search.search(g.tenant, locale, query, category=category, audience=reader_audience(), limit=20, user=_user())
    db.session.commit()
    return render_template("kb/search.html", results=results, category=category, categories=services.list_categories())


bp.add_url_rule("/search", endpoint="search", view_func=limiter.limit(public_rate_limit)(search_page), methods=["GET"])


@bp.get("/articles/<slug>")
def article(slug: str):
    editor = can(Permission.KB_EDIT)
    search_id = search.search_of_token(request.args.get("sid"))
    # Anonymous readers share one rendering per version of the article (see portal.core.page_cache).
    key = None if editor else page_cache.page_key(lambda: services.article_version(slug))
    page = page_cache.cached_page(key)
    if page is None:
        view = services.get_article(g.tenant, slug, current_locale(), audience=reader_audience(), include_drafts=editor, editor=editor)
        if view is None:
            abort(404)
        readable = services.readable_slugs(g.tenant, current_locale(), reader_audience())
        page = page_cache.render_cached(key, "kb/article.html", article=view, form=FeedbackForm(), editor=editor, readable=readable)
    if search_id:
        services.record_opened(g.tenant, search_id, slug)
        db.session.commit()
    return page


@bp.post("/articles/<slug>/feedback")
@limiter.limit(public_rate_limit)
def feedback(slug: str):
    view = services.get_article(g.tenant, slug, current_locale(), audience=reader_audience())
    if view is None:
        abort(404)
    form = FeedbackForm()
    if not form.validate_on_submit():
        flash(_("Please choose yes or no."), "error")
        return redirect(url_for("kb.article", slug=slug))
    services.record_feedback(g.tenant, _user(), slug, view.locale, form.helpful.data == "yes", form.comment.data or "")
    db.session.commit()
    flash(_("Thank you for your feedback."), "success")
    return redirect(url_for("kb.article", slug=slug))


def handbook_page():
    locale = current_locale()
    return render_template("kb/handbook.html", **handbook.context(g.tenant, locale), pdf=False)


bp.add_url_rule("/handbook", endpoint="handbook", view_func=handbook_page, methods=["GET"])


@bp.get("/handbook.pdf")
@limiter.limit(public_rate_limit)
def handbook_pdf():
    # Made once per version of the content and kept (see portal.kb.handbook); a reader who has this
    # version already gets 304, without the file being made or read here.
    tenant = g.tenant
    locale = tenant.best_locale(current_locale())
    fingerprint = handbook.fingerprint(tenant, locale)
    if request.if_none_match.contains(fingerprint):
        response = Response(status=304)
        response.set_etag(fingerprint)
    else:
        book, pdf = handbook.kept_pdf(tenant, locale, fingerprint)
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="{book.filename(tenant.slug)}"'
        response.set_etag(book.fingerprint)
        response.last_modified = book.built_at
        # Answers If-Modified-Since, and a Range asked to resume a download cut off on a slow link.
        response.make_conditional(request, accept_ranges=True, complete_length=response.content_length)
    # Kept by the reader's browser but asked about each time (the answer depends on the language
    # chosen, which the URL does not show): a phone with this version downloads nothing again.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# -- editing ------------------------------------------------------------------------------------


@bp.get("/manage")
@require(Permission.KB_EDIT)
def manage():
    rows = services.managed_articles(g.tenant, current_locale())
    library = can(Permission.KB_EDIT_GENERIC)  # the generic library's drafts are its editors' work
    with_drafts = [r for r in rows if r.drafts or (library and r.library_drafts)]
    drafts_only = request.args.get("show") == "drafts"  # "Drafts in progress"
    return render_template("kb/manage.html", rows=with_drafts if drafts_only else rows, drafts_only=drafts_only, draft_count=len(with_drafts),
                           library=library)


def _category_choices(locale: str):
    return [(c.slug, c.title(locale)) for c in services.list_categories()] or [("other", _("Other"))]


def _owner(slug: str, library: bool):
    if library:
        return services.get_generic(slug)
    return services.get_local(slug) or services.get_generic(slug)


def _edit(slug: str | None, locale: str, library: bool):
    """The edit page of one locale of an article: preview without saving, keep a draft, or publish a revision."""
    tenant = g.tenant
    if locale not in tenant.locales:
        abort(404)
    owner = _owner(slug, library) if slug else None
    if slug and owner is None:
        abort(404)
    if request.method == "POST" and owner is not None and "discard_draft" in request.form:
        return _discard_draft(slug, locale, library)
    form = ArticleForm()
    form.category.choices = _category_choices(current_locale())
    pending = services.translation_draft(slug, locale, library=library) if owner is not None else None
    if request.method == "GET" and owner is not None:
        # The draft in progress, else what readers of `locale` get (a local copy without it: the
        # generic text), else the source to translate.
        generic = owner.generic if isinstance(owner, services.Article) else None
        text = (pending or owner.translation(locale) or (generic.translation(locale) if generic else None)
                or owner.translation(owner.source_locale) or (generic.translation(owner.source_locale) if generic else None))
        form.process(data={
            "title": text.title if text else "", "body": text.body if text else "",
            "tags": ", ".join(text.tags or []) if text else "", **owner.meta(),
        })
    if request.method == "GET":
        # A draft is published over the text it started from: a text published since is a conflict.
        form.base.data = pending.base if pending else services.edit_token(owner, locale)
        form.draft.data = services.draft_token(pending)
    # Chosen on the new-article page only (see `new`); an article's other pages are each one language's.
    form.locale.choices = [(code, locale_name(code)) for code in tenant.locales]
    form.locale.data = locale
    preview = None
    conflict = False
    withdrawn: list[str] = []
    existing = None  # the address name of the article a new one was named like
    if request.method == "POST" and form.validate_on_submit():
        target_slug = slug or form.slug.data
        if not target_slug:
            form.slug.errors.append(_("An address name is needed."))
        elif not slug and (services.get_local(target_slug) or services.get_generic(target_slug)):
            # A generic one too: saving would make the country's copy of it in this language only,
            # from a form that did not start from its text.
            form.slug.errors.append(_("An article with this address name exists already."))
            existing = target_slug
        else:
            draft = services.Draft(form.title.data.strip(), form.body.data or "", form.category.data, form.tag_list(), form.audience.data, form.status.data)
            if form.preview.data:
                _markdown, html, unknown = render_article(draft.body, tenant.settings.placeholder_values(locale), editor=True)
                preview = {"html": html, "unknown": unknown}
            elif form.save_draft.data:
                if owner is None:
                    abort(400)  # a new article is saved whole, its status saying whether readers get it
                conflict = not _save_draft(form, owner, locale, library, draft)
                if not conflict:
                    return redirect(kb_url("edit", library, slug=slug, locale=locale))
            else:
                conflict, withdrawn = _publish(form, target_slug, locale, library, draft)
                if not conflict:
                    return redirect(kb_url("edit", library, slug=target_slug, locale=locale))
    outdated = services.outdated_state(owner, locale) if owner is not None and owner.translation(locale) else None
    local_changes = services.local_changes(owner, locale) if not library else []
    is_copy = not library and owner is not None and not isinstance(owner, services.Article)
    return render_template(
        "kb/edit.html", form=form, slug=slug, locale=locale, library=library, preview=preview, outdated=outdated,
        makes_copy=is_copy, owner=owner, withdrawn=withdrawn, local_changes=local_changes, hidden=services.is_hidden(services.get_generic(slug)) if slug else False,
        pending=services.pending_draft(owner, locale, library=library) if owner is not None else None,
        placeholders=placeholder_names(tenant.settings.placeholder_values(locale)),
        existing=existing if existing and _owner(existing, library) is not None else None,  # linked to its page here
        existing_is_generic=bool(existing) and not library and services.get_local(existing) is None,
    ), (409 if conflict else 422 if request.method == "POST" and preview is None else 200)


def _save_draft(form: ArticleForm, owner, locale: str, library: bool, draft: services.Draft) -> bool:
    """Keep the form's text as the translation's draft; False (with the form told why) when refused."""
    try:
        kept = services.save_translation_draft(g.tenant, current_user, owner.slug, locale, draft, library=library, base=form.base.data or None,
                                               seen=form.draft.data or None)
        db.session.commit()
    except services.DraftConflict as exc:
        db.session.rollback()
        flash(str(exc), "error")
        form.draft.data = exc.token  # saving again is then deliberate
        return False
    if kept is None:
        flash(_("Your text is the same as the published one, so there is no draft to keep."), "info")
        return True
    flash(_("Your draft was saved. Readers still get the published text until you publish it."), "success")
    if owner.meta() != draft.meta():
        flash(_("Category, audience and status were not changed: they belong to the article in every language, and are saved when you publish."), "warning")
    return True


def _publish(form: ArticleForm, slug: str, locale: str, library: bool, draft: services.Draft) -> tuple[bool, list[str]]:
    """Publish the form's text as a new revision (clearing the translation's draft): (refused, languages it would withdraw)."""
    tenant = g.tenant
    base = form.base.data or None  # a form without it (a script) overwrites as before
    try:
        services.publish_translation(tenant, current_user, slug, locale, draft, note=services.NOTE_EDITED, library=library, base=base,
                                     seen=form.draft.data or None, unpublish=form.unpublish.data)
        db.session.commit()
    except services.UnpublishRefused as exc:
        db.session.rollback()
        form.status.errors.append(str(exc))
        return True, exc.locales  # the confirmation box is shown for a second save
    except services.EditConflict as exc:
        db.session.rollback()
        flash(str(exc), "error")
        form.base.data = exc.token  # saving again is then deliberate
        return True, []
    except IntegrityError:  # the same new article created by someone else at this moment
        db.session.rollback()
        form.slug.errors.append(_("An article with this address name exists already."))
        return True, []
    flash(_("The article was saved."), "success")
    unknown = [] if library else unknown_placeholders(draft.title + "\n" + draft.body, tenant.settings.placeholder_values(locale))
    if unknown:
        flash(ngettext("%(country)s has no value for %(names)s: readers see nothing in its place. Check the spelling against the list of placeholders below the text.",
                       "%(country)s has no value for %(names)s: readers see nothing in their place. Check the spelling against the list of placeholders below the text.",
                       len(unknown), country=tenant.name, names=", ".join("{{ %s }}" % name for name in unknown)), "error")
    return False, []


def _discard_draft(slug: str, locale: str, library: bool):
    """Throw the translation's draft away (the edit page's second form, posted to the same address)."""
    try:
        discarded = services.discard_translation_draft(g.tenant, current_user, slug, locale, library=library, seen=request.form.get("draft") or None)
    except services.DraftConflict as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(kb_url("edit", library, slug=slug, locale=locale))
    db.session.commit()
    if discarded:
        flash(_("The draft was discarded. Readers get the published text, as before."), "success")
    return redirect(kb_url("edit", library, slug=slug, locale=locale))


def new(library: bool):
    # The editor chooses the language (the form's choice, or ?locale= from a link), by default the
    # one they read the interface in when the country offers it.
    interface = current_locale()
    locale = request.form.get("locale") or request.args.get("locale") or (interface if interface in g.tenant.locales else g.tenant.default_locale)
    return _guard(library) or _edit(None, locale, library)


def _guard(library: bool):
    permission = Permission.KB_EDIT_GENERIC if library else Permission.KB_EDIT
    if not current_user.is_authenticated:
        from portal.extensions import login_manager

        return login_manager.unauthorized()
    if not can(permission):
        abort(403)
    return None


def _history_owner(slug: str, locale: str, library: bool):
    """The article whose history is asked for: 404 before any permission check, as for any object."""
    owner = services.get_generic(slug) if library else services.get_local(slug)
    if owner is None or locale not in g.tenant.locales:
        abort(404)
    return owner


def edit(slug: str, locale: str, library: bool):
    if _owner(slug, library) is None or locale not in g.tenant.locales:
        abort(404)
    return _guard(library) or _edit(slug, locale, library)


def history(slug: str, locale: str, library: bool):
    owner = _history_owner(slug, locale, library)
    if (denied := _guard(library)) is not None:
        return denied
    title = services.article_title(g.tenant, slug, locale) or slug
    return render_template("kb/history.html", slug=slug, title=title, locale=locale, library=library, revisions=services.revisions(owner, locale),
                           revision_note=services.revision_note)


def restore(slug: str, locale: str, number: int, library: bool):
    owner = _history_owner(slug, locale, library)
    if (denied := _guard(library)) is not None:
        return denied
    if not services.restore_revision(g.tenant, current_user, owner, locale, number):
        abort(404)
    db.session.commit()
    flash(_("Revision %(number)s was restored as a new revision.", number=number), "success")
    return redirect(kb_url("history", library, slug=slug, locale=locale))


def _bound(view, library: bool):
    @wraps(view)
    def bound(**values):
        return view(library=library, **values)

    bound.__name__ = bound.__qualname__ = ("library_" if library else "") + view.__name__
    return bound


# The tenant's articles live under /manage, the generic library under /library (platform admins):
# the same views, each registered as `kb.<name>` and `kb.library_<name>`.
for _rule, _name, _view, _methods in (
    ("/new", "new", new, ["GET", "POST"]),
    ("/<slug>/<locale>", "edit", edit, ["GET", "POST"]),
    ("/<slug>/<locale>/history", "history", history, ["GET"]),
    ("/<slug>/<locale>/restore/<int:number>", "restore", restore, ["POST"]),
):
    bp.add_url_rule("/manage" + _rule, _name, _bound(_view, False), methods=_methods)
    bp.add_url_rule("/library" + _rule, "library_" + _name, _bound(_view, True), methods=_methods)


def kb_url(name: str, library: bool, **values) -> str:
    return url_for(("kb.library_" if library else "kb.") + name, **values)


@bp.app_context_processor
def _kb_helpers():
    return {"kb_url": kb_url}


@bp.app_template_filter("scrollable_tables")
def _scrollable_tables(body_html: str) -> str:
    return scrollable_tables(body_html, lambda number: _("Table %(number)s", number=number))


bp.add_app_template_filter(readable_links, "readable_links")


@bp.post("/manage/<slug>/visibility")
@require(Permission.KB_EDIT)
def visibility(slug: str):
    hide = request.form.get("hide") == "1"
    if not services.set_hidden(g.tenant, current_user, slug, hide):
        abort(404)
    db.session.commit()
    flash(_("The article is hidden from readers.") if hide else _("The article is shown to readers again."), "success")
    linking = services.articles_linking_to(g.tenant, slug, current_locale()) if hide else []
    if linking:
        flash(ngettext("%(num)d article links to it: its readers now see that link as plain text (%(articles)s).",
                       "%(num)d articles link to it: their readers now see those links as plain text (%(articles)s).",
                       len(linking), articles=", ".join(linking)), "warning")
    return redirect(url_for("kb.manage"))


@bp.post("/manage/<slug>/revert")
@require(Permission.KB_EDIT)
def revert(slug: str):
    form = RevertForm()
    try:
        reverted = services.revert_to_generic(g.tenant, current_user, slug, confirmed=form.confirm.data)
    except services.RevertRefused as exc:
        title = services.article_title(g.tenant, slug, current_locale()) or slug
        return render_template("kb/revert.html", form=form, slug=slug, title=title, message=str(exc)), 409
    if not reverted:
        abort(404)
    db.session.commit()
    flash(_("The local copy was removed: readers see the generic article again."), "success")
    return redirect(url_for("kb.manage"))


@bp.get("/manage/<slug>/feedback")
@require(Permission.KB_EDIT)
def feedback_list(slug: str):
    if services.get_local(slug) is None and services.get_generic(slug) is None:
        abort(404)
    title = services.article_title(g.tenant, slug, current_locale()) or slug
    items = services.feedback_for(slug)
    return render_template("kb/feedback.html", slug=slug, title=title, items=items)


@bp.get("/manage/translations")
@require(Permission.KB_EDIT)
def translations():
    rows = services.translation_status(g.tenant)
    drafts = services.drafts_in_progress(g.tenant)
    by_locale = {
        loc: {"missing": [r for r in rows if loc in r.missing], "outdated": [r for r in rows if loc in r.outdated],
              "generic_text": [r for r in rows if loc in r.generic_text], "drafts": [d for d in drafts if d.locale == loc]}
        for loc in g.tenant.locales
    }
    return render_template("kb/translations.html", by_locale=by_locale)


@bp.get("/manage/materials")
@require(Permission.KB_EDIT)
def materials():
    return render_template("kb/materials.html", status=services.materials_status(g.tenant))
