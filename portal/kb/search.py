"""Full-text search over each tenant's view of its articles, on SQLite and PostgreSQL.

`SearchDocument` rows hold what readers of one locale see (values filled). The engine-specific
index over them is maintained by database triggers, so bulk loads and deletes keep it right:
- SQLite: an FTS5 table over stemmed words (Snowball stemmers in Python, language of each
  locale), with the tenant, locale, category and audience as filter tokens in the same index;
- PostgreSQL: a tsvector per document, built with the text-search configuration of its language
  (english, french, ... or simple), in a table with a GIN index.
Both rank with a title boost. Unknown query words are corrected against the tenant's vocabulary
(rapidfuzz), and snippets are escaped text with the matched words marked.
"""
from __future__ import annotations

import html
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from markupsafe import Markup
from rapidfuzz import fuzz, process
from sqlalchemy import DDL, delete, event, func, insert, select, text

from portal.core.db import db, tenant_scope, utcnow
from portal.kb.models import Audience, SearchDocument, SearchLog, SearchTerm
from portal.kb.rendering import html_to_text

# Snowball stemmer and PostgreSQL configuration for each language we can stem.
STEMMERS = {
    "en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "de": "german", "it": "italian",
    "nl": "dutch", "sw": None, "ar": "arabic", "ru": "russian", "tr": "turkish", "id": "indonesian",
}
PG_CONFIGS = {
    "en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "de": "german", "it": "italian",
    "nl": "dutch", "ru": "russian", "tr": "turkish", "ar": "arabic", "id": "indonesian",
}
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_local = threading.local()

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE kb_search_fts USING fts5(filters, title, body, tokenize = 'unicode61 remove_diacritics 2')",
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
PG_DDL = [
    "CREATE TABLE kb_search_fts (doc_id integer PRIMARY KEY REFERENCES kb_search_documents (id) ON DELETE CASCADE, "
    "scope varchar(40) NOT NULL, vector tsvector NOT NULL)",
    "CREATE INDEX kb_search_fts_vector ON kb_search_fts USING gin (vector)",
    "CREATE INDEX kb_search_fts_scope ON kb_search_fts (scope)",
    "CREATE FUNCTION kb_search_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO kb_search_fts (doc_id, scope, vector) VALUES (NEW.id, NEW.scope, "
    "setweight(to_tsvector(NEW.ts_config::regconfig, NEW.title), 'A') || "
    "setweight(to_tsvector(NEW.ts_config::regconfig, NEW.body_text), 'B')) "
    "ON CONFLICT (doc_id) DO UPDATE SET scope = EXCLUDED.scope, vector = EXCLUDED.vector; RETURN NEW; END $$",
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
    return _WORD_RE.findall(value.casefold())


def stems(value: str | list[str], locale: str) -> list[str]:
    """Snowball stems of the words of `value` in the language of `locale` (words themselves if none)."""
    tokens = words(value) if isinstance(value, str) else value
    language = STEMMERS.get(_language(locale))
    return [_stem(token, language) for token in tokens] if language else list(tokens)


@lru_cache(maxsize=200_000)
def _stem(word: str, language: str) -> str:
    # Readers use a small vocabulary, so each word is stemmed once per process.
    cache = getattr(_local, "stemmers", None)
    if cache is None:
        cache = _local.stemmers = {}
    if language not in cache:
        cache[language] = snowballstemmer.stemmer(language)
    return cache[language].stemWord(word)


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


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
        "title_index": " ".join(stems(title, content_locale)), "body_index": " ".join(stems(body_text, content_locale)),
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
        by_locale.setdefault(row["locale"], set()).update(w for w in words(row["title"] + " " + row["body_text"]) if len(w) > 2 and w.isalpha())
    for locale, found in by_locale.items():
        add_terms(tenant.id, locale, found)


def add_terms(tenant_id: int, locale: str, found: set[str]) -> None:
    known = set(db.session.scalars(select(SearchTerm.term).where(SearchTerm.locale == locale)))
    new = sorted(w[:80] for w in found - known)
    if new:
        db.session.execute(insert(SearchTerm), [{"tenant_id": tenant_id, "locale": locale, "term": w} for w in new])
    _vocabularies.pop((tenant_id, locale), None)


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


def reindex_everywhere(slug: str) -> None:
    """A generic article changed: rebuild its documents in every tenant."""
    from portal.tenancy.services import list_tenants

    db.session.flush()
    for tenant in list_tenants():
        reindex(tenant, slug)


# -- typo tolerance -----------------------------------------------------------------------------

_vocabularies: dict[tuple[int, str], tuple[tuple, list[str], set[str]]] = {}


def _vocabulary(tenant_id: int, locale: str) -> tuple[list[str], set[str]]:
    """The tenant's words in `locale`, and their stems (cached until a word is added)."""
    version = tuple(db.session.execute(select(func.count(SearchTerm.id), func.max(SearchTerm.id)).where(SearchTerm.locale == locale)).one())
    cached = _vocabularies.get((tenant_id, locale))
    if cached is None or cached[0] != version:
        terms = list(db.session.scalars(select(SearchTerm.term).where(SearchTerm.locale == locale)))
        cached = (version, terms, set(terms) | set(stems(terms, locale)))
        _vocabularies[(tenant_id, locale)] = cached
    return cached[1], cached[2]


def correct(tenant_id: int, locale: str, query_words: list[str]) -> list[str]:
    """Replace each word whose stem the tenant's articles never use by the closest word they do."""
    vocabulary, known = _vocabulary(tenant_id, locale)
    corrected = []
    for word in query_words:
        if word in known or stems([word], locale)[0] in known or len(word) < 4 or not word.isalpha() or not vocabulary:
            corrected.append(word)
            continue
        best = process.extractOne(word, vocabulary, scorer=fuzz.ratio, score_cutoff=75)
        corrected.append(best[0] if best else word)
    return corrected


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


def _sqlite_ids(tenant_id, locale, terms, category, audience, limit, offset, any_term):
    stemmed = [s for s in dict.fromkeys(stems(terms, locale)) if s]
    if not stemmed:
        return [], 0
    joiner = " OR " if any_term else " AND "
    match = "{title body} : (" + joiner.join('"' + _fold(s).replace('"', "") + '"' for s in stemmed) + ")"
    filters = [scope_token(tenant_id, locale)]
    if category:
        filters.append("cat" + re.sub(r"[^a-z0-9]", "", category.lower()))
    if audience == Audience.PUBLIC:
        filters.append("audpublic")
    match = " AND ".join(f"filters : {f}" for f in filters) + " AND " + match
    conn = db.session.connection()
    params = {"m": match, "n": limit, "o": offset, "floor": 0}
    total = conn.execute(text("SELECT count(*) FROM kb_search_fts WHERE kb_search_fts MATCH :m"), params).scalar() or 0
    if total > RANK_CANDIDATES:
        params["floor"] = conn.execute(
            text("SELECT rowid FROM kb_search_fts WHERE kb_search_fts MATCH :m ORDER BY rowid DESC LIMIT 1 OFFSET :cap"),
            params | {"cap": RANK_CANDIDATES - 1},
        ).scalar()
    rows = conn.execute(
        text("SELECT rowid, bm25(kb_search_fts, 0.0, 5.0, 1.0) AS r FROM kb_search_fts "
             "WHERE kb_search_fts MATCH :m AND rowid >= :floor ORDER BY r LIMIT :n OFFSET :o"),
        params,
    ).all()
    return [(row[0], -row[1]) for row in rows], total


def _pg_ids(tenant_id, locale, terms, category, audience, limit, offset, any_term):
    config = pg_config(locale)
    query = "plainto_tsquery(CAST(:cfg AS regconfig), :q)"
    if any_term:
        query = f"CAST(replace(CAST({query} AS text), '&', '|') AS tsquery)"
    where = ["f.vector @@ q.query", "f.scope = :scope"]
    params = {"cfg": config, "q": " ".join(terms), "scope": scope_token(tenant_id, locale), "n": limit, "o": offset}
    if category:
        where.append("d.category = :category")
        params["category"] = category
    if audience == Audience.PUBLIC:
        where.append("d.audience = 'public'")
    base = (f"FROM kb_search_fts f JOIN kb_search_documents d ON d.id = f.doc_id, (SELECT {query} AS query) q "
            f"WHERE {' AND '.join(where)}")
    conn = db.session.connection()
    total = conn.execute(text(f"SELECT count(*) {base}"), params).scalar() or 0
    rows = conn.execute(
        text(f"SELECT f.doc_id, ts_rank(f.vector, q.query) AS r FROM kb_search_fts f, (SELECT {query} AS query) q "
             f"WHERE f.doc_id IN (SELECT f.doc_id {base} ORDER BY f.doc_id DESC LIMIT :cap) ORDER BY r DESC, f.doc_id LIMIT :n OFFSET :o"),
        params | {"cap": RANK_CANDIDATES},
    ).all()
    return [(row[0], float(row[1])) for row in rows], total


# Ranking is computed for at most this many matches (the most recently indexed): a query made
# only of words nearly every article uses would otherwise rank the whole knowledge base.
RANK_CANDIDATES = 2000


def _ranked_ids(tenant_id, locale, terms, category, audience, limit, offset):
    finder = _pg_ids if db.session.get_bind().dialect.name == "postgresql" else _sqlite_ids
    ids, total = finder(tenant_id, locale, terms, category, audience, limit, offset, any_term=False)
    if total == 0 and len(terms) > 1:
        ids, total = finder(tenant_id, locale, terms, category, audience, limit, offset, any_term=True)
    return ids, total


def highlight(value: str, query_stems: set[str], locale: str, width: int = 28) -> Markup:
    """`value` (or a window of `width` words around the first match), escaped, matches in <mark>."""
    tokens = re.split(r"(\w+)", value)
    positions = [i for i in range(1, len(tokens), 2) if (stems([tokens[i].casefold()], locale) or [""])[0] in query_stems]
    if width and len(tokens) > width * 2:
        start = max(0, (positions[0] if positions else 1) - width // 2 * 2)
        if start % 2 == 0:
            start = max(start - 1, 0)
        tokens_window = tokens[start:start + width * 2]
        prefix, suffix = ("… " if start > 1 else ""), (" …" if start + width * 2 < len(tokens) else "")
    else:
        start, tokens_window, prefix, suffix = 0, tokens, "", ""
    marked = set(positions)
    out = []
    for offset, token in enumerate(tokens_window):
        escaped = html.escape(token)
        out.append(f"<mark>{escaped}</mark>" if (start + offset) in marked else escaped)
    return Markup(prefix + "".join(out).strip() + suffix)


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
        corrected = correct(tenant.id, locale, terms)
        if corrected != terms:
            results.corrected_query = " ".join(corrected)
        ranked, results.total = _ranked_ids(tenant.id, locale, corrected, category, audience, limit, offset)
        docs = {d.id: d for d in db.session.scalars(select(SearchDocument).where(SearchDocument.id.in_([i for i, _ in ranked])))}
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
