"""Full-text search over each tenant's view of its articles, on SQLite and PostgreSQL.

`SearchDocument` rows hold what readers of one locale see (values filled). The engine-specific
index over them is maintained by database triggers, so bulk loads and deletes keep it right:
- SQLite: an FTS5 table over stemmed words (Snowball stemmers in Python, language of each
  locale), with the tenant, locale, category and audience as filter tokens in the same index;
- PostgreSQL: a weighted tsvector per document (title A, body B), built with the text-search
  configuration of its language (english, french, ... or simple) and holding the filter tokens
  too, in a table with a GIN index.
A search reads at most COUNT_LIMIT matches (the total is capped there) and ranks a bounded set of
them with a title boost: ts_rank on PostgreSQL, BM25 over the stemmed words on SQLite (FTS5's
own bm25() would count every article holding each word first). A query is read as staff type it
on a phone (`read_query`): chat abbreviations ("mdp") and the country's own synonyms are written out,
grammar words are left out, each word is looked for in every form the articles use whatever its
accents ("oublie" finds "oublié"), and a word they never use is corrected against the tenant's
vocabulary (rapidfuzz). Snippets, made for the returned page only, are escaped text with the
matched words marked.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from markupsafe import Markup
from rapidfuzz import fuzz, process
from flask import current_app
from sqlalchemy import DDL, delete, event, func, insert, select, text
from sqlalchemy.orm import load_only

from portal.assistant.text import expand_chat, fold, stop_words
from portal.core.words import WORD_RE, is_letters, strip_accents
from portal.core import versions
from portal.core.db import db, row_id, tenant_scope, utcnow
from portal.kb.models import GENERIC_CONTENT, Audience, SearchDocument, SearchLog, SearchTerm, tenant_content
from portal.kb.rendering import html_to_text
from portal.tenancy.models import TENANTS
from portal.tenancy.signals import tenant_settings_changed

# Snowball stemmer and PostgreSQL configuration for each language we can stem.
STEMMERS = {
    "en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "de": "german", "it": "italian",
    "nl": "dutch", "sw": None, "ar": "arabic", "ru": "russian", "tr": "turkish", "id": "indonesian",
}
PG_CONFIGS = {
    "en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "de": "german", "it": "italian",
    "nl": "dutch", "ru": "russian", "tr": "turkish", "ar": "arabic", "id": "indonesian",
}
_local = threading.local()

SQLITE_DDL = [
    # Marks (M*) are letters of words too: the vowel signs of Bengali, Hindi or Tamil ("নিবন্ধন" is one word).
    "CREATE VIRTUAL TABLE kb_search_fts USING fts5(filters, title, body, "
    "tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\")",
    "CREATE TRIGGER kb_search_fts_ai AFTER INSERT ON kb_search_documents BEGIN "
    "INSERT INTO kb_search_fts (rowid, filters, title, body) VALUES (new.id, new.filters, new.title_index, new.body_index); END",
    "CREATE TRIGGER kb_search_fts_ad AFTER DELETE ON kb_search_documents BEGIN "
    "DELETE FROM kb_search_fts WHERE rowid = old.id; END",
    "CREATE TRIGGER kb_search_fts_au AFTER UPDATE ON kb_search_documents BEGIN "
    "DELETE FROM kb_search_fts WHERE rowid = old.id; "
    "INSERT INTO kb_search_fts (rowid, filters, title, body) VALUES (new.id, new.filters, new.title_index, new.body_index); END",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS kb_search_fts_au", "DROP TRIGGER IF EXISTS kb_search_fts_ad",
               "DROP TRIGGER IF EXISTS kb_search_fts_ai", "DROP TABLE IF EXISTS kb_search_fts"]
# The vector holds the title (weight A), the body (B) and the filter tokens as '~'-prefixed
# lexemes (no word of a query can be one), so one GIN lookup narrows to the tenant, locale,
# category and audience. The index skips the pending list (fastupdate off): articles change
# seldom, searches often, and every search would otherwise read the whole pending list.
PG_VECTOR = (
    "setweight(to_tsvector(NEW.ts_config::regconfig, NEW.title), 'A') || "
    "setweight(to_tsvector(NEW.ts_config::regconfig, NEW.body_text), 'B') || "
    "array_to_tsvector(ARRAY(SELECT '~' || t FROM unnest(string_to_array(NEW.filters, ' ')) AS t WHERE t <> ''))"
)
PG_DDL = [
    "CREATE TABLE kb_search_fts (doc_id integer PRIMARY KEY REFERENCES kb_search_documents (id) ON DELETE CASCADE, "
    "vector tsvector NOT NULL)",
    "CREATE INDEX kb_search_fts_vector ON kb_search_fts USING gin (vector) WITH (fastupdate = off)",
    "CREATE FUNCTION kb_search_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO kb_search_fts (doc_id, vector) VALUES (NEW.id, {PG_VECTOR}) "
    "ON CONFLICT (doc_id) DO UPDATE SET vector = EXCLUDED.vector; RETURN NEW; END $$",
    "CREATE TRIGGER kb_search_fts_sync AFTER INSERT OR UPDATE ON kb_search_documents "
    "FOR EACH ROW EXECUTE FUNCTION kb_search_fts_sync()",
]
PG_DROP = ["DROP TRIGGER IF EXISTS kb_search_fts_sync ON kb_search_documents",
           "DROP FUNCTION IF EXISTS kb_search_fts_sync()", "DROP TABLE IF EXISTS kb_search_fts"]

for _statement in SQLITE_DDL:
    event.listen(SearchDocument.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in SQLITE_DROP:
    event.listen(SearchDocument.__table__, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in PG_DDL:
    event.listen(SearchDocument.__table__, "after_create", DDL(_statement.replace("%", "%%")).execute_if(dialect="postgresql"))
for _statement in PG_DROP:
    event.listen(SearchDocument.__table__, "before_drop", DDL(_statement).execute_if(dialect="postgresql"))


# -- words --------------------------------------------------------------------------------------


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0].lower()


def pg_config(locale: str) -> str:
    return PG_CONFIGS.get(_language(locale), "simple")


def words(value: str) -> list[str]:
    return WORD_RE.findall(value.casefold())


def stems(value: str | list[str], locale: str) -> list[str]:
    """Snowball stems of the words of `value` in the language of `locale` (words themselves if none)."""
    tokens = words(value) if isinstance(value, str) else value
    language = STEMMERS.get(_language(locale))
    return [_stem(token, language) for token in tokens] if language else list(tokens)


@lru_cache(maxsize=200_000)
def _stem(word: str, language: str) -> str:
    # Readers use a small vocabulary, so each word is stemmed once per process.
    return _stemmer(language).stemWord(word)


def _fold(value: str) -> str:
    """`value` without accents and ligatures ("vérifié" → "verifie", "œuvre" → "oeuvre"), as the
    SQLite index compares words."""
    return strip_accents(value)


def scope_token(tenant_id: int, locale: str) -> str:
    return f"s{tenant_id}{re.sub(r'[^a-z0-9]', '', locale.lower())}"


def filter_tokens(tenant_id: int, locale: str, category: str, audience: str) -> str:
    return f"{scope_token(tenant_id, locale)} cat{re.sub(r'[^a-z0-9]', '', category.lower())} aud{audience}"


# -- indexing -----------------------------------------------------------------------------------


def document_row(tenant_id: int, locale: str, slug: str, content_locale: str, category: str, audience: str, title: str, body_text: str) -> dict:
    """The column values of one search document (also used by bulk loaders such as the benchmark)."""
    return {
        "tenant_id": tenant_id, "slug": slug, "locale": locale, "content_locale": content_locale,
        "category": category, "audience": audience, "title": title, "body_text": body_text,
        "scope": scope_token(tenant_id, locale), "filters": filter_tokens(tenant_id, locale, category, audience),
        "title_index": _fold(" ".join(stems(title, content_locale))), "body_index": _fold(" ".join(stems(body_text, content_locale))),
        "ts_config": pg_config(content_locale), "updated_at": utcnow(),
    }


def _index_views(tenant, views) -> None:
    rows = [
        document_row(tenant.id, v.asked_locale, v.slug, v.locale, v.category, v.audience, v.title, html_to_text(v.body_html))
        for v in views
    ]
    if rows:
        db.session.execute(insert(SearchDocument), rows)
    by_locale: dict[str, set[str]] = {}
    for row in rows:
        by_locale.setdefault(row["locale"], set()).update(w for w in words(row["title"] + " " + row["body_text"]) if len(w) > 2 and is_letters(w))
    for locale, found in by_locale.items():
        add_terms(tenant.id, locale, found)


def add_terms(tenant_id: int, locale: str, found: set[str]) -> None:
    known = set(db.session.scalars(select(SearchTerm.term).where(SearchTerm.locale == locale)))
    new = sorted(w[:80] for w in found - known)
    if new:
        db.session.execute(insert(SearchTerm), [{"tenant_id": tenant_id, "locale": locale, "term": w} for w in new])
    _vocabularies().pop((tenant_id, locale), None)


def reindex(tenant, slug: str) -> None:
    """Rebuild the search documents of one article of `tenant`, in each of its locales."""
    from portal.kb.services import tenant_view

    with tenant_scope(db.session, tenant.id):
        db.session.flush()
        db.session.execute(delete(SearchDocument).where(SearchDocument.slug == slug))
        views = [v for locale in tenant.locales for v in tenant_view(tenant, locale, audience=Audience.STAFF, slug=slug)]
        _index_views(tenant, views)


def reindex_tenant(tenant) -> int:
    """Rebuild every search document of `tenant` (after a configuration change, for example)."""
    from portal.kb.services import tenant_view

    with tenant_scope(db.session, tenant.id):
        db.session.flush()
        db.session.execute(delete(SearchDocument))
        views = [v for locale in tenant.locales for v in tenant_view(tenant, locale, audience=Audience.STAFF)]
        _index_views(tenant, views)
        return len(views)


@tenant_settings_changed.connect
def _reindex_changed_tenant(sender, tenant, **kwargs) -> None:
    # New settings (a synced tenant.toml, a reported version) may change the values filled into
    # articles, or the locales: without this, search would show the old values until `kb reindex`.
    reindex_tenant(tenant)


def reindex_everywhere(slug: str) -> None:
    """A generic article changed: rebuild its documents in every tenant."""
    from portal.tenancy.services import list_tenants

    db.session.flush()
    for tenant in list_tenants():
        reindex(tenant, slug)


# -- typo tolerance -----------------------------------------------------------------------------

def _vocabularies() -> dict[tuple[int, str], "_Vocabulary"]:
    """Each tenant's vocabulary per locale, kept in memory by the app."""
    return current_app.extensions.setdefault("kb_vocabularies", {})


@dataclass
class _Vocabulary:
    """The words of a tenant's articles in one locale, grouped by their stem without accents, so that
    a word typed without its accents ("oublie", "verification") meets every form the articles use."""

    version: tuple
    forms: dict[str, tuple[str, ...]]  # folded stem -> the article words that have it
    folded: dict[str, str]  # a word without accents -> one article word it is (for typo correction)
    choices: list[str] = field(default_factory=list)  # the keys of `folded`, as the typo matcher takes them
    # The country's synonym rules as this vocabulary reads them (see `_synonym_rules`), by synonym groups.
    rules: dict[tuple, dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]] = field(default_factory=dict)
    tokens: tuple[str, ...] | None = None  # the version tokens when it was last checked (`_current_vocabulary`)
    checked_at: float = 0.0

    @classmethod
    def of(cls, version: tuple, terms: list[str], locale: str) -> "_Vocabulary":
        # Grammar words are left out: a query word is never read as one ("pase" is not a form of "pas").
        stops = stop_words(locale)
        terms = [term for term in terms if fold(term) not in stops]
        plains = [_fold(term) for term in terms]
        language = STEMMERS.get(_language(locale))
        keys = _stemmer(language).stemWords(plains) if language else plains
        forms: dict[str, list[str]] = {}
        folded: dict[str, str] = {}
        for term, plain, key in zip(terms, plains, keys):
            forms.setdefault(_fold(key), []).append(term)
            if folded.get(plain) != plain:
                folded[plain] = term
        return cls(version, {key: tuple(words) for key, words in forms.items()}, folded, list(folded))

    def forms_of(self, word: str, locale: str) -> tuple[str, ...]:
        return self.forms.get(_stem_key(_fold(word), locale), ())


def _stemmer(language: str):
    """This thread's Snowball stemmer for `language` (stemmers are not thread-safe)."""
    cache = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if language not in cache:
        cache[language] = snowballstemmer.stemmer(language)
    return cache[language]


def _stem_key(plain: str, locale: str) -> str:
    return _fold(stems([plain], locale)[0])


def _vocabulary(tenant_id: int, locale: str) -> _Vocabulary:
    """The tenant's words in `locale` (cached until a word is added)."""
    version = tuple(db.session.execute(select(func.count(SearchTerm.id), func.max(SearchTerm.id)).where(SearchTerm.locale == locale)).one())
    cached = _vocabularies().get((tenant_id, locale))
    if cached is None or cached.version != version:
        cached = _Vocabulary.of(version, list(db.session.scalars(select(SearchTerm.term).where(SearchTerm.locale == locale))), locale)
        _vocabularies()[(tenant_id, locale)] = cached
    return cached


def _current_vocabulary(tenant_id: int, locale: str) -> _Vocabulary:
    """The vocabulary in memory, checked against the database when the version tokens of the
    tenant's content or settings have changed since it was (another process added words), or at
    least every `versions.MAX_AGE` seconds. Without a token store, the copy in memory is used (and
    read again when a query has a word it does not know, see `_in_articles_words`)."""
    tokens = versions.current(GENERIC_CONTENT, tenant_content(tenant_id), TENANTS)
    cached = _vocabularies().get((tenant_id, locale))
    if cached is not None and (tokens is None or (cached.tokens == tokens and versions.fresh(cached.checked_at))):
        return cached
    checked_at = time.monotonic()
    cached = _vocabulary(tenant_id, locale)
    cached.tokens, cached.checked_at = tokens, checked_at
    return cached


def _needs_no_guess(word: str) -> bool:
    """Too short to guess, or not a word (a number, a reference): looked for as typed."""
    return len(word) < 4 or not is_letters(word)


# A word is looked for in at most this many of its forms ("oublié", "oubliée", "oublie"...).
MAX_FORMS = 8


def _in_articles_words(tenant, locale: str, query_words: list[str],
                       cached: _Vocabulary) -> tuple[list[tuple[str, ...]], list[bool], dict[str, str]]:
    """Each word of the query as the forms the articles use (accents and endings aside); a word they
    never use is replaced by the closest one they do. Also, per word, whether the articles may hold
    it, and the words guessed that way (typed -> guess).

    The vocabulary in memory is used while it knows every word (words are only ever added to it), so
    the usual query asks the database nothing."""
    stops = stop_words(locale)

    def guessable(word: str) -> bool:
        # A grammar word is here only when the query has nothing else ("assistance", "urgent"): it is
        # a word, not a typo, and is looked for as typed, like a short word or a number.
        return not _needs_no_guess(word) and fold(word) not in stops

    if any(guessable(w) and not cached.forms_of(w, locale) for w in query_words):
        cached = _vocabulary(tenant.id, locale)
    groups: list[tuple[str, ...]] = []
    known: list[bool] = []
    guessed: dict[str, str] = {}
    for word in query_words:
        forms = cached.forms_of(word, locale) if fold(word) not in stops else ()
        if forms:
            group = (word, *forms) if word in forms else forms
        elif guessable(word) and cached.folded:
            best = process.extractOne(_fold(word), cached.choices, scorer=fuzz.ratio, score_cutoff=75)
            if best:
                guessed[word] = guess = cached.folded[best[0]]
                forms = cached.forms_of(guess, locale)
                group = (guess, *forms)
        if not forms:
            group = (word,)
        groups.append(tuple(dict.fromkeys(group))[:MAX_FORMS])
        known.append(bool(forms) or not guessable(word))
    return groups, known, guessed


def read_query(tenant, locale: str, typed: list[str]) -> tuple[list[tuple[str, ...]], list[bool], str | None]:
    """The query read as the assistant reads a question: chat abbreviations and the country's own
    synonyms written out as the articles write them, grammar words left out (unless there is nothing
    else), each word as the forms the articles use, typos corrected. `typed`: the query's `words`.
    Returns the word groups (one per word: any of its forms matches), whether the articles may hold
    each, and, when a word was guessed, the query to show instead."""
    vocabulary = _current_vocabulary(tenant.id, locale)
    tokens: list[str] = []
    for word in typed:
        plain = fold(word)
        written = expand_chat([plain], locale) if not vocabulary.forms_of(word, locale) else [plain]
        tokens.extend(written if written != [plain] else [word])
    tokens = _with_synonyms(tenant, locale, tokens, vocabulary)
    stops = stop_words(locale)
    content = [t for t in tokens if fold(t) not in stops] or tokens
    groups, known, guessed = _in_articles_words(tenant, locale, content, vocabulary)
    shown = " ".join(guessed.get(token, token) for token in tokens) if guessed else None
    return groups, known, shown


def _with_synonyms(tenant, locale: str, tokens: list[str], vocabulary: _Vocabulary) -> list[str]:
    """`tokens` with each phrase of a country synonym group ("OEC") that the articles do not use
    replaced by the group's first phrase that they do ("officier d'état civil")."""
    settings = getattr(tenant, "settings", None)
    groups = settings.assistant.synonyms.get(locale, []) if settings is not None else []
    if not groups:
        return tokens
    rules = _synonym_rules(vocabulary, locale, groups)
    plain = [_fold(t) for t in tokens]
    out: list[str] = []
    position = 0
    while position < len(tokens):
        for phrase, replacement in rules.get(plain[position], ()):
            if tuple(plain[position:position + len(phrase)]) == phrase:
                out.extend(replacement)
                position += len(phrase)
                break
        else:
            out.append(tokens[position])
            position += 1
    return out


def _synonym_rules(vocabulary: _Vocabulary, locale: str, groups: list[list[str]]):
    """{first word: [(phrase, replacement)]}, longest phrases first, for the phrases of `groups` that
    the articles do not use, replaced by their group's first phrase that they do (none if none does).
    Made once per vocabulary and groups: a search only looks its words up."""
    key = tuple(tuple(group) for group in groups)
    rules = vocabulary.rules.get(key)
    if rules is None:
        stops = stop_words(locale)
        rules = {}
        for group in groups:
            phrases = [tuple(_fold(w) for w in words(phrase)) for phrase in group]
            used = [p for p in phrases if any(vocabulary.forms_of(w, locale) for w in p)
                    and all(vocabulary.forms_of(w, locale) or w in stops for w in p)]
            for phrase in phrases:
                if phrase and used and phrase not in used:
                    rules.setdefault(phrase[0], []).append((phrase, used[0]))
        for candidates in rules.values():
            candidates.sort(key=lambda rule: -len(rule[0]))
        vocabulary.rules[key] = rules
    return rules


# -- querying -----------------------------------------------------------------------------------


@dataclass
class SearchHit:
    slug: str
    title: str
    locale: str
    category: str
    snippet: Markup
    title_html: Markup
    url: str
    score: float


@dataclass
class SearchResults:
    query: str
    total: int
    hits: list[SearchHit] = field(default_factory=list)
    corrected_query: str | None = None
    search_id: int | None = None
    # True when more than COUNT_LIMIT articles match: `total` is then COUNT_LIMIT, a lower bound.
    total_capped: bool = False

    @property
    def token(self) -> str | None:
        """What a result link carries (`?sid=`) to record which article the search opened."""
        return search_token(self.search_id) if self.search_id else None


def _search_signature(search_id: int) -> str:
    return hmac.new(current_app.secret_key.encode(), f"kb-search:{search_id}".encode(), hashlib.sha256).hexdigest()[:16]


def search_token(search_id: int) -> str:
    """The search's id, signed: only a reader who made the search (and got its links) can record
    what it opened, not anyone writing ids into addresses to skew the insights."""
    return f"{search_id}.{_search_signature(search_id)}"


def search_of_token(token: str | None) -> int | None:
    """The search id a `search_token` carries, or None when it is not one."""
    number, _, signature = (token or "").partition(".")
    search_id = row_id(number)
    if search_id is None or not hmac.compare_digest(signature.encode(), _search_signature(search_id).encode()):
        return None
    return search_id


# Matches are counted up to COUNT_LIMIT: past it, "more than 1000 articles" tells a reader as much
# as an exact figure, and counting every article that holds a common word costs a scan of them all.
COUNT_LIMIT = 1000
# Ranking is computed for at most RANK_CANDIDATES matches, and as many more with a query word in
# their title among the first COUNT_LIMIT matches, taken in index order: a query made only of words
# nearly every article uses would otherwise rank the whole knowledge base. Title matches are the
# ones a title boost would put first.
RANK_CANDIDATES = 300
# BM25 parameters and the weight of a title word against a body word (SQLite, ranked in Python).
TITLE_WEIGHT, BM25_K1, BM25_B = 5.0, 1.2, 0.75


@dataclass
class _Matches:
    ranked: list[tuple[int, float]]  # (document id, score), best first, the asked page only
    total: int
    capped: bool


def _filter_tokens(tenant_id: int, locale: str, category: str | None, audience: str) -> list[str]:
    tokens = [scope_token(tenant_id, locale)]
    if category:
        tokens.append("cat" + re.sub(r"[^a-z0-9]", "", category.lower()))
    if audience == Audience.PUBLIC:
        tokens.append("audpublic")
    return tokens


def _bm25(title: str, body: str, groups: list[list[str]], length: int, average_length: float) -> float:
    """BM25 of one document's stemmed title and body for the query's words (each a group of stems
    any of which counts), a title word counting TITLE_WEIGHT times.

    Every candidate holds every word (or, in the any-word fallback, one of them), so the inverse
    document frequency, which would cost a count over the whole index per word, is left out.
    """
    # Words are single-space separated: doubling the spaces gives each its own, so `count` sees them all.
    title_padded, body_padded = f" {title.replace(' ', '  ')} ", f" {body.replace(' ', '  ')} "
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average_length)
    score = 0.0
    for group in groups:
        frequency = sum(TITLE_WEIGHT * title_padded.count(f" {term} ") + body_padded.count(f" {term} ") for term in group)
        score += frequency * (BM25_K1 + 1) / (frequency + norm)
    return score


def _sqlite_matches(tenant_id, locale, groups, category, audience, limit, offset, any_term) -> _Matches:
    alternatives = [[s for s in dict.fromkeys(_fold(s) for s in stems(list(group), locale)) if s and '"' not in s] for group in groups]
    alternatives = [list(dict.fromkeys(group)) for group in alternatives if group]
    folded = list(dict.fromkeys(s for group in alternatives for s in group))
    if not folded:
        return _Matches([], 0, False)
    quoted = ["(" + " OR ".join('"' + s + '"' for s in group) + ")" for group in alternatives]
    filters = " AND ".join(f"filters : {token}" for token in _filter_tokens(tenant_id, locale, category, audience))
    match = f"{filters} AND {{title body}} : ({(' OR ' if any_term else ' AND ').join(quoted)})"
    conn = db.session.connection()
    # One pass gives the count (up to the limit) and the candidates, in index order.
    matched = conn.execute(text("SELECT rowid FROM kb_search_fts WHERE kb_search_fts MATCH :m LIMIT :n"), {"m": match, "n": COUNT_LIMIT + 1}).scalars().all()
    if not matched:
        return _Matches([], 0, False)
    # The index keeps the stemmed (folded) title and body: what ranking needs, read by id.
    by_ids = text("SELECT rowid, title, body FROM kb_search_fts WHERE rowid IN (SELECT value FROM json_each(:ids))")
    candidates = matched[:RANK_CANDIDATES]
    if len(matched) > RANK_CANDIDATES:
        # Matches past the ranked ones still compete when a query word is in their title.
        titles = conn.execute(text("SELECT rowid, title FROM kb_search_fts WHERE rowid IN (SELECT value FROM json_each(:ids))"),
                              {"ids": json.dumps(matched[RANK_CANDIDATES:COUNT_LIMIT])}).all()
        candidates += [doc_id for doc_id, title in titles if any(f" {s} " in f" {title} " for s in folded)][:RANK_CANDIDATES]
    rows = conn.execute(by_ids, {"ids": json.dumps(candidates)}).all()
    lengths = {doc_id: (title.count(" ") + 1 if title else 0) + (body.count(" ") + 1 if body else 0) for doc_id, title, body in rows}
    average = max(1.0, sum(lengths.values()) / len(lengths))
    scored = sorted((-_bm25(title, body, alternatives, lengths[doc_id], average), doc_id) for doc_id, title, body in rows)
    page = [(doc_id, -score) for score, doc_id in scored[offset:offset + limit]]
    return _Matches(page, min(len(matched), COUNT_LIMIT), len(matched) > COUNT_LIMIT)


def _pg_matches(tenant_id, locale, groups, category, audience, limit, offset, any_term) -> _Matches:
    # Words are \w+ runs (no operator or quote), so the query text is "(a | b) & c".
    every_word = "to_tsquery(CAST(:cfg AS regconfig), :q)"
    any_word = f"CAST(replace(CAST({every_word} AS text), '&', '|') AS tsquery)"
    query = any_word if any_term else every_word
    # The scope, category and audience are lexemes of each vector ('~s1en', ...), so the GIN index
    # narrows to them. A query of stop words only is empty and must match nothing, not everything.
    matching = f"vector @@ ({query} && CAST(:filters AS tsquery)) AND numnode({query}) > 0"
    params = {
        "cfg": pg_config(locale), "q": " & ".join("(" + " | ".join(group) + ")" for group in groups), "n": limit, "o": offset, "count": COUNT_LIMIT + 1,
        "rank": RANK_CANDIDATES, "filters": " & ".join(f"'~{t}'" for t in _filter_tokens(tenant_id, locale, category, audience)),
    }
    # Title matches (the title's lexemes are those of weight A) are taken among the counted matches.
    sql = f"""
        WITH matched AS (SELECT doc_id, vector FROM kb_search_fts WHERE {matching} LIMIT :count),
        candidates AS (
            (SELECT doc_id, vector FROM matched LIMIT :rank)
            UNION ALL (SELECT doc_id, vector FROM matched WHERE ts_filter(vector, '{{a}}') @@ {any_word} LIMIT :rank)
        )
        SELECT counted.total, ranked.doc_id, ranked.score
        FROM (SELECT count(*) AS total FROM matched) AS counted
        LEFT JOIN LATERAL (
            SELECT doc_id, max(ts_rank(vector, {query})) AS score FROM candidates
            GROUP BY doc_id ORDER BY score DESC, doc_id LIMIT :n OFFSET :o
        ) AS ranked ON true
    """
    conn = db.session.connection()
    # The planner must see this query's words: with a generic plan (psycopg prepares a statement
    # run five times) it cannot tell a word in every article from a rare one, and picks badly.
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    rows = conn.execute(text(sql), params).all()
    total = rows[0].total
    ranked = [(row.doc_id, float(row.score)) for row in rows if row.doc_id is not None]
    return _Matches(ranked, min(total, COUNT_LIMIT), total > COUNT_LIMIT)


def _ranked(tenant_id, locale, groups, known, category, audience, limit, offset) -> _Matches:
    """Articles with every word the tenant's articles use (others cannot match), else with any word."""
    finder = _pg_matches if db.session.get_bind().dialect.name == "postgresql" else _sqlite_matches
    usable = [group for group, is_known in zip(groups, known) if is_known]
    found = finder(tenant_id, locale, usable, category, audience, limit, offset, any_term=False) if usable else _Matches([], 0, False)
    if found.total == 0 and len(groups) > 1:
        found = finder(tenant_id, locale, groups, category, audience, limit, offset, any_term=True)
    return found


_TOKENS_RE = re.compile(f"({WORD_RE.pattern})")
# Matches are wrapped in these (private-use characters, removed from the text first) and the
# whole snippet is escaped at once; they then become the <mark> tags.
_MARK_OPEN, _MARK_CLOSE = "\ue002", "\ue003"
_MARKERS = str.maketrans("", "", _MARK_OPEN + _MARK_CLOSE)


def highlight(value: str, query_stems: set[str], locale: str, width: int = 28) -> Markup:
    """`value` (or a window of `width` words around the first match), escaped, matches in <mark>."""
    tokens = _TOKENS_RE.split(value.translate(_MARKERS))  # words at the odd positions
    language = STEMMERS.get(_language(locale))

    def matches(token: str) -> bool:
        word = token.casefold()
        return (_stem(word, language) if language else word) in query_stems

    if width and len(tokens) > width * 2:
        first = next((i for i in range(1, len(tokens), 2) if matches(tokens[i])), 1)
        start = max(0, first - width // 2 * 2)
        if start % 2 == 0:
            start = max(start - 1, 0)
        stop = start + width * 2
        prefix, suffix = ("… " if start > 1 else ""), (" …" if stop < len(tokens) else "")
    else:
        start, stop, prefix, suffix = 0, len(tokens), "", ""
    parts = []
    for position in range(start, min(stop, len(tokens))):
        token = tokens[position]
        parts.append(_MARK_OPEN + token + _MARK_CLOSE if position % 2 and matches(token) else token)
    snippet = html.escape("".join(parts).strip()).replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>")
    return Markup(prefix + snippet + suffix)


def search(tenant, locale: str, query: str, *, category: str | None = None, audience: str = Audience.PUBLIC,
           limit: int = 10, offset: int = 0, user=None, channel: str = "web", log: bool = True) -> SearchResults:
    """Search `tenant`'s articles for readers of `locale`; records the search unless `log` is false.

    Words the tenant's articles never use are corrected to the closest known word; results are
    ranked (title matches first) with highlighted, escaped snippets.
    """
    locale = tenant.best_locale(locale)
    query = (query or "").strip()[:500]
    terms = words(query)[:20]
    results = SearchResults(query=query, total=0)
    if terms:
        groups, known, results.corrected_query = read_query(tenant, locale, terms)
        corrected = [word for group in groups for word in group]
        found = _ranked(tenant.id, locale, groups, known, category, audience, limit, offset)
        results.total, results.total_capped, ranked = found.total, found.capped, found.ranked
        shown = load_only(SearchDocument.tenant_id, SearchDocument.slug, SearchDocument.title, SearchDocument.content_locale,
                          SearchDocument.category, SearchDocument.body_text)
        docs = {d.id: d for d in db.session.scalars(select(SearchDocument).options(shown).where(SearchDocument.id.in_([i for i, _ in ranked])))}
        query_stems = set(stems(corrected, locale))
        for doc_id, score in ranked:
            doc = docs.get(doc_id)
            if doc is None:  # scoping refused it: never show it
                continue
            results.hits.append(SearchHit(
                slug=doc.slug, title=doc.title, locale=doc.content_locale, category=doc.category,
                snippet=highlight(doc.body_text, query_stems, doc.content_locale),
                title_html=highlight(doc.title, query_stems, doc.content_locale, width=0),
                url=f"/{tenant.slug}/kb/articles/{doc.slug}", score=round(score, 4),
            ))
    if log and terms:
        entry = SearchLog(locale=locale, query=query, category=category or None, result_count=results.total,
                          channel=channel, user_id=getattr(user, "id", None))
        db.session.add(entry)
        db.session.flush()
        results.search_id = entry.id
    return results
