"""The passage index of one tenant and locale: BM25 over articles and over their passages.

An article is split into passages at its headings (long sections again at paragraph and list
boundaries). Two BM25 indexes share one analyzer: one over whole articles (title and tags weigh
more) and one over passages (the heading weighs more). Term contributions are computed once at
build time and kept as numpy arrays per term, so a question costs a few vector additions however
many articles the tenant has.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from portal.assistant import vocabulary
from portal.assistant.lexicon import LEXICON, Lexicon
from portal.assistant.sources import Document
from portal.assistant.text import ENDINGS, FALLBACK_WORDS, base_language, stem, stop_words, words

K1 = 1.2
B = 0.75
CONCEPT_PREFIX = "~"
MAX_PASSAGE_WORDS = 160
TYPO_CREDIT = {0: 1.0, 1: 0.8, 2: 0.6}  # how far a corrected word is trusted, by edit distance

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKUP_RE = re.compile(r"[*_`>|#]+")


# A link to another article of the knowledge base (not to a web page, a mail address or a phone).
_CROSS_REFERENCE_RE = re.compile(r"\[([^\]]*)\]\((?!\w+:|//)[^)]*\)")


def plain(markdown: str) -> str:
    """Markdown reduced to its words (link targets and markup dropped), for indexing."""
    return _MARKUP_RE.sub(" ", _LINK_RE.sub(r"\1", markdown))


def own_words(markdown: str) -> str:
    """`plain`, without the text of links to other articles: "if you forgot it, see [Forgotten
    password](forgotten-password)" names what another article is about, not this section, which
    would otherwise match "forgotten password" as well as the article that answers it."""
    return plain(_CROSS_REFERENCE_RE.sub(" ", markdown))


@dataclass
class Passage:
    article: int
    heading: str
    markdown: str
    position: int = 0  # its rank in the article (0: the opening text or first section)
    fallback: bool = False  # a "still not working? contact support" section: shown only when it fits best


@dataclass
class Analyzed:
    """A text's index terms with weights, and the folded words kept for typo tolerance."""

    terms: Counter = field(default_factory=Counter)
    surface: set[str] = field(default_factory=set)


def analyze(text: str, locale: str, weight: float = 1.0, into: Analyzed | None = None,
            lexicon: Lexicon = LEXICON) -> Analyzed:
    """Add the stems and lexicon concepts of `text` (in `locale`) to `into`, each counted `weight` times."""
    result = into or Analyzed()
    tokens = words(text)
    language = base_language(locale)
    stems = [stem(token, language) for token in tokens]
    stops = stop_words(locale)
    terms = result.terms
    for token, term in zip(tokens, stems):
        if token in stops or (len(token) < 2 and not token.isdigit()):
            continue
        terms[term] += weight
        result.surface.add(token)
    for _start, _end, concept in lexicon.match(tokens, locale, stems):
        terms[CONCEPT_PREFIX + concept] += weight
    return result


def split_passages(body: str, title: str) -> list[tuple[str, str]]:
    """(heading, markdown) sections of an article; the text before the first heading goes under the title."""
    sections: list[tuple[str, list[str]]] = [(title, [])]
    in_code = False
    for line in body.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING_RE.match(line)
        if match and len(match.group(1)) <= 3:
            sections.append((match.group(2).strip(), [line]))
        else:
            sections[-1][1].append(line)
    passages = []
    for heading, lines in sections:
        text = "\n".join(lines).strip()
        if not plain(text).strip() or (len(lines) == 1 and _HEADING_RE.match(lines[0])):
            continue
        passages.extend((heading, chunk) for chunk in _chunks(text))
    return passages or [(title, body)]


def _chunks(text: str) -> list[str]:
    """Split a long section at blank lines, keeping each block (a list, a table) whole."""
    if len(text.split()) <= MAX_PASSAGE_WORDS:
        return [text]
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    chunks, current, size = [], [], 0
    for block in blocks:
        n = len(block.split())
        if current and size + n > MAX_PASSAGE_WORDS:
            chunks.append("\n\n".join(current))
            current, size = [], 0
        current.append(block)
        size += n
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def is_fallback(heading: str, locale: str) -> bool:
    """Whether a section heading announces the last resort ("Still nothing?", "If it still fails",
    "When to contact support", "Toujours refusé ?"): such a section answers only a question about that."""
    tokens = words(heading)
    if not tokens:
        return False
    still, conditions = FALLBACK_WORDS.get(base_language(locale), (frozenset(), frozenset()))
    if tokens[0] in still or (tokens[0] in conditions and any(t in still for t in tokens)):
        return True
    return any(concept in ("support", "escalate", "ticket") for _s, _e, concept in LEXICON.match(tokens, locale))


class _Bm25:
    """Precomputed BM25 term contributions over a set of weighted term bags."""

    def __init__(self, bags: list[Counter]):
        self.size = len(bags)
        lengths = np.array([sum(b.values()) for b in bags], dtype=np.float32) if bags else np.zeros(0, np.float32)
        average = float(lengths.mean()) if self.size else 1.0
        norms = K1 * (1 - B + B * lengths / max(average, 1e-6))
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc, bag in enumerate(bags):
            for term, tf in bag.items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(doc)
                tfs.append(tf)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.idf: dict[str, float] = {}
        for term, (ids, tfs) in postings.items():
            df = len(ids)
            idf = math.log(1 + (self.size - df + 0.5) / (df + 0.5))
            id_array = np.array(ids, dtype=np.int32)
            tf_array = np.array(tfs, dtype=np.float32)
            contribution = idf * tf_array * (K1 + 1) / (tf_array + norms[id_array])
            self.postings[term] = (id_array, contribution.astype(np.float32))
            self.idf[term] = idf

    def unknown_idf(self) -> float:
        return math.log(1 + (self.size + 0.5) / 0.5)

    def scores(self, query: dict[str, float]) -> np.ndarray:
        total = np.zeros(self.size, dtype=np.float32)
        for term, weight in query.items():
            posting = self.postings.get(term)
            if posting is not None:
                total[posting[0]] += weight * posting[1]
        return total


# Field weights: where a word appears says how much the article is about it.
ARTICLE_FIELDS = {"title": 3.0, "tags": 2.0, "headings": 1.5, "body": 1.0}
PASSAGE_FIELDS = {"title": 0.5, "heading": 2.0, "body": 1.0}


class PassageIndex:
    """Everything the answerer needs to rank the articles of one tenant and locale."""

    def __init__(self, locale: str, documents: Iterable[Document], version=None, lexicon: Lexicon = LEXICON):
        self.locale = locale
        self.lexicon = lexicon  # the general one, or with the country's own synonyms (`Lexicon.with_local`)
        self.version = version
        self.documents: list[Document] = []
        self.passages: list[Passage] = []
        article_bags: list[Counter] = []
        passage_bags: list[Counter] = []
        self.article_terms: list[frozenset[str]] = []
        self.title_terms: list[frozenset[str]] = []
        self.key_terms: list[frozenset[str]] = []  # the title's and the tags': what the article is about
        self.outline_terms: list[frozenset[str]] = []  # those and the headings': what each part is about
        surface: Counter = Counter()
        for doc in documents:
            number = len(self.documents)
            self.documents.append(doc)
            language = doc.locale or locale
            title = analyze(doc.title, language, lexicon=lexicon)
            tags = analyze(" ".join(t.replace("-", " ") for t in doc.tags), language, lexicon=lexicon)
            article = Analyzed()
            for bag, weight in ((title, ARTICLE_FIELDS["title"]), (tags, ARTICLE_FIELDS["tags"])):
                for term, tf in bag.terms.items():
                    article.terms[term] += tf * weight
            article.surface |= title.surface | tags.surface
            outline = set(title.terms) | set(tags.terms)
            for position, (heading, markdown) in enumerate(split_passages(doc.body_markdown, doc.title)):
                passage = Analyzed()
                analyze(own_words(markdown), language, PASSAGE_FIELDS["body"], passage, lexicon)
                if heading != doc.title:
                    said = analyze(heading, language, lexicon=lexicon)
                    for term, tf in said.terms.items():
                        passage.terms[term] += tf * (PASSAGE_FIELDS["heading"] - PASSAGE_FIELDS["body"])
                        article.terms[term] += tf * (ARTICLE_FIELDS["headings"] - 1.0)
                    passage.surface |= said.surface
                    article.surface |= said.surface
                    outline.update(said.terms)
                for term, tf in title.terms.items():
                    passage.terms[term] += tf * PASSAGE_FIELDS["title"]
                for term, tf in passage.terms.items():
                    if term not in title.terms:
                        article.terms[term] += tf
                article.surface |= passage.surface
                self.passages.append(Passage(number, heading, markdown, position,
                                             position > 0 and is_fallback(heading, language)))
                passage_bags.append(passage.terms)
            article_bags.append(article.terms)
            self.article_terms.append(frozenset(article.terms))
            self.title_terms.append(frozenset(title.terms))
            self.key_terms.append(frozenset(title.terms) | frozenset(tags.terms))
            self.outline_terms.append(frozenset(outline))
            surface.update(article.surface)
        self.articles = _Bm25(article_bags)
        self.passage_bm25 = _Bm25(passage_bags)
        self.passage_article = np.array([p.article for p in self.passages], dtype=np.int32)
        # Folded words of the articles plus the lexicon's, for typo correction (most frequent first).
        self.vocabulary: set[str] = set(surface)
        self.fuzzy_words: list[str] = [w for w, _ in surface.most_common() if len(w) >= 3]
        fuzzy_set = set(self.fuzzy_words)
        self.fuzzy_words += sorted(w for w in lexicon.surface_words if len(w) >= 3 and w not in fuzzy_set)
        self._stop_list = sorted(w for w in stop_words(locale) if len(w) >= 2)  # typos of grammar words too
        self._trigrams: dict[str, list[int]] | None = None
        self._slugs: frozenset[str] | None = None
        self.semantic = None  # the articles' sentence vectors (semantic.SemanticIndex), set by the index cache
        self.twins = None  # (weak reference to the English index, number there of each article), see the engine

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def slugs(self) -> frozenset[str]:
        """The address names of the articles indexed: those a reader of this locale can open."""
        if self._slugs is None:
            self._slugs = frozenset(doc.slug for doc in self.documents)
        return self._slugs

    @property
    def language(self) -> str:
        return base_language(self.locale)

    def knows(self, term: str) -> bool:
        return term in self.articles.idf

    def correct(self, word: str) -> tuple[str, float] | None:
        """The closest known word to a misspelt one, with how much to trust it, or None.

        Edit distance first, then shared letter trigrams for long odd spellings. Where the language's
        word list says the string is no word at all, it is surely a typo: one edit is accepted from
        three letters on (anywhere in the word), two from six letters (keeping the first letter).
        Without a word list the rules are stricter (five letters, one edit up to seven letters, the
        first letter kept), since "logo" is not a typo of "log". An ordinary word the articles do not
        use ("click", "ville") is never corrected, and a name in the articles (a place: "Isamba") is
        reached only one slip away, since the question may name another place ("Itambo"). The answer
        may be a grammar word ("whwn" -> "when"), which the caller then drops like any other.
        """
        if word.isdigit() or vocabulary.is_word(word, self.language):
            return None
        if vocabulary.covers(self.language):
            if len(word) < 3:
                return None
            allowed, keep_first = (1 if len(word) < 6 else 2), 2
        else:
            if len(word) < 5:
                return None
            allowed, keep_first = (1 if len(word) <= 7 else 2), 1

        def closest(words: list[str]) -> tuple[str, int] | None:
            candidates = process.extract(word, words, scorer=DamerauLevenshtein.distance, score_cutoff=allowed,
                                         limit=8)
            for candidate, distance, _position in sorted(candidates, key=lambda c: c[1]):
                if distance > 1 and self._is_name(candidate):
                    continue  # a name is corrected only one slip away: "Itambo" is not "Isamba"
                # Typos rarely touch the first letter; requiring it avoids many false friends.
                if distance < keep_first or candidate[0] == word[0]:
                    return candidate, distance
            return None

        found = closest(self.fuzzy_words)
        grammar = closest(self._stop_list) if self._stop_list else None
        if grammar and (found is None or grammar[1] < found[1]):
            return grammar[0], TYPO_CREDIT[min(grammar[1], 2)]
        if found:
            return found[0], TYPO_CREDIT[min(found[1], 2)]
        trigram = self._by_trigrams(word)
        return (trigram, 0.5) if trigram else None

    def _is_name(self, word: str) -> bool:
        """Whether an article word is a name (a place, a product) rather than a word of the language:
        the language's word list does not know it, nor does the lexicon."""
        return vocabulary.covers(self.language) and not vocabulary.zipf(word, self.language) \
            and not self.lexicon.is_known(word)

    def known_prefix(self, word: str) -> str | None:
        """The longest known term that `word` extends by a grammatical ending of the language.

        Catches inflections the stemmer leaves whole ("ouvrent" -> "ouvr"), but not another word
        that happens to start the same way ("director" is not "direct" + an ending).
        """
        endings = ENDINGS.get(self.language, ())
        for cut in range(1, min(4, len(word) - 4) + 1):
            if word[-cut:] in endings and self.knows(word[:-cut]):
                return word[:-cut]
        return None

    def _by_trigrams(self, word: str) -> str | None:
        if len(word) < 8:
            return None
        if self._trigrams is None:
            table: dict[str, list[int]] = {}
            for i, known in enumerate(self.fuzzy_words):
                for gram in _grams(known):
                    table.setdefault(gram, []).append(i)
            self._trigrams = table
        grams = _grams(word)
        counts: Counter = Counter()
        for gram in grams:
            counts.update(self._trigrams.get(gram, ()))
        best, best_score = None, 0.0
        for i, shared in counts.most_common(20):
            candidate = self.fuzzy_words[i]
            if candidate[0] != word[0] or self._is_name(candidate):
                continue
            dice = 2 * shared / (len(grams) + len(_grams(candidate)))
            if dice > best_score:
                best, best_score = candidate, dice
        return best if best_score >= 0.6 else None


def _grams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i:i + 3] for i in range(len(padded) - 2)}
