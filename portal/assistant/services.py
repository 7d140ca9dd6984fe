"""The assistant's service API, shared by the web chat, the JSON API and the messaging channels.

    reply = answer_question(tenant, "code not arriving", channel="whatsapp", contact=contact)
    reply.answer            # the passage that answers (Markdown text), or None when it abstains
    reply.articles          # [(slug, title, url)]: the best article first, then up to two alternatives
    reply.confidence        # in [0, 1]; below tenant.settings.assistant.threshold it abstains
    reply.handoff           # True when it abstained: offer a person (reply.message says how)
                            # (a message with no question in it, "bonjour" or "merci", gets a
                            # prompt for the question as its answer, no articles, and no hand-over)
    reply.lang              # the language it answered in
    reply.conversation_id   # pass it back with the next message of the same conversation
    hand_over(tenant, reply.conversation_id, contact=contact)   # "Talk to a person"

Services never read the request: the caller passes the tenant and who is asking.
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from babel import Locale, UnknownLocaleError
from flask import current_app
from markupsafe import escape
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.assistant.engine import Answer, Answerer, RetrievalAnswerer, chat_text
from portal.assistant.examples import MAX_EXAMPLE_CHARS
from portal.assistant.models import Conversation, Example, ExampleSource, Outcome, Turn
from portal.assistant.sources import FolderSource
from portal.core.db import db
from portal.core.intents import asks_for_person
from portal.core.urls import absolute_url

MAX_MESSAGE_LENGTH = 2000
# A chat reply that abstains lists the articles found when its confidence reached this share of the
# threshold: near misses are often right (the right article is among the first three nine times in
# ten), while a question far from every article gets no list of unrelated links.
RELATED_SHARE = 0.5
ANSWERERS = {"retrieval": RetrievalAnswerer}


class AssistantError(ValueError):
    """Bad input for the assistant; the message is translated and meant for the user."""


class ConversationNotFound(LookupError):
    """No conversation with this id in this tenant."""


class ArticleRef(NamedTuple):
    slug: str
    title: str
    url: str


@dataclass
class Reply:
    """What the assistant says back; see the module docstring."""

    answer: str | None
    articles: list[ArticleRef]
    confidence: float
    handoff: bool
    lang: str
    conversation_id: str
    answer_html: str | None = None
    heading: str | None = None
    note: str | None = None  # e.g. "this article is not available in French"
    message: str = ""  # a ready-to-send text: the answer with its link, or the honest "I don't know"
    contacts: dict[str, str] = field(default_factory=dict)
    turn_id: int | None = None


# -- the answerer ------------------------------------------------------------------------------------


def make_source(config: dict) -> Any:
    """The document source named by ASSISTANT_SOURCE: "kb" (the knowledge base) or "folder"."""
    choice = config.get("ASSISTANT_SOURCE", "auto")
    if choice in ("kb", "auto"):
        try:
            from portal.assistant.kb_source import KbSource
        except ImportError:
            if choice == "kb":
                raise
        else:
            return KbSource(ttl=config.get("ASSISTANT_VERSION_TTL", 5.0), tenants_dir=config.get("TENANTS_DIR"))
    return FolderSource(config["LIBRARY_DIR"], config["TENANTS_DIR"])


def get_answerer() -> Answerer:
    """The app's answerer, chosen by ASSISTANT_ANSWERER (default "retrieval"), built once per app."""
    answerer = current_app.extensions.get("assistant_answerer")
    if answerer is None:
        name = current_app.config.get("ASSISTANT_ANSWERER", "retrieval")
        if ":" in name:  # "package.module:Class" for an answerer that lives elsewhere
            module, _sep, attr = name.partition(":")
            factory = getattr(importlib.import_module(module), attr)
        else:
            factory = ANSWERERS[name]
        options = {}
        if factory is RetrievalAnswerer and not current_app.config.get("ASSISTANT_SEMANTIC", True):
            options["encoder"] = None  # words only: saves the encoder's memory (about 120 MB a process)
        if factory is RetrievalAnswerer and not current_app.config.get("ASSISTANT_EXAMPLES", True):
            options["examples"] = False  # rank by the articles alone (portal.assistant.examples)
        answerer = factory(make_source(current_app.config), shared=True, **options)
        current_app.extensions["assistant_answerer"] = answerer
    return answerer


def warm(app: Any, *, largest: int | None = None) -> None:
    """Build, in this thread, the answerer's indexes of every active tenant whose assistant is on, so
    that the first question is answered at once and as well as the next. `largest`: see
    `Answerer.warm`. Never raises: a failed warm-up only means the first question builds the index."""
    from portal.core.db import tenant_scope
    from portal.tenancy.services import list_tenants

    with app.app_context():
        try:
            answerer = get_answerer()
            for tenant in list_tenants():
                if not tenant.settings.assistant.enabled:
                    continue
                with tenant_scope(db.session, tenant.id):
                    answerer.warm(tenant, largest=largest)
                db.session.rollback()
        except Exception:
            app.logger.exception("assistant warm-up failed")
        finally:
            db.session.remove()


def warm_up(app: Any) -> threading.Thread:
    """`warm(app)` in a background thread of this process. Returns the thread."""
    thread = threading.Thread(target=warm, args=(app,), name="assistant-warm-up", daemon=True)
    thread.start()
    return thread


def language_name(code: str, in_locale: str) -> str:
    """The name of language `code` as written in `in_locale` ("anglais" for en in fr)."""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(in_locale) or code
    except (ValueError, UnknownLocaleError):
        return code


# -- answering -----------------------------------------------------------------------------------


def check_message(text: Any) -> str:
    """The message, stripped; AssistantError if it is empty or too long."""
    if text is not None and not isinstance(text, str):
        raise AssistantError(_("The message must be text."))
    if not text or not text.strip():
        raise AssistantError(_("Please type a question."))
    text = text.strip()
    if len(text) > MAX_MESSAGE_LENGTH:
        raise AssistantError(_("Your message is too long: please keep it under %(n)s characters.", n=MAX_MESSAGE_LENGTH))
    return text


def find_conversation(tenant: Any, conversation_id: str | None) -> Conversation | None:
    """The tenant's conversation with this public id (None if there is none)."""
    if not conversation_id:
        return None
    return db.session.scalar(select(Conversation).where(Conversation.key == str(conversation_id)[:40]))


def support_contacts(tenant: Any, locale: str) -> dict[str, str]:
    """The ways to reach the support team, in `locale`, for the "I don't know" message."""
    support = tenant.settings.support
    contacts = {"email": support.email, "whatsapp": support.whatsapp or "", "phone": support.phone or "",
                "hours": tenant.settings.hours(locale) or ""}
    return {key: value for key, value in contacts.items() if value}


def answer_question(tenant: Any, text: str, *, lang: str | None = None, conversation_id: str | None = None,
                    channel: str = "web", contact: Any = None, user: Any = None, hint: str | None = None) -> Reply:
    """Answer `text` for `tenant` and record the turn.

    `lang`: answer in this language (else it is detected among the tenant's locales; `hint`, the
    reader's interface language, breaks ties). `conversation_id`: continue that conversation
    (ConversationNotFound if the tenant has none with this id); without it a new one starts.
    `channel` ("web", "api", "whatsapp", "telegram"...), `contact` (a ticket-desk contact) and
    `user` say who is asking. Raises AssistantError for an empty or over-long message.
    The reply abstains (`handoff` true, `answer` None) when the confidence is below the tenant's
    threshold (`tenant.settings.assistant.threshold`).
    """
    text = check_message(text)
    conversation = find_conversation(tenant, conversation_id)
    if conversation_id and conversation is None:
        raise ConversationNotFound(conversation_id)
    person = asks_for_person(text)  # "talk to a person": no article, however close its words come
    answerer = get_answerer()
    if person is not None:
        found = answerer.language(tenant, text, lang=lang or person or None, hint=hint)
    else:
        found = answerer.answer(tenant, text, lang=lang, hint=hint)
    if conversation is None:
        conversation = Conversation(channel=channel, locale=found.lang, user_id=getattr(user, "id", None),
                                    contact_id=getattr(contact, "id", None))
        db.session.add(conversation)
    conversation.locale = found.lang
    if found.small_talk == "solved" and conversation.id is not None:
        _said_solved(conversation)  # "it worked, thanks" on a channel without a "This solved it" button
    reply = _for_person(tenant, found, conversation) if person is not None else _reply(tenant, found, conversation)
    turn = Turn(conversation=conversation, channel=channel, locale=reply.lang, question=text, answer=reply.answer,
                article_slug=found.best.slug if found.best and not reply.handoff else None,
                article_title=found.best.title if found.best and not reply.handoff else None,
                articles=[a._asdict() for a in reply.articles], confidence=reply.confidence,
                handoff=reply.handoff, asked_for_person=person is not None, fallback=found.fallback, note=reply.note)
    db.session.add(turn)
    db.session.commit()
    reply.conversation_id = conversation.key
    reply.turn_id = turn.id
    return reply


def _reply(tenant: Any, found: Answer, conversation: Conversation) -> Reply:
    if found.small_talk:
        return _small_talk(tenant, found, conversation)
    threshold = tenant.settings.assistant.threshold
    confidence = round(max(0.0, min(1.0, found.confidence)), 3)
    answered = found.passage is not None and confidence >= threshold
    articles = [ArticleRef(h.slug, h.title, h.url) for h in found.hits]
    reply = Reply(answer=found.passage if answered else None, articles=articles, confidence=confidence,
                  handoff=not answered, lang=found.lang, conversation_id=conversation.key,
                  answer_html=found.passage_html if answered else None,
                  heading=found.heading if answered else None,
                  contacts=support_contacts(tenant, found.lang))
    with force_locale(found.lang):
        notes = [_language_note(found)] if found.unsupported_lang else []
        if answered and found.fallback and found.best:
            notes.append(_("This article is not available in %(wanted)s yet; here it is in %(lang)s.",
                           wanted=language_name(found.lang, found.lang),
                           lang=language_name(found.best.locale, found.lang)))
        reply.note = " ".join(notes) or None
        reply.message = _message(reply, related=confidence >= threshold * RELATED_SHARE)
    return reply


def _for_person(tenant: Any, found: Answer, conversation: Conversation) -> Reply:
    """The reply to a request for a person ("parler à quelqu'un"): the hand-over, with the ways to
    reach the team, and no article (the words of such a request match some article's, by chance)."""
    reply = Reply(answer=None, articles=[], confidence=0.0, handoff=True, lang=found.lang,
                  conversation_id=conversation.key, contacts=support_contacts(tenant, found.lang))
    with force_locale(found.lang):
        reply.note = _language_note(found) if found.unsupported_lang else None
        reply.message = _message(reply, for_person=True)
    return reply


def _language_note(found: Answer) -> str:
    """Why the reply is not in the language the caller asked for (in the reply's language)."""
    return _("The assistant does not speak %(wanted)s here, so it answers in %(lang)s.",
             wanted=language_name(found.unsupported_lang, found.lang), lang=language_name(found.lang, found.lang))


def _small_talk(tenant: Any, found: Answer, conversation: Conversation) -> Reply:
    """The reply to a message with no question in it ("bonjour", "ok merci"): it asks for the question
    (or says "you are welcome"), offers no article and hands nothing over. On WhatsApp, a greeting
    on its own is how many conversations start; it must not become a ticket."""
    unsolved = found.small_talk == "unsolved"  # "no, it didn't work": a person is offered at once
    contacts = support_contacts(tenant, found.lang)
    with force_locale(found.lang):
        if unsolved:
            text = _("I am sorry it did not solve the problem. A person from the support team can help you.")
        elif found.small_talk in ("thanks", "solved"):
            text = _("You are welcome. If you have another question, ask it here.")
        else:
            text = _("Hello! What is your question? Describe the problem in a few words, for example: "
                     "“the verification code does not arrive”.")
        reply = Reply(answer=text, articles=[], confidence=0.0, handoff=unsolved, lang=found.lang,
                      conversation_id=conversation.key, answer_html=str(escape(text)), contacts=contacts, message=text)
        if unsolved:  # the ways to reach a person follow, as when the assistant abstains
            reply.message = "\n\n".join(part for part in (text, _ways(contacts)) if part)
    return reply


def _message(reply: Reply, related: bool = False, for_person: bool = False) -> str:
    """The reply as one plain text, for channels that cannot show a page (WhatsApp, Telegram). When it
    abstains but came `related` to an answer, it lists the articles it found, as the web chat does;
    `for_person`: the reader asked for a person, and gets the ways to reach one."""
    parts = [reply.note] if reply.note else []
    if reply.answer:
        parts.append(chat_text(reply.answer, absolute_url, _labelled))
        parts.append(_("Full article: %(url)s", url=absolute_url(reply.articles[0].url)))
        return "\n\n".join(parts)
    if for_person:
        parts.append(_("A person from the support team will help you."))
    else:
        parts.append(_("I am not sure I can answer this correctly, so I would rather not guess. "
                       "A person from the support team can help you."))
    parts.append(_ways(reply.contacts))
    if related and reply.articles:
        parts.append("\n".join([_("These articles might be related:")] + [
            f"• {_labelled(article.title, absolute_url(article.url))}" for article in reply.articles]))
    return "\n\n".join(p for p in parts if p)


def _ways(contacts: dict[str, str]) -> str:
    """The ways to reach the support team, a line each, for channels that cannot show a page."""
    ways = []
    if contacts.get("whatsapp"):
        ways.append(_("WhatsApp: %(value)s", value=contacts["whatsapp"]))
    if contacts.get("phone"):
        ways.append(_("Phone: %(value)s", value=contacts["phone"]))
    if contacts.get("email"):
        ways.append(_("Email: %(value)s", value=contacts["email"]))
    if contacts.get("hours"):
        ways.append(_("Opening hours: %(value)s", value=contacts["hours"]))
    return "\n".join(ways)


def _labelled(label: str, value: str) -> str:
    """"label: value" as the reply's language writes it (French puts a space before the colon)."""
    return _("%(label)s: %(value)s", label=label, value=value)


# -- feedback and hand-over --------------------------------------------------------------------------


def mark_solved(tenant: Any, conversation_id: str) -> Conversation:
    """"This solved it": the last answered turn and the conversation are marked solved."""
    conversation = find_conversation(tenant, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    _said_solved(conversation)
    db.session.commit()
    return conversation


def _said_solved(conversation: Conversation) -> None:
    """The last answered turn (its question learned as an example of its article) and the conversation
    are solved; not committed."""
    answered = [t for t in conversation.turns if t.answer and not t.is_small_talk]
    if answered and answered[-1].outcome != Outcome.SOLVED.value:
        answered[-1].outcome = Outcome.SOLVED.value
        learn(answered[-1])
    conversation.outcome = Outcome.SOLVED.value


# -- examples: questions each article is known to answer (portal.assistant.examples) ----------------


EXAMPLES_PER_PAGE = 50


def _same_question(text: str) -> str:
    return " ".join(text.casefold().split())


def _known_example(slug: str | None, question: str) -> bool:
    wanted = _same_question(question)
    of_slug = Example.slug.is_(None) if slug is None else Example.slug == slug
    return any(_same_question(q) == wanted for q in db.session.scalars(select(Example.question).where(of_slug)))


def learn(turn: Turn) -> Example | None:
    """Keep a question the asker said its answer solved as an example of the article that answered
    it (not a long message, whose context would describe the article poorly; not a question the
    article already has); not committed."""
    question = " ".join(turn.question.split())
    if not turn.article_slug or not question or len(question) > MAX_EXAMPLE_CHARS or _known_example(turn.article_slug, question):
        return None
    example = Example(slug=turn.article_slug, locale=turn.locale, question=question, source=ExampleSource.SOLVED.value, turn_id=turn.id)
    db.session.add(example)
    return example


def add_example(tenant: Any, user: Any, slug: str | None, question: str, locale: str) -> Example:
    """An editor's example of what article `slug` answers, or (None) of a question no article answers
    (AssistantError with the reason if refused); not committed."""
    question = " ".join((question or "").split())
    if not question:
        raise AssistantError(_("Type the question as staff would ask it."))
    if len(question) > MAX_EXAMPLE_CHARS:
        raise AssistantError(_("An example is at most %(num)d characters: keep the question, not its context.", num=MAX_EXAMPLE_CHARS))
    if _known_example(slug, question):
        raise AssistantError(_("This article already has this question.") if slug else _("This question is listed already."))
    example = Example(slug=slug, locale=tenant.best_locale(locale), question=question, source=ExampleSource.EDITOR.value,
                      author_id=getattr(user, "id", None))
    db.session.add(example)
    return example


def list_examples(slug: str | None = None, page: int = 1) -> tuple[list[Example], int]:
    """The tenant's stored examples (of article `slug`), newest first, one page, and how many there are."""
    query = select(Example)
    if slug:
        query = query.where(Example.slug == slug)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Example.id.desc()).limit(EXAMPLES_PER_PAGE).offset((page - 1) * EXAMPLES_PER_PAGE)).all()
    return list(rows), total


def file_example_count(tenant: Any, slug: str | None = None) -> int:
    """How many examples the tenant's file (tenants/<slug>/assistant/examples.yaml) gives (article `slug`'s)."""
    from portal.assistant.examples import examples_file, read_examples

    path = examples_file(current_app.config["TENANTS_DIR"], tenant.slug)
    try:
        found = read_examples(path) if path.is_file() else []
    except ValueError:
        return 0
    return sum(1 for example in found if slug is None or example.slug == slug)


def get_example(example_id: int) -> Example | None:
    return db.session.scalar(select(Example).where(Example.id == example_id))


def hand_over(tenant: Any, conversation_id: str, *, user: Any = None, contact: Any = None, name: str = "",
              email: str = "", phone: str = "", channel: str = "assistant", message: str = "",
              attachments: Any = (), before_commit: Any = None) -> Any:
    """"Talk to a person": open a ticket for the conversation, carrying its transcript.

    The requester is `contact` (a channel contact), else `user` (signed in), else the contact found
    or made from the `email`/`phone` an anonymous visitor left. The ticket comes in on the
    "assistant" channel, its first message is the questions asked, and the whole transcript is
    attached as an internal note. The last turn's outcome becomes "handed over". Returns the
    ticket; a second hand-over of the same conversation returns the same ticket. A messaging channel
    passes its own `channel` (the agent's answer then goes back there) and may pass `before_commit`,
    given to `open_ticket` so that what the channel writes commits with the ticket, and the
    `message` and `attachments` that made it hand over (a photo, a shared location, a long report),
    which then follow the questions in the ticket's first message.
    Raises ConversationNotFound, or AssistantError when there is no way to reply.
    """
    from portal.auth.services import get_user_by_email
    from portal.tickets import services as tickets
    from portal.tickets.models import Ticket

    conversation = find_conversation(tenant, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    if conversation.ticket_id:
        return db.session.get(Ticket, conversation.ticket_id)
    if contact is None:
        if user is None and not (email.strip() or phone.strip()):
            raise AssistantError(_("Please leave an email address or a phone number so that we can reply."))
        contact = tickets.find_or_create_contact(tenant, user=user, email=email.strip() or None,
                                                 phone=phone.strip() or None, name=name.strip()[:200],
                                                 locale=conversation.locale)
    asked = [turn for turn in conversation.turns if not turn.is_small_talk]  # not "bonjour" as the subject
    # What the person is asked: the questions since the last one the visitor said was solved (those
    # stay in the transcript), so the subject is the problem still open, not the first ever asked.
    solved = [number for number, turn in enumerate(asked) if turn.outcome == Outcome.SOLVED.value]
    open_part = asked[solved[-1] + 1:] if solved else asked
    questions = [turn.question for turn in open_part or asked]
    with force_locale(conversation.locale):
        subject = questions[0] if questions else _("Question to the assistant")
        body = "\n\n".join([*questions, message.strip()]).strip() or _("I would like to talk to a person.")

    # A visitor who is not signed in may give anybody's address: when it is an account's, the team is
    # told the request is not known to come from that person before acting on what it asks.
    unverified = user is None and channel == "assistant" and (
        getattr(contact, "user_id", None) is not None or (email.strip() and get_user_by_email(email) is not None))

    def link(ticket: Any, first_message: Any) -> None:
        # In the ticket's transaction, the conversation held until it commits: when the button was
        # pressed twice at once (two requests, perhaps on two servers), the second waits here, finds
        # the first's ticket and gives up its own.
        db.session.scalar(select(Conversation).where(Conversation.id == conversation.id).with_for_update()
                          .execution_options(populate_existing=True))  # read: the object is refreshed as its row is
        if conversation.ticket_id:
            raise _HandedOverMeanwhile(conversation.ticket_id)
        if asked:
            asked[-1].outcome = Outcome.HANDED_OVER.value
        conversation.outcome = Outcome.HANDED_OVER.value
        conversation.ticket_id = ticket.id
        conversation.contact_id = conversation.contact_id or contact.id
        if unverified:
            from portal.tickets.models import Message

            with force_locale(tenant.default_locale):
                note = _("Not verified: this request was made by a visitor who was not signed in and gave the address of "
                         "an account (%(address)s). Check with its holder before acting on what it asks.", address=email.strip() or contact.display_name)
            db.session.add(Message(tenant_id=tenant.id, ticket_id=ticket.id, body=note, is_public=False, channel="assistant"))
        if before_commit is not None:
            before_commit(ticket, first_message)

    try:
        return tickets.open_ticket(tenant, user, requester=contact, subject=_shorten(subject, 120), body=body,
                                   channel=channel, locale=conversation.locale, attachments=attachments,
                                   transcript=conversation.transcript(), before_commit=link)
    except _HandedOverMeanwhile as first:  # open_ticket rolled its ticket back
        return db.session.get(Ticket, first.ticket_id)


class _HandedOverMeanwhile(Exception):
    def __init__(self, ticket_id: int):
        super().__init__(ticket_id)
        self.ticket_id = ticket_id


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
