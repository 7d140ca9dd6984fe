"""The web chat (a page, and a panel on every tenant page) and `POST /<tenant>/api/v1/assistant`."""
from __future__ import annotations

import threading

from flask import Blueprint, Flask, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.api.helpers import ApiError, json_body, register_api_errors
from portal.assistant import services
from portal.assistant.engine import render_markdown
from portal.assistant.forms import AskForm, ExampleForm, HandoverForm, RemoveExampleForm
from portal.auth.loaders import bearer_user, can, require
from portal.auth.permissions import Permission
from portal.core.db import db, row_id
from portal.core.errors import error_response, fail, wants_json
from portal.core.i18n import current_locale
from portal.extensions import csrf, limiter, public_rate_limit
from portal.tickets.services import TicketError

bp = Blueprint("assistant", __name__, template_folder="templates")
register_api_errors(bp)
SESSION_KEY = "assistant"  # {tenant slug: conversation key} of this browser's conversations
_warm_up_lock = threading.Lock()


def register(app: Flask) -> None:
    app.config.setdefault("ASSISTANT_RATE_LIMIT", "30 per minute")
    app.config.setdefault("ASSISTANT_ANSWERER", "retrieval")
    app.config.setdefault("ASSISTANT_SOURCE", "auto")  # "kb" (the knowledge base) or "folder" (Markdown files)
    app.config.setdefault("ASSISTANT_VERSION_TTL", 5.0)  # seconds between checks that the articles changed
    app.config.setdefault("ASSISTANT_SEMANTIC", True)  # sentence vectors beside words (see assistant.semantic)
    app.config.setdefault("ASSISTANT_EXAMPLES", True)  # rank by the questions articles are known to answer (assistant.examples)
    # Build the indexes in the background when a process serves its first request (not at import, so
    # that CLI commands and forking servers start no thread); tests turn it on where they need it.
    app.config.setdefault("ASSISTANT_WARM_UP", not app.testing)
    app.register_blueprint(bp)
    app.before_request(_warm_up_once)
    app.jinja_env.filters.setdefault("assistant_markdown", render_markdown)
    app.add_template_global(_recent_turns, "assistant_recent_turns")
    app.add_template_global(lambda: services.support_contacts(g.tenant, current_locale()), "assistant_contacts")


def _warm_up_once() -> None:
    app = current_app._get_current_object()
    if app.config["ASSISTANT_WARM_UP"] and "assistant_warm_up" not in app.extensions:
        with _warm_up_lock:
            if "assistant_warm_up" not in app.extensions:
                app.extensions["assistant_warm_up"] = services.warm_up(app)


def _recent_turns(limit: int = 3) -> list:
    """The last turns of this browser's conversation, for the panel on other pages."""
    tenant = g.get("tenant")
    conversation = _conversation(tenant) if tenant is not None else None
    return conversation.turns[-limit:] if conversation else []


def _handover_form(**kwargs) -> HandoverForm:
    # Prefixed ids: the form sits on pages (sign-in, profile) that have their own "email" field.
    return HandoverForm(prefix="handover", **kwargs)


def _rate_limit() -> str:
    return current_app.config["ASSISTANT_RATE_LIMIT"]


def _tenant():
    tenant = g.tenant
    if not tenant.settings.assistant.enabled:
        fail(404, _("The assistant is not available for this country."))
    return tenant


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _may_hand_over() -> bool:
    """Anyone not signed in may ask for a person (leaving a way to reply); a signed-in user only if
    they may open requests here, as on the new request page (a deactivated member may not)."""
    return _user() is None or can(Permission.TICKETS_OPEN)


def _hand_over_refusal(tenant) -> str:
    return _("Your account cannot open requests in %(country)s. Ask your administrator for access, or contact the support team directly.",
             country=tenant.name)


def _conversation(tenant):
    return services.find_conversation(tenant, session.get(SESSION_KEY, {}).get(tenant.slug))


def _remember(tenant, key: str | None) -> None:
    keys = dict(session.get(SESSION_KEY, {}))
    if key:
        keys[tenant.slug] = key
    else:
        keys.pop(tenant.slug, None)
    session[SESSION_KEY] = keys


@bp.route("/<tenant>/assistant", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"])
def chat():
    """The chat page; a POST asks a question (from this page, the panel, or a script)."""
    tenant = _tenant()
    form = AskForm()
    conversation = _conversation(tenant)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                ongoing = conversation is not None and conversation.ticket_id is None  # one passed on is done
                reply = services.answer_question(tenant, form.message.data, channel="web", user=_user(),
                                                 conversation_id=conversation.key if ongoing else None,
                                                 hint=current_locale())
            except services.AssistantError as error:
                form.message.errors = [str(error)]
            else:
                _remember(tenant, reply.conversation_id)
                conversation = _conversation(tenant)
                turn = conversation.turns[-1]
                reference = None
                if turn.asked_for_person and _user() is not None and not _may_hand_over():
                    flash(_hand_over_refusal(tenant), "error")
                elif turn.asked_for_person and _user() is not None:
                    # "Talk to a person" typed by someone whose address is known: passed on at once,
                    # as on WhatsApp, instead of a promise that waits for a button.
                    try:
                        reference = services.hand_over(tenant, conversation.key, user=_user()).reference
                    except (services.AssistantError, TicketError) as error:
                        flash(str(error), "error")
                    else:
                        if not wants_json():
                            flash(_("Your conversation has been passed to the support team as request %(reference)s. "
                                    "A person will reply to you.", reference=reference), "success")
                if wants_json():
                    html = render_template("assistant/_turn.html", turn=turn, contacts=reply.contacts, last=True,
                                           conversation=conversation, handed_over_as=reference,
                                           handover_form=_handover_form(formdata=None))
                    return jsonify({"html": html, "conversation_id": reply.conversation_id, "handoff": reply.handoff})
                return redirect(url_for("assistant.chat", _anchor="latest"))
        status = 400
        if wants_json():
            return error_response(400, " ".join(str(e) for e in form.message.errors) or None)
    return render_template("assistant/chat.html", form=form, conversation=conversation,
                           contacts=services.support_contacts(tenant, current_locale()),
                           handover_form=_handover_form(formdata=None)), status


@bp.post("/<tenant>/assistant/solved")
def solved():
    """"This solved it" for this browser's conversation."""
    tenant = _tenant()
    conversation = _conversation(tenant)
    if conversation is None:
        return _feedback(_("There is no conversation to close yet: ask a question first."), "warning", 400)
    services.mark_solved(tenant, conversation.key)
    return _feedback(_("Thank you! We are glad it helped."), "success")


@bp.post("/<tenant>/assistant/handover")
@limiter.limit(public_rate_limit)  # anyone may call it, and it opens a ticket
def handover():
    """"Talk to a person": the conversation and its transcript go to the support team."""
    tenant = _tenant()
    if not _may_hand_over():
        return _feedback(_hand_over_refusal(tenant), "error", 403)
    conversation = _conversation(tenant)
    if conversation is None:
        return _feedback(_("There is no conversation to pass on yet: ask a question first."), "warning", 400)
    form = _handover_form()
    if not form.validate():
        errors = [str(e) for field in (form.name, form.email, form.phone) for e in field.errors]
        return _handover_refused(tenant, conversation, form, " ".join(errors))
    try:
        ticket = services.hand_over(tenant, conversation.key, user=_user(), name=form.name.data or "",
                                    email=form.email.data or "", phone=form.phone.data or "")
    except (services.AssistantError, TicketError) as error:
        return _handover_refused(tenant, conversation, form, str(error))
    # The page keeps showing the conversation passed on; the next question starts a new one (`chat`).
    return _feedback(_("Your conversation has been passed to the support team as request %(reference)s. "
                       "A person will reply to you.", reference=ticket.reference), "success")


@bp.post("/<tenant>/assistant/new")
def restart():
    """Start a new conversation (the old one stays recorded)."""
    _remember(_tenant(), None)
    return redirect(url_for("assistant.chat"))


def _handover_refused(tenant, conversation, form: HandoverForm, message: str):
    """A hand-over that cannot go yet: the reason, and (without JavaScript) the chat page again with
    the form open and what was typed in it, not an empty form folded away."""
    if wants_json():
        return error_response(400, message)
    flash(message, "error")
    return render_template("assistant/chat.html", form=AskForm(formdata=None), conversation=conversation,
                           contacts=services.support_contacts(tenant, current_locale()), handover_form=form, handover_open=True), 400


def _feedback(message: str, category: str, status: int = 200):
    if wants_json():
        if status >= 400:
            return error_response(status, message)
        return jsonify({"message": message})
    flash(message, category)
    return redirect(url_for("assistant.chat", _anchor="latest"))


# -- JSON API ------------------------------------------------------------------------------------------


@bp.post("/<tenant>/api/v1/assistant")
@csrf.exempt
@limiter.limit(_rate_limit)
def api_ask():
    """Ask a question, no token needed (one may be sent to be recorded as the asker).

    Body: {"message": str (1-2000 characters), "lang": optional locale, "conversation_id": optional,
    from an earlier reply}. Reply: {"conversation_id", "answer" (Markdown text, or null when the
    assistant abstains), "articles": [{"slug", "title", "url"}], "confidence" (0-1), "handoff"
    (true: offer a person), "lang", "note" (e.g. the article was not in the asked language)}.
    Rate-limited per client address (ASSISTANT_RATE_LIMIT); errors are JSON with a message.
    """
    tenant = _tenant()
    if request.headers.get("Authorization") and bearer_user() is None:
        raise ApiError(401, _("This API token is not valid."))
    data = json_body()
    lang, key = data.get("lang"), data.get("conversation_id")
    if lang is not None and (not isinstance(lang, str) or not lang.strip() or len(lang) > 16):
        raise ApiError(400, _("“lang” must be a language code such as “en” or “fr”."))
    if key is not None and not isinstance(key, str):
        raise ApiError(400, _("“conversation_id” must be the string returned by an earlier answer."))
    try:
        reply = services.answer_question(tenant, data.get("message"), lang=lang, conversation_id=key,
                                         channel="api", user=bearer_user())
    except services.AssistantError as error:
        raise ApiError(400, str(error)) from None
    except services.ConversationNotFound:
        raise ApiError(404, _("There is no conversation with this id.")) from None
    return jsonify({
        "conversation_id": reply.conversation_id,
        "answer": reply.answer,
        "articles": [a._asdict() for a in reply.articles],
        "confidence": reply.confidence,
        "handoff": reply.handoff,
        "lang": reply.lang,
        "note": reply.note,
    })


# -- examples: the questions each article is known to answer (editors of the knowledge base) -------


def _article_title(slug: str) -> str | None:
    from portal.kb.services import article_title

    return article_title(g.tenant, slug, current_locale())


@bp.route("/<tenant>/assistant/examples", methods=["GET", "POST"])
@require(Permission.KB_EDIT)
def examples():
    """The questions the assistant knows each article answers: learned when an answer solved a
    question, or added here. `?article=<slug>`: one article's, with a form to add one; without it,
    all of them, with a form to add a question no article answers (a known gap)."""
    tenant = _tenant()
    slug = (request.args.get("article") or "").strip()[:200]
    title = _article_title(slug) if slug else None
    if slug and title is None:
        return error_response(404)
    form = ExampleForm(locale=current_locale() if current_locale() in tenant.locales else tenant.default_locale)
    form.locale.choices = [(code, services.language_name(code, current_locale())) for code in tenant.locales]
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.add_example(tenant, current_user, slug or None, form.question.data, form.locale.data)
        except services.AssistantError as exc:
            form.question.errors = [str(exc)]
        else:
            db.session.commit()
            if slug:
                flash(_("The question is kept: the assistant ranks this article higher for questions like it."), "success")
            else:
                flash(_("The question is kept: the assistant offers a person for questions like it."), "success")
            return redirect(url_for("assistant.examples", **({"article": slug} if slug else {})))
    page = min(max(row_id(request.args.get("page")) or 1, 1), 100_000)
    rows, total = services.list_examples(slug or None, page)
    titles = {} if slug else {name: _article_title(name) or name for name in {row.slug for row in rows if row.slug}}
    return render_template("assistant/examples.html", slug=slug, title=title, form=form, rows=rows, total=total, page=page,
                           titles=titles, remove_form=RemoveExampleForm(), per_page=services.EXAMPLES_PER_PAGE,
                           file_count=services.file_example_count(tenant, slug or None)), 400 if form.errors else 200


@bp.post("/<tenant>/assistant/examples/<int:example_id>/remove")
@require(Permission.KB_EDIT)
def remove_example(example_id: int):
    _tenant()
    example = services.get_example(example_id)
    if example is None:
        return error_response(404)
    if not RemoveExampleForm().validate_on_submit():
        return error_response(400)
    slug = example.slug
    db.session.delete(example)
    db.session.commit()
    flash(_("The question is removed: the assistant no longer ranks this article by it."), "success")
    back = request.args.get("from")
    return redirect(url_for("assistant.examples", article=slug) if back == "article" and slug else url_for("assistant.examples"))
