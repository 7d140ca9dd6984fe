"""The answering engine: the `Answerer` interface and the retrieval implementation.

`RetrievalAnswerer` ranks a tenant's articles for a question, by its words (BM25 with stemming, a
domain lexicon and typo tolerance) and by its meaning (sentence vectors, `semantic`), and returns the
most relevant passage of the best article, up to two alternatives, and a calibrated confidence. It
reads articles through
a `DocumentSource`, keeps one `PassageIndex` per tenant and locale in memory, builds them in the
background when a process starts serving (`warm`), and rebuilds one when the source's version stamp
changes. Another answerer (a local language model, say) only has to implement `Answerer.answer`
(and, if it has something to prepare, `warm`); callers go through `portal.assistant.services`.
How a question is read, ranked and scored: evaluation/assistant/README.md.
"""
from __future__ import annotations

import logging
import math
import re
import threading
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Hashable
from urllib.parse import urljoin

import nh3
import numpy as np
from markdown_it import MarkdownIt

from portal.assistant import semantic, vocabulary
from portal.assistant.examples import GAP_CONFIDENCE, Example, ExampleMemory, ExampleVectors
from portal.assistant.index import CONCEPT_PREFIX, PassageIndex, plain
from portal.assistant.lexicon import LEXICON, LOCAL_PREFIX, Lexicon
from portal.assistant.sources import DocumentSource
from portal.assistant.text import (SMALL_TALK_ANY, THANKS_SIGNS, THANKS_WORDS, base_language, detect_language, said_outcome,
                                   expand_chat, stem, stop_words, words)

log = logging.getLogger(__name__)

ALTERNATIVES = 2
SYNC_REBUILD_LIMIT = 2000  # articles; a bigger index that changed is rebuilt in a thread, the old one answering
SYNC_VECTOR_TEXTS = 300  # texts to encode (about 2 ms each); more are encoded in a thread, words answering meanwhile
# Article rank = ARTICLE * article BM25 + PASSAGE * its best passage's BM25 + TITLE * weight of the
# question's words found in the title or the tags (what the article says it is about is the best sign),
# times the share of the question they make up (from TITLE_SHARE_FLOOR for a sliver to 1 for all of it).
RANKING = {"article": 1.0, "passage": 0.5, "title": 1.0}
# Answering from words alone (no sentence vectors), the title counts twice as much: the vectors of an
# article's title and passages otherwise carry much of what it is about (development sets, words only:
# top-1 +2 to +4 points in English, 0 to +4 in French; with vectors, 2 is no better than 1).
WORDS_TITLE = 2.0
TITLE_SHARE_FLOOR = 0.5
TAG_WEIGHT = 0.5  # a question word found in the tags only, relative to one in the title
CONCEPT_WEIGHT = 0.8  # a single word's lexicon concept, relative to the word itself (phrases: 1)
# Logistic calibration of the confidence (see `calibrated`): fitted on the development sets (dev.yaml,
# tune.yaml and probe.yaml), as typed and with typos, by `benchmarks/assistant_calibrate.py` (--balance 1.0);
# with these weights the default threshold of 0.35 abstains on 85% (en) and 87% (fr) of the questions the
# content cannot answer (cross-validated), and answers 80% (en) and 68% (fr) of the others with the right
# article.
CALIBRATION = {"bias": -6.29, "coverage": 0.97, "outline_coverage": 3.99, "unknown": -1.66, "margin": 5.47,
               "length": 3.54, "semantic": 5.89}
# The same fit for answers made from words alone (no encoder, one that failed, or a big index whose
# vectors are still being made): `assistant_calibrate.py --words-only`.
CALIBRATION_WORDS = {"bias": -5.97, "coverage": 1.19, "outline_coverage": 5.23, "unknown": -1.68, "margin": 5.54,
                     "length": 5.37}
# A question word found in an article only through its lexicon concept, where other articles use the word
# itself or it is an ordinary word of the language, counts this much towards the confidence's coverage
# signals (see `_found`).
CONCEPT_CREDIT = 0.5
ORDINARY_WORD = 3.5  # Zipf from which a word the articles never use is an ordinary word of the language
LENGTH_FULL = 30  # content words (after phrases are joined) from which a question counts as long
# How much a string that no article contains and the language does not know (an uncorrected typo, mostly)
# weighs against coverage, relative to the rarest known word (see `_specificity`).
UNKNOWN_WORD_WEIGHT = 0.6
SPECIFICITY = (6.0, 3.0, 0.2)  # (Zipf at which a word counts fully, scale, floor) in `_specificity`
# Choosing the passage: each later section weighs a little less; a fall-back section much less.
PASSAGE_POSITION_DECAY = 0.03
FALLBACK_FACTOR = 0.6
LEAD_IN_WORDS = 60  # an opening shorter than this only introduces the next section (see `_with_follow_on`)
FALLBACK_CONCEPTS = {CONCEPT_PREFIX + c for c in ("support", "escalate", "ticket")}
# Words that set the scene of most questions rather than name the problem: who (a mother, a registrar,
# a colleague), on what (a tablet, the app), about what kind of record (a birth, a death). "A mother wants
# to change the first name on the certificate, can I do it from my tablet?" is about a correction, not
# about tablets. Their terms weigh SETTING_WEIGHT in the ranking (they still count fully for coverage, and
# decide alone when the question says nothing else).
SETTING_CONCEPTS = {CONCEPT_PREFIX + c for c in ("device", "phone", "app", "parent", "relative", "informant",
                                                 "registrar", "colleague", "registration", "birth", "death",
                                                 "record")}
SETTING_WEIGHT = 0.5
LOCAL_CONCEPT = CONCEPT_PREFIX + LOCAL_PREFIX
# Meaning beside words (see `semantic`): the final rank is the lexical rank scaled so that the best
# article scores 1, plus SEMANTIC_WEIGHT times the article's best cosine with the question. The
# articles compared are the lexical best and the nearest by title vector, SEMANTIC_CANDIDATES of each.
SEMANTIC_WEIGHT = 1.0
SEMANTIC_CANDIDATES = 50
# The encoder reads English best: where the tenant offers its articles in PIVOT_LANGUAGE, a question in
# another language is compared with the English version of each article that has one (a French question
# finds the right article first more often so: development sets, evaluation/assistant/README.md), and
# that closeness, a better signal than within French, weighs PIVOT_WEIGHT instead of SEMANTIC_WEIGHT.
PIVOT_LANGUAGE = "en"
PIVOT_WEIGHT = 2.0


@dataclass
class Hit:
    slug: str
    title: str
    url: str
    score: float
    locale: str
    fallback: bool = False


@dataclass
class Answer:
    """What an answerer found: the passage to show, the ranked articles, and how sure it is."""

    lang: str
    confidence: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    heading: str | None = None
    passage: str | None = None  # Markdown, placeholders filled, links made absolute
    passage_html: str | None = None  # the same, rendered and sanitized
    fallback: bool = False  # the best article is in another locale than `lang`
    unsupported_lang: str | None = None  # asked for a language the tenant does not offer
    # A message with no question in it: "greeting" ("hello", "bonjour", "help?"), "thanks" ("merci",
    # "ok thanks"), or what the last answer did: "solved" ("it worked, thanks"), "unsolved" ("still
    # not working"). Not a question the content failed to answer: the reply asks for the question.
    small_talk: str | None = None
    signals: dict[str, float] = field(default_factory=dict)  # what the confidence was computed from

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


class Answerer(ABC):
    """Answers a question from one tenant's articles. Implementations must be thread-safe."""

    @abstractmethod
    def answer(self, tenant: Any, question: str, *, lang: str | None = None, hint: str | None = None) -> Answer:
        """Answer `question` for `tenant`, in `lang` if given, else in the detected language
        (`hint`, the reader's interface language, breaks ties)."""

    def language(self, tenant: Any, question: str, *, lang: str | None = None, hint: str | None = None) -> Answer:
        """Only the language `question` would be answered in: an Answer with `lang` (and
        `unsupported_lang`) set and nothing found, for a message that wants no article (a request
        for a person). By default the whole answer is made and all but its language dropped."""
        found = self.answer(tenant, question, lang=lang, hint=hint)
        return Answer(lang=found.lang, unsupported_lang=found.unsupported_lang)

    def warm(self, tenant: Any, *, largest: int | None = None) -> None:
        """Prepare whatever answering `tenant`'s questions needs, so that the first question does not
        wait: called in the background at a process's first request, and in a forking server's master
        before the fork (the workers then share what it made). `largest`: leave out any part bigger
        than this many articles (the master's warm-up holds the workers back while it runs; the
        workers build what it left). Nothing to do by default."""


# -- rendering ---------------------------------------------------------------------------------

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_RELATIVE_LINK_RE = re.compile(r"(!?)\[([^\]]*)\]\((?![a-zA-Z][a-zA-Z0-9+.-]*:|/|#)([^)\s]+)\)")
_ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "a", "code", "pre", "blockquote", "h2", "h3", "h4",
                 "table", "thead", "tbody", "tr", "th", "td", "br", "hr"}


def absolute_links(markdown: str, base_url: str, known: Collection[str] | None = None) -> str:
    """Make links between articles (`[text](other-slug)`) point at the other article's page. With
    `known` (the articles the reader can open), a link to any other article (hidden, a draft, for
    staff only) is left as its text: the knowledge base's pages show it so, and a link would lead to
    a missing page."""

    def replace(match: re.Match) -> str:
        image, text, target = match.groups()
        if not image and known is not None and target.split("#", 1)[0] not in known:
            return text
        return f"{image}[{text}]({urljoin(base_url, target)})"

    return _RELATIVE_LINK_RE.sub(replace, markdown)


def render_markdown(markdown: str) -> str:
    """Markdown to HTML that is safe to insert in a page (no raw HTML, no dangerous URL)."""
    html = _markdown.render(markdown)
    return nh3.clean(html, tags=_ALLOWED_TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https", "mailto", "tel"})


def chat_text(markdown: str, address: Callable[[str], str] = str,
              labelled: Callable[[str, str], str] = "{}: {}".format) -> str:
    """Markdown as plain text for a chat (WhatsApp, Telegram), where markup would show as typed:
    no emphasis marks, links as "text (address)" (`address` makes a site-relative one full), lists
    as "•" or numbered lines, and each table row as one line, "row — column: cell; column: cell"
    (a table's pipes are unreadable on a phone; `labelled` writes "column: cell" as the reader's
    language does, "colonne : cellule" in French)."""
    blocks: list[tuple[str, int]] = []  # (text, its list or table; 0: a paragraph of its own)
    group = 0  # lines of one list or table are joined by one line break, other blocks by a blank line
    lists: list[int | None] = []  # per open list: the next number, or None for bullets
    marker: str | None = None
    table: list[list[str]] | None = None
    for token in _markdown.parse(markdown):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open", "table_open") and not lists:
            group += 1
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append(int(token.attrs.get("start") or 1) if kind == "ordered_list_open" else None)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            number = lists[-1]
            marker = "  " * (len(lists) - 1) + ("•" if number is None else f"{number}.")
            if number is not None:
                lists[-1] = number + 1
        elif kind == "table_open":
            table = []
        elif kind == "tr_open" and table is not None:
            table.append([])
        elif kind == "table_close" and table:
            header, *rows = table
            for row in rows:
                cells = "; ".join(labelled(name, cell) for name, cell in zip(header[1:], row[1:]) if cell)
                blocks.append((f"• {row[0]} — {cells}" if cells else f"• {row[0]}", group))
            table = None
        elif kind == "inline":
            text = _inline_text(token, address)
            if table is not None:
                table[-1].append(text)
            elif marker is not None:
                blocks.append((f"{marker} {text}", group))
                marker = None
            else:
                blocks.append(("  " * len(lists) + text, group if lists else 0))
        elif kind in ("fence", "code_block"):
            blocks.append((token.content.rstrip("\n"), 0))
    text = ""
    for i, (block, joined) in enumerate(blocks):
        if i:
            text += "\n" if joined and joined == blocks[i - 1][1] else "\n\n"
        text += block
    return text


def _inline_text(token: Any, address: Callable[[str], str]) -> str:
    parts: list[str] = []
    links: list[tuple[str, int]] = []  # open links: (address, where their text starts)
    for child in token.children or ():
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "image":
            parts.append(child.content)
        elif kind == "link_open":
            href = str(child.attrs.get("href") or "")
            # A link within the page ("#steps") means nothing in a chat: its text is enough.
            links.append(("" if href.startswith("#") else address(href), len(parts)))
        elif kind == "link_close" and links:
            target, start = links.pop()
            if target and "".join(parts[start:]).strip() != target:
                parts.append(f" ({target})")
    return "".join(parts).strip()


# -- the retrieval answerer ------------------------------------------------------------------------


@dataclass
class _Unit:
    """One content word of the question (or a lexicon phrase of grammar words, like "how much")."""

    terms: dict[str, float]
    weight: float = 0.0
    credit: float = 1.0  # how much a match counts for coverage (less when the word was a guessed typo)
    word: str = ""  # the word as read (folded; corrected when it was a typo)


class IndexCache:
    """One PassageIndex per (tenant, locale), rebuilt when the source's version stamp changes.

    With an encoder, each index also gets its sentence vectors (`index.semantic`), made after the
    index is published: in the calling thread when at most SYNC_VECTOR_TEXTS texts are new (an edit),
    else in a thread while words alone answer (a first build, outside the start-up warm-up).
    """

    def __init__(self, source: DocumentSource, encoder: semantic.Encoder | None = None):
        self.source = source
        self.encoder = encoder
        self._entries: dict[tuple[str, str], PassageIndex] = {}
        self._building: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._threads: list[threading.Thread] = []

    @classmethod
    def shared(cls, source: DocumentSource, encoder: semantic.Encoder | None = None) -> "IndexCache":
        """The process-wide cache for sources that read the same articles (one per worker process)."""
        key = (source.key, encoder is not None)
        with _shared_lock:
            cache = _shared_caches.get(key)
            if cache is None:
                cache = _shared_caches[key] = cls(source, encoder)
            return cache

    def get(self, tenant: Any, locale: str, *, wait_for_vectors: bool = False) -> PassageIndex:
        """The index of `tenant` in `locale`, built or rebuilt if its articles changed. Its vectors are
        made after it is published (words answer meanwhile): here when few texts are new, else in a
        thread, unless `wait_for_vectors` (the start-up warm-up, which has time)."""
        version: Hashable = self.source.version(tenant, locale)
        key = (tenant.slug, locale)
        index = self._entries.get(key)
        if index is not None and index.version == version:
            return index
        if index is not None and len(index) > SYNC_REBUILD_LIMIT:
            # A big tenant changed an article: keep answering from the old index while the new one builds.
            self._rebuild_in_background(key, tenant, locale, version)
            return index
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # One build per tenant and locale at a time (a question arriving meanwhile waits for it, rather
        # than building it twice); other tenants are not held up.
        built = previous = None
        with key_lock:
            previous = index = self._entries.get(key)
            if index is None or index.version != version:
                index = built = PassageIndex(locale, list(self.source.documents(tenant, locale)), version=version,
                                             lexicon=lexicon_of(tenant))
                with self._lock:
                    self._entries[key] = index
        # Outside the lock: a question arriving while the vectors are made is answered from words.
        if built is not None and self.encoder is not None and len(built):
            plan = semantic.plan(built, self._known_vectors(previous))
            if wait_for_vectors or plan.to_encode <= SYNC_VECTOR_TEXTS:
                self._add_semantic(plan)
            else:
                self._start(f"assistant-vectors-{key[0]}-{locale}", self._add_semantic, plan)
        return index

    def _add_semantic(self, plan: semantic.Plan) -> None:
        try:
            plan.index.semantic = semantic.build(plan, self.encoder)
        except Exception:  # an encoder that fails costs the meaning signal, never the answer
            log.exception("assistant: sentence vectors not made for %s; answering from words", plan.index.locale)

    def _known_vectors(self, previous: PassageIndex | None) -> list[semantic.SemanticIndex]:
        """Vectors a build may reuse: the index it replaces first, then every other index's."""
        with self._lock:
            others = [entry.semantic for entry in self._entries.values() if entry is not previous]
        first = [previous.semantic] if previous is not None else []
        return [vectors for vectors in first + others if vectors is not None]

    def _start(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def settle(self, timeout: float | None = None) -> None:
        """Wait for the builds running in the background (benchmarks and tests; a server never waits)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _rebuild_in_background(self, key: tuple[str, str], tenant: Any, locale: str, version: Hashable) -> None:
        with self._lock:
            if key in self._building:
                return
            self._building.add(key)
        documents = list(self.source.documents(tenant, locale))  # read here: the source may need the request's session
        lexicon = lexicon_of(tenant)

        def build() -> None:
            try:
                index = PassageIndex(locale, documents, version=version, lexicon=lexicon)
                if self.encoder is not None and len(index):
                    self._add_semantic(semantic.plan(index, self._known_vectors(self._entries.get(key))))
                with self._lock:
                    self._entries[key] = index
            finally:
                with self._lock:
                    self._building.discard(key)

        self._start(f"assistant-index-{key[0]}-{locale}", build)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def lexicon_of(tenant: Any) -> Lexicon:
    """The lexicon for a tenant's articles and questions: the general one, with the country's own
    synonyms (`[assistant.synonyms]` in its settings) when it has some."""
    settings = getattr(tenant, "settings", None)
    return LEXICON.with_local(settings.assistant.synonyms) if settings is not None else LEXICON


_shared_caches: dict[Hashable, IndexCache] = {}
_shared_lock = threading.Lock()


class RetrievalAnswerer(Answerer):
    """BM25 over passages with stemming, a domain lexicon and typo tolerance, joined with sentence
    embeddings (`semantic`), and a calibrated confidence. `encoder=None` answers from words alone."""

    def __init__(self, source: DocumentSource, shared: bool = False,
                 encoder: semantic.Encoder | None | str = "default", examples: bool = True):
        if encoder == "default":
            encoder = semantic.default_encoder()
        self.encoder = encoder
        self.cache = IndexCache.shared(source, encoder) if shared else IndexCache(source, encoder)
        # The questions each article is known to answer (`examples`); they need the encoder.
        self.examples = ExampleMemory(encoder if examples else None)

    def warm(self, tenant: Any, *, largest: int | None = None) -> None:
        locales = list(tenant.locales)
        if self.encoder is not None and _pivot_locale(tenant) not in locales:
            locales.append(_pivot_locale(tenant))  # the English versions a French-only country is compared with
        skipped = False
        for locale in locales:
            if largest is not None and len(list(self.cache.source.documents(tenant, locale))) > largest:
                skipped = True
                continue
            self.cache.get(tenant, locale, wait_for_vectors=True)
            stem("warm", locale)  # loads the language's word list, which stemming needs
        if not skipped:  # reading the examples needs every index of the tenant
            self._examples(tenant)

    def language(self, tenant: Any, question: str, *, lang: str | None = None, hint: str | None = None) -> Answer:
        locale, _certainty, unsupported = self._language(tenant, question, lang, hint)
        return Answer(lang=locale, unsupported_lang=unsupported)

    def _language(self, tenant: Any, question: str, lang: str | None,
                  hint: str | None) -> tuple[str, float, str | None]:
        """The locale to answer in, how sure the detection is (1 when `lang` was given), and `lang`
        again when the tenant does not offer it."""
        if lang:
            locale = tenant.best_locale(lang)
            return locale, 1.0, None if base_language(locale) == base_language(lang) else lang
        locales = _locales(tenant)
        vocabularies = {loc: self.cache.get(tenant, loc).vocabulary for loc in locales}
        locale, certainty = detect_language(question, locales, vocabularies, hint=hint)
        return locale, certainty, None

    def answer(self, tenant: Any, question: str, *, lang: str | None = None, hint: str | None = None) -> Answer:
        locales = _locales(tenant)
        meaning = _Meaning(self.encoder)
        locale, certainty, unsupported = self._language(tenant, question, lang, hint)
        result = self._answer_in(tenant, question, locale, locales, meaning)
        if lang:
            result.unsupported_lang = unsupported
            return result
        if certainty < 0.15 and len(locales) > 1:
            # Too close to call (a few words, or a mixed message): keep the language that answers better.
            for other in locales:
                if other != locale:
                    candidate = self._answer_in(tenant, question, other, locales, meaning)
                    if candidate.confidence > result.confidence + 0.05:
                        result = candidate
        return result

    # The steps, each small enough to read on its own.

    def _answer_in(self, tenant: Any, question: str, locale: str, locales: list[str],
                   meaning: "_Meaning") -> Answer:
        index = self.cache.get(tenant, locale)
        result = Answer(lang=locale)
        if not len(index):
            return result
        units, tokens = self._units(index, question, locale, [loc for loc in locales if loc != locale])
        outcome = said_outcome(tokens, locale, question)
        if outcome is not None:  # "it worked, thanks", "no it didn't work": about the last answer
            result.small_talk = outcome
            return result
        # A word and its lexicon concept both count: an idea said in the articles' own words and in
        # the lexicon's is better matched than one said either way only.
        query: dict[str, float] = {}
        for unit in units:
            for term, weight in unit.terms.items():
                query[term] = max(query.get(term, 0.0), weight)
        if not query:  # only grammar words, greetings or thanks (or no word at all)
            thanked = any(token in THANKS_WORDS for token in tokens) or any(sign in question for sign in THANKS_SIGNS)
            result.small_talk = "thanks" if thanked else "greeting"
            return result
        passage_scores = index.passage_bm25.scores(query)
        best_passage = np.zeros(len(index), dtype=np.float32)
        touched = np.nonzero(passage_scores)[0]
        np.maximum.at(best_passage, index.passage_article[touched], passage_scores[touched])
        totals = RANKING["article"] * index.articles.scores(query) + RANKING["passage"] * best_passage
        # Only the strongest candidates can be reordered by the bonuses; it stays cheap at 10k articles.
        candidates = _top(totals, SEMANTIC_CANDIDATES)
        bonus = self._title_bonus(index, units, candidates)
        if max(totals.max(initial=0.0), bonus.max(initial=0.0)) <= 0:
            return result
        vector = meaning.of(tokens, index.language) if index.semantic is not None else None
        totals[candidates] += (RANKING["title"] if vector is not None else WORDS_TITLE) * bonus
        closeness = np.zeros(len(index), dtype=np.float32)
        examples = self._examples(tenant) if vector is not None else None
        if vector is not None:
            candidates, weighted = self._closeness(tenant, index, vector, candidates, closeness)
            ranked = np.full(len(index), -np.inf, dtype=np.float32)
            ranked[candidates] = totals[candidates] / totals.max() + weighted
            if examples is not None and len(examples):
                ranked[candidates] += examples.bonus(vector, [index.documents[n].slug for n in candidates])
            totals = ranked
        order = _top(totals, ALTERNATIVES + 1)
        for number in order:
            doc = index.documents[number]
            result.hits.append(Hit(doc.slug, doc.title, doc.url, float(totals[number]), doc.locale, doc.fallback))
        top = int(order[0])
        passage_number = self._best_passage(index, top, passage_scores, units)
        passage = index.passages[passage_number]
        doc = index.documents[top]
        result.heading = passage.heading
        result.passage = absolute_links(self._with_follow_on(index, passage_number), doc.url, index.slugs)
        result.passage_html = render_markdown(result.passage)
        result.fallback = doc.fallback
        second = float(totals[order[1]]) if order.size > 1 else 0.0
        result.signals = self._signals(index, units, top, float(totals[top]), second)
        if vector is not None:
            result.signals["semantic"] = float(closeness[top])
        result.confidence = calibrated(result.signals)
        if examples is not None and len(examples) and (gap := examples.near_gap(vector, doc.slug)) is not None:
            result.signals["known_gap"] = gap  # a question the articles are known not to answer
            result.confidence = min(result.confidence, GAP_CONFIDENCE)
        return result

    def _examples(self, tenant: Any) -> ExampleVectors | None:
        """The tenant's examples (`portal.assistant.examples`), encoded as its questions are."""
        try:
            return self.examples.get(tenant, self.cache.source, lambda example: self._example_text(tenant, example))
        except Exception:  # a bonus: examples that cannot be read leave the ranking as it was
            log.exception("assistant: the examples of %s could not be read", getattr(tenant, "slug", tenant))
            return None

    def _example_text(self, tenant: Any, example: Example) -> str:
        """An example as the encoder is given a question: read in its language, as `_Meaning.of` does."""
        locale = tenant.best_locale(example.locale)
        index = self.cache.get(tenant, locale)
        _units, tokens = self._units(index, example.question, locale, [other for other in _locales(tenant) if other != locale])
        return " ".join(vocabulary.accented(token, index.language) for token in tokens)

    def _closeness(self, tenant: Any, index: PassageIndex, vector: np.ndarray, candidates: np.ndarray,
                   closeness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The candidates, with the articles nearest the question's meaning added, and their weighted
        closeness; `closeness` (one per article) is filled in for the candidates. An article is compared
        with its English version where the pivot applies, else with its own vectors."""
        candidates = np.union1d(candidates, index.semantic.nearest(vector, SEMANTIC_CANDIDATES))
        paired = np.zeros(candidates.size, dtype=bool)
        pivot = self._pivot(tenant, index)
        if pivot is not None:
            pivot_index, twins = pivot
            nearest = _own_numbers(twins, pivot_index.semantic.nearest(vector, SEMANTIC_CANDIDATES))
            candidates = np.union1d(candidates, nearest)
            paired = twins[candidates] >= 0
            closeness[candidates[paired]] = pivot_index.semantic.scores(vector, twins[candidates[paired]])
        own = candidates[~paired]  # no English version (or no pivot): the article's own vectors
        closeness[own] = index.semantic.scores(vector, own)
        return candidates, np.where(paired, PIVOT_WEIGHT, SEMANTIC_WEIGHT) * closeness[candidates]

    def _pivot(self, tenant: Any, index: PassageIndex) -> tuple[PassageIndex, np.ndarray] | None:
        """The tenant's index in PIVOT_LANGUAGE, if it has vectors and `index` is in another language,
        with the number there of each article of `index` that is written in it (-1 for none).

        A country that does not offer English still has the English versions of the central library's
        articles (filled with its own values): they are its pivot, so that a French-only country's
        questions are read as well as Farajaland's French ones (without them: 4 to 5 points less
        top-1 on the development sets, asked of Farajaland with French alone)."""
        if index.language == PIVOT_LANGUAGE:
            return None
        pivot = self.cache.get(tenant, _pivot_locale(tenant))
        if pivot.semantic is None:
            return None
        # Kept on the index (a weak reference: a replaced pivot index is not kept alive by it).
        known = index.twins
        if known is None or known[0]() is not pivot:
            numbers = {doc.slug: n for n, doc in enumerate(pivot.documents) if not doc.fallback}
            known = index.twins = (weakref.ref(pivot), np.array(
                [numbers.get(doc.slug, -1) for doc in index.documents], dtype=np.int64))
        return pivot, known[1]

    def _units(self, index: PassageIndex, question: str, locale: str,
               other_locales: list[str]) -> tuple[list[_Unit], list[str]]:
        """The question's content words as weighted units of index terms, and its tokens as read
        (chat abbreviations spelt out, typos corrected), which the sentence encoder is given."""
        tokens = expand_chat(words(question), locale)
        stops = stop_words(locale)
        units: list[_Unit] = []
        covered: dict[int, _Unit] = {}
        for position, token in enumerate(tokens):
            if token in stops or token in SMALL_TALK_ANY or (len(token) < 2 and not token.isdigit()):
                continue
            unit = _Unit(terms={}, word=token)
            term = stem(token, locale)
            if index.knows(term):
                unit.terms[term] = 1.0
            else:
                # A word of another of the tenant's languages (mixed messages), else a typo.
                for other in other_locales:
                    if index.knows(stem(token, other)):
                        unit.terms[stem(token, other)] = 0.8
                        break
                else:
                    prefix = index.known_prefix(term)
                    if prefix:
                        unit.terms[prefix] = 0.8
                    elif not index.lexicon.is_known(token):
                        correction = index.correct(token)
                        if correction:
                            corrected, unit.credit = correction
                            tokens[position] = unit.word = corrected  # a misspelt lexicon word still finds its concept
                            if corrected in stops:
                                continue  # a misspelt grammar word: no more meaning than the word itself
                            if index.knows(stem(corrected, locale)):
                                unit.terms[stem(corrected, locale)] = unit.credit
                if not unit.terms:
                    unit.terms[term] = 1.0  # unknown: scores nothing, but counts against coverage
            covered[position] = unit
            units.append(unit)
        for start, end, concept in index.lexicon.match(tokens, locale):
            term = CONCEPT_PREFIX + concept
            owners = list({id(covered[p]): covered[p] for p in range(start, end) if p in covered}.values())
            if owners:
                # A phrase ("user name", "mot de passe") is one idea, worth more than its often common words.
                weight = 1.0 if end - start > 1 else CONCEPT_WEIGHT
                head = owners[0]
                for other in owners[1:]:
                    head.terms.update({t: max(w, head.terms.get(t, 0.0)) for t, w in other.terms.items()})
                    units.remove(other)
                    for p in range(start, end):
                        if covered.get(p) is other:
                            covered[p] = head
                head.terms[term] = max(head.terms.get(term, 0.0), weight)
            else:  # a phrase made of grammar words only, such as "how much" or "can not"
                units.append(_Unit(terms={term: 0.5}))
        for unit in units:
            if not any(index.knows(t) for t in unit.terms if not t.startswith(CONCEPT_PREFIX)):
                # An abbreviation or a word the articles never use ("mdp"): its concept is all it means.
                for term in unit.terms:
                    if term.startswith(CONCEPT_PREFIX):
                        unit.terms[term] = 1.0
        for unit in units:
            # A country's own synonym ("OEC" for "officier d'état civil") says no more than the words it joins.
            concepts = {t for t in unit.terms if t.startswith(CONCEPT_PREFIX) and not t.startswith(LOCAL_CONCEPT)}
            if concepts and concepts <= SETTING_CONCEPTS:
                unit.terms = {term: weight * SETTING_WEIGHT for term, weight in unit.terms.items()}
        unknown = index.articles.unknown_idf()
        for unit in units:
            known = [index.articles.idf[t] for t in unit.terms if index.knows(t)]
            unit.weight = max(known) if known else unknown * _specificity(unit.word, index.language)
            if all(t.startswith(CONCEPT_PREFIX) for t in unit.terms):
                unit.weight = min(unit.weight, 1.0)
        return units, tokens

    @staticmethod
    def _title_bonus(index: PassageIndex, units: list[_Unit], candidates: np.ndarray) -> np.ndarray:
        # Weighted by the share of the question the title and tags cover: an article about all of it wins.
        bonus = np.zeros(candidates.size, dtype=np.float32)
        total = sum(u.weight for u in units) or 1.0
        for i, number in enumerate(candidates):
            title, keys = index.title_terms[number], index.key_terms[number]
            matched = sum(u.weight * (1.0 if any(t in title for t in u.terms) else TAG_WEIGHT)
                          for u in units if any(t in keys for t in u.terms))
            bonus[i] = matched * (TITLE_SHARE_FLOOR + (1 - TITLE_SHARE_FLOOR) * matched / total)
        return bonus

    @staticmethod
    def _with_follow_on(index: PassageIndex, number: int) -> str:
        """The passage's text, followed by the article's next section when the passage only leads into
        it (it ends with a colon, or is the article's short opening, "work through these steps"): an
        answer should carry the steps, not only announce them."""
        passage = index.passages[number]
        text = passage.markdown.rstrip()
        following = number + 1
        if following >= len(index.passages) or index.passages[following].article != passage.article:
            return passage.markdown
        leads_on = text.endswith(":") or (passage.position == 0 and len(plain(text).split()) < LEAD_IN_WORDS)
        if not leads_on or index.passages[following].fallback:
            return passage.markdown
        return text + "\n\n" + index.passages[following].markdown

    @staticmethod
    def _best_passage(index: PassageIndex, article: int, passage_scores: np.ndarray, units: list[_Unit]) -> int:
        """The passage of `article` that answers best: its BM25, slightly favouring earlier sections
        (articles put the usual fix first) and setting "still not working? contact support" sections
        back, unless the question is about support itself."""
        candidates = np.nonzero(index.passage_article == article)[0]
        about_support = any(t in FALLBACK_CONCEPTS for unit in units for t in unit.terms)
        best, best_score = int(candidates[0]), -1.0
        for number in candidates:
            passage = index.passages[number]
            score = float(passage_scores[number]) * (1.0 - PASSAGE_POSITION_DECAY * min(passage.position, 5))
            if passage.fallback and not about_support:
                score *= FALLBACK_FACTOR
            if score > best_score:
                best, best_score = int(number), score
        return best

    @staticmethod
    def _signals(index: PassageIndex, units: list[_Unit], article: int, top: float, second: float) -> dict[str, float]:
        """What the confidence is computed from, each in [0, 1] (see `calibrated`).

        - coverage: share of the question's words (weighted by rarity; a word no article contains
          weighs fully against it) found in the best article;
        - outline_coverage: the same within what the article says it is about (its title, tags and
          headings: "passport" in a list of ID documents is not what the article answers);
        - unknown: share of the question no article knows at all;
        - margin: lead of the best article over the runner-up, times coverage;
        - length: how many ideas the question holds, on a log scale (1 from LENGTH_FULL on). A long
          message's words and meaning spread over its context, so the same coverage and closeness
          say more of it than of a short question, and the calibration needs to know which it reads.
        The caller adds `semantic` (the best article's closeness) when it has the question's vector.
        """
        total = sum(u.weight for u in units)
        if total <= 0:
            return {}
        outline = index.outline_terms[article]
        in_article = in_outline = unknown = 0.0
        for unit in units:
            in_article += _found(index, unit, lambda term: _posting_has(index, term, article))
            in_outline += _found(index, unit, lambda term: term in outline)
            if not any(index.knows(term) for term in unit.terms):
                unknown += unit.weight
        return {
            "coverage": in_article / total,
            "outline_coverage": in_outline / total,
            "unknown": unknown / total,
            # A lead counts as much as the question it rests on: one rare word matched alone leads far.
            "margin": (min(max((top - second) / top, 0.0), 1.0) if top > 0 else 0.0) * in_article / total,
            "length": min(math.log1p(len(units)) / math.log1p(LENGTH_FULL), 1.0),
        }


class _Meaning:
    """The question's sentence vector, encoded only when an index has vectors, once per reading."""

    def __init__(self, encoder: semantic.Encoder | None):
        self._encoder, self._vectors = encoder, {}

    def of(self, tokens: list[str], language: str) -> np.ndarray | None:
        """The vector of the question as read in `language`: its words, chat spellings spelt out,
        typos corrected and accents put back ("desactive" -> "désactivé"), which the encoder knows."""
        if self._encoder is None:
            return None
        text = " ".join(vocabulary.accented(token, language) for token in tokens)
        if text not in self._vectors:
            try:
                self._vectors[text] = self._encoder.encode([text])[0]
            except Exception:
                log.exception("assistant: the question could not be encoded; answering from words")
                self._vectors[text] = None
        return self._vectors[text]


def calibrated(signals: dict[str, float], calibration: dict[str, float] | None = None) -> float:
    """The confidence: a logistic map of the signals, fitted on the development set
    (`benchmarks/assistant_calibrate.py` prints the weights)."""
    if not signals:
        return 0.0
    weights = calibration or (CALIBRATION if "semantic" in signals else CALIBRATION_WORDS)
    z = weights["bias"] + sum(weights.get(name, 0.0) * value for name, value in signals.items())
    return 1.0 / (1.0 + math.exp(-z))


def _specificity(word: str, language: str) -> float:
    """How much a word no article contains says about the question, relative to the rarest known word.

    A rare word of the language ("diem", "legitimation": Zipf 3 or less) names something the content
    does not cover and counts fully; a common one ("took", "city": Zipf 5 and more) is mostly context
    and counts for a fifth to a third. A string the language does not know at all is most often a
    typo that could not be corrected: it counts for a little over half.
    """
    frequency = vocabulary.zipf(word, language)
    if not frequency:
        return UNKNOWN_WORD_WEIGHT
    return min(1.0, max(SPECIFICITY[2], (SPECIFICITY[0] - frequency) / SPECIFICITY[1]))


def _found(index: PassageIndex, unit: _Unit, has: Callable[[str], bool]) -> float:
    """How much of the question `unit` is found where `has` looks: its weight if its own word is there;
    CONCEPT_CREDIT of it if only its lexicon concept is and the word has a meaning of its own, being
    used elsewhere in the articles or an ordinary word of the language ("passport" where an article says
    "ID document": related, but not what it is about); all of it if the word is an abbreviation or a
    chat spelling that the articles never use ("mdp": the concept is all it means)."""
    literal = [term for term in unit.terms if not term.startswith(CONCEPT_PREFIX)]
    if any(has(term) for term in literal):
        return unit.weight * unit.credit
    if any(has(term) for term in unit.terms if term.startswith(CONCEPT_PREFIX)):
        own_meaning = (any(index.knows(term) for term in literal)
                       or vocabulary.is_word(unit.word, index.language, ORDINARY_WORD))
        share = CONCEPT_CREDIT if own_meaning else 1.0
        return unit.weight * unit.credit * share
    return 0.0


def _posting_has(index: PassageIndex, term: str, article: int) -> bool:
    posting = index.articles.postings.get(term)
    if posting is None:
        return False
    ids = posting[0]
    at = int(np.searchsorted(ids, article))
    return at < ids.size and ids[at] == article


def _locales(tenant: Any) -> list[str]:
    """The tenant's locales, its default first."""
    return [tenant.default_locale] + [loc for loc in tenant.locales if loc != tenant.default_locale]


def _pivot_locale(tenant: Any) -> str:
    """The tenant's locale in PIVOT_LANGUAGE ("en_GB" counts), else the language itself."""
    return next((loc for loc in tenant.locales if base_language(loc) == PIVOT_LANGUAGE), PIVOT_LANGUAGE)


def _own_numbers(twins: np.ndarray, pivot_numbers: np.ndarray) -> np.ndarray:
    """The numbers in an index of the articles whose pivot-locale twins are `pivot_numbers`."""
    return np.nonzero(np.isin(twins, pivot_numbers))[0]


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    if scores.size <= k:
        return np.argsort(-scores)
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part])]
