"""Grouping short texts (questions, searches, ticket subjects) into topics.

Small and general on purpose: normalise (case, accents, punctuation, digits), drop stop words, stem
with Snowball in the text's language, weight terms by TF-IDF, then cluster greedily: each text joins
the most similar existing topic if the cosine similarity to its centroid reaches `threshold`, else
starts a new one. Texts are taken longest first so a topic is seeded by a well-formed question. A
topic is labelled by the words behind its heaviest terms.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import snowballstemmer

from portal.core.words import LETTERS_RE, strip_accents

STOP_WORDS = {
    "en": set(
        "a an the and or but if of to in on at for from by with about as is are was were be been being do does did "
        "i me my we our you your he she it its they them their this that these those what which who whom how why when "
        "where can could cannot cant will would should shall may might must not no yes have has had get got please "
        "help hello hi thanks thank there here up out so than then too very just also any some all my dont doesnt "
        "im ive want need again still after before into".split()
    ),
    "fr": set(
        "a au aux avec ce ces cet cette dans de des du elle en et eux il ils je la le les leur lui ma mais me meme "
        "mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une "
        "vos votre vous c d j l m n s t y est sont ai as avons avez ont etre avoir fait faire comment pourquoi quand "
        "bonjour merci svp peux peut puis veux plus encore apres avant".split()
    ),
}
STEMMER_LANGUAGES = {"en": "english", "fr": "french", "es": "spanish", "pt": "portuguese"}
_WORD = LETTERS_RE


def normalise(text: str) -> list[str]:
    """Lower-case words without accents, punctuation or digits."""
    folded = strip_accents(text.casefold())
    return _WORD.findall(folded.replace("'", " ").replace("’", " "))


def _stemmer(locale: str):
    return snowballstemmer.stemmer(STEMMER_LANGUAGES.get((locale or "en")[:2], "english"))


def terms(text: str, locale: str = "en") -> tuple[list[str], dict[str, str]]:
    """Stemmed content terms of `text`, and the surface word seen for each stem."""
    lang = (locale or "en")[:2]
    stop = STOP_WORDS.get(lang, set()) | STOP_WORDS["en"]
    words = [w for w in normalise(text) if w not in stop]
    stems = _stemmer(lang).stemWords(words)
    return stems, dict(zip(stems, words))


@dataclass
class Topic:
    label: str
    texts: list[str] = field(default_factory=list)
    keys: list = field(default_factory=list)  # what the caller passed with each text (ids, counts...)
    weight: int = 0  # sum of the weights of its texts

    @property
    def size(self) -> int:
        return len(self.texts)


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {t: v / norm for t, v in vector.items()} if norm else {}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def cluster(items: list[tuple[str, object, int]], locale: str = "en", threshold: float = 0.25, label_terms: int = 3) -> list[Topic]:
    """Group `items` (text, key, weight) into topics, biggest first (by total weight, then size).

    Texts with no content word after normalisation are left out.
    """
    docs = []
    surface: dict[str, Counter] = defaultdict(Counter)
    for text, key, weight in items:
        stems, words = terms(text, locale)
        if not stems:
            continue
        for stem in stems:
            surface[stem][words[stem]] += 1
        docs.append((text, key, weight, Counter(stems)))
    if not docs:
        return []
    df = Counter(t for *_, tf in docs for t in tf)
    n = len(docs)
    idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
    vectors = [_unit({t: c * idf[t] for t, c in tf.items()}) for *_, tf in docs]
    order = sorted(range(n), key=lambda i: (-len(docs[i][3]), i))
    centroids: list[dict[str, float]] = []
    sums: list[dict[str, float]] = []
    members: list[list[int]] = []
    # The topics whose centroid has each term: a topic sharing no term with a text has a similarity of
    # exactly 0 to it, so only those sharing one are compared when the threshold is above 0.
    holding: dict[str, set[int]] = defaultdict(set)
    for i in order:
        best, best_sim = -1, threshold
        if threshold > 0:
            candidates = sorted(set().union(*(holding.get(t, ()) for t in vectors[i])))
        else:
            candidates = range(len(centroids))
        for c in candidates:
            sim = _cosine(vectors[i], centroids[c])
            if sim >= best_sim:
                best, best_sim = c, sim
        if best < 0:
            best = len(centroids)
            sums.append(dict(vectors[i]))
            centroids.append(dict(vectors[i]))
            members.append([i])
        else:
            acc = sums[best]
            for t, v in vectors[i].items():
                acc[t] = acc.get(t, 0.0) + v
            centroids[best] = _unit(acc)
            members[best].append(i)
        for t in vectors[i]:
            holding[t].add(best)
    topics = []
    for c, idx in enumerate(members):
        top = sorted(sums[c].items(), key=lambda tv: (-tv[1], tv[0]))[:label_terms]
        label = " ".join(surface[t].most_common(1)[0][0] for t, _ in top)
        idx.sort()
        topics.append(Topic(label=label, texts=[docs[i][0] for i in idx], keys=[docs[i][1] for i in idx], weight=sum(docs[i][2] for i in idx)))
    topics.sort(key=lambda t: (-t.weight, -t.size, t.label))
    return topics
