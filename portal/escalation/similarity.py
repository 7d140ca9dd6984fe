"""Likely duplicates by text similarity: a small TF-IDF with Snowball stems and cosine scores.

Good enough for the few hundred open escalations the central team handles at once, and it needs no
heavy library. English and French words are reduced by their own stemmer.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import snowballstemmer

from portal.core.words import LETTERS_RE

WORD_RE = LETTERS_RE  # letters of any script with their vowel signs, two or more
STOPWORDS = frozenset(
    """the a an and or of to in on for is are was were be been it its this that with when not no
    but at by from as has have had do does did can cannot could will would after before into there
    le la les un une des de du et ou en au aux est sont pas ne que qui pour par sur dans avec ce cette
    il elle ils nous vous je on se sa son ses leur plus lors quand""".split()
)
_STEMMERS = {lang: snowballstemmer.stemmer(name) for lang, name in (("en", "english"), ("fr", "french"))}


@lru_cache(maxsize=50_000)
def _stem(language: str, word: str) -> str:
    # The pure-Python Snowball stemmer is slow; support vocabulary is small, so stems are cached.
    return _STEMMERS[language].stemWord(word)


def tokens(text: str, locale: str | None = "en") -> list[str]:
    language = (locale or "en")[:2]
    language = language if language in _STEMMERS else "en"
    return [_stem(language, w) for w in WORD_RE.findall((text or "").lower()) if w not in STOPWORDS]


def _vectors(documents: Sequence[list[str]]) -> list[dict[str, float]]:
    count = len(documents)
    df = Counter(term for doc in documents for term in set(doc))
    vectors = []
    for doc in documents:
        weights = {t: (1 + math.log(n)) * (math.log((1 + count) / (1 + df[t])) + 1) for t, n in Counter(doc).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({t: w / norm for t, w in weights.items()})
    return vectors


def rank(query: list[str], candidates: Sequence[list[str]], threshold: float = 0.2) -> list[tuple[int, float]]:
    """(index, cosine) of the candidates similar to `query`, best first, at or above `threshold`."""
    if not query or not candidates:
        return []
    vectors = _vectors([query, *candidates])
    q = vectors[0]
    scored = []
    for index, vector in enumerate(vectors[1:]):
        score = sum(w * vector.get(t, 0.0) for t, w in q.items())
        if score >= threshold:
            scored.append((index, round(score, 3)))
    return sorted(scored, key=lambda item: (-item[1], item[0]))
