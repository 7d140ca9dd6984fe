"""What the assistant knows of a language beyond a tenant's articles: how common a word is, and how
it is usually spelt with its accents.

Both come from the word-frequency lists of the `wordfreq` package (installed with the portal, read
from its own files, nothing fetched). A language it does not cover simply gets no help: every
function answers as if it knew nothing ("not a word", no accents to restore).
"""
from __future__ import annotations

import threading
from functools import lru_cache

try:
    import wordfreq
except ImportError:  # the assistant still works, without general-language knowledge
    wordfreq = None

from portal.core.words import is_letters, strip_accents

_lock = threading.Lock()
RARE = 1.0  # Zipf: rarer spellings (about once in 100 million words) are mostly noise


@lru_cache(maxsize=32)
def _tables(language: str) -> tuple[dict[str, float], dict[str, str]]:
    """(Zipf frequency of each folded word, usual accented spelling of each folded word) for `language`."""
    if wordfreq is None:
        return {}, {}
    with _lock:
        try:
            # The raw list, read once here: wordfreq's own caches would keep every word in memory for good.
            buckets = wordfreq.read_cBpack(wordfreq.available_languages("best")[language])
        except (AttributeError, KeyError, ValueError, OSError):
            return {}, {}
    zipf: dict[str, float] = {}
    spelling: dict[str, tuple[float, str]] = {}
    for centibels, bucket in enumerate(buckets):
        value = 9.0 - centibels / 100  # a frequency of 10^-x is a Zipf value of 9 - x
        if value < RARE:
            break
        for word in bucket:
            if not is_letters(word):
                continue
            folded = strip_accents(word)
            if folded not in zipf:  # buckets come most frequent first
                zipf[folded] = value
            if folded != word and folded not in spelling:
                spelling[folded] = (value, word)
    accented = {folded: word for folded, (value, word) in spelling.items() if value >= zipf[folded]}
    # Only what a question can use is kept: the frequency of words seen at least once in a million.
    return {w: round(v, 1) for w, v in zipf.items() if v >= 3.0}, accented


def zipf(word: str, language: str) -> float:
    """How common a folded word is in `language`: 0 (unknown) to about 8 ("the"), on the Zipf scale."""
    return _tables(language)[0].get(word, 0.0)


def is_word(word: str, language: str, floor: float = 3.0) -> bool:
    """Whether `word` is an ordinary word of `language` (so not a typo to correct)."""
    return zipf(word, language) >= floor


def accented(word: str, language: str) -> str:
    """The usual accented spelling of a folded word ("recu" -> "reçu"), else the word itself."""
    if not word.isascii():
        return word
    return _tables(language)[1].get(word, word)


def covers(language: str) -> bool:
    return bool(_tables(language)[0])
