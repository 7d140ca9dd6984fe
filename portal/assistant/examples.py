"""Questions each article is known to answer, and how near a new question comes to them.

A question someone asked, that an article answered and that they said it solved ("This solved it"),
is the best description there is of what that article answers, in the words staff really use. So is
a question an editor adds by hand. Each tenant keeps such examples (`Example` rows, and a file); the
engine encodes them with the same sentence encoder as the articles, and an article whose examples
come close to a new question ranks higher (`EXAMPLE_WEIGHT` times how far its nearest example's
cosine exceeds `EXAMPLE_FLOOR`). A question unlike every example changes nothing, so an article
nobody has asked about yet is ranked as before.

An example without an article is a known gap: a question the articles do not answer (an editor says
so). A new question nearer such a gap than `GAP_FLOOR`, and nearer it than any example of the best
article, is not answered: the assistant offers a person, however well its words match an article
about something close.

Development sets (evaluation/assistant/README.md), each ranked with the examples of the other two:
top-1 English +0.5 to +9 points, French +0.6 to +2.6, no set lower; with the known gaps, abstention
+2 to +15 points in English and 0 to +10 in French, answered@1 within a point.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Protocol

import numpy as np

log = logging.getLogger(__name__)

EXAMPLE_WEIGHT = 2.0
EXAMPLE_FLOOR = 0.5
GAP_FLOOR = 0.6
# The confidence of an answer to a question near a known gap: under any usual threshold, yet high
# enough (over half the default 0.35) that the chat still lists the articles found as related.
GAP_CONFIDENCE = 0.2
# Longer messages carry their context (who, where, what happened before) more than the question: they
# describe the article poorly, and are not learned.
MAX_EXAMPLE_CHARS = 300
TEXT_CACHE = 100_000  # encoded example texts kept per process, across tenants


@dataclass(frozen=True)
class Example:
    slug: str | None  # None: a known gap, a question no article answers
    locale: str
    question: str


def examples_file(tenants_dir: Any, tenant_slug: str) -> Path:
    """Where a country keeps the examples it ships: `tenants/<slug>/assistant/examples.yaml`."""
    return Path(tenants_dir) / tenant_slug / "assistant" / "examples.yaml"


def read_examples(path: Any) -> list[Example]:
    """Examples from a YAML file: a list of {slug, lang, question} (no slug: a known gap), or of
    evaluation items ({question, lang, expected: [slug, ...]}: one example per expected slug; a gap
    for an empty list).
    ValueError with the reason when the file is not such a list."""
    import yaml

    try:
        with open(path, encoding="utf-8") as file:
            items = yaml.safe_load(file) or []
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a list of {{slug, lang, question}}")
    found = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not isinstance(item.get("lang"), str):
            raise ValueError(f"{path}: item {number} needs a question and a lang")
        slugs = (item.get("expected") or [None]) if "expected" in item else [item.get("slug")]
        if not isinstance(slugs, list) or not all(slug is None or (isinstance(slug, str) and slug) for slug in slugs):
            raise ValueError(f"{path}: item {number} has a slug that is not a text")
        question = item["question"].strip()
        if question and len(question) <= MAX_EXAMPLE_CHARS:
            found.extend(Example(slug, item["lang"], question) for slug in slugs)
    return found


class ExampleSource(Protocol):
    """What a `DocumentSource` offers when it knows examples (both methods, or neither)."""

    def examples(self, tenant: Any) -> Iterable[Example]:
        """The tenant's examples, in any of its languages."""

    def examples_version(self, tenant: Any) -> Hashable:
        """A cheap stamp that changes whenever `examples` would return something different."""


@dataclass
class ExampleVectors:
    """One tenant's examples, encoded: rows of `matrix` grouped by article slug (None: the known gaps)."""

    version: Hashable
    rows: dict[str | None, np.ndarray]
    matrix: np.ndarray

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def closeness(self, question: np.ndarray, slugs: list[str]) -> np.ndarray:
        """For each slug, the best cosine between the question and that article's examples (0: none)."""
        best = np.zeros(len(slugs), dtype=np.float32)
        groups = [(i, self.rows[slug]) for i, slug in enumerate(slugs) if slug in self.rows]
        if not groups:
            return best
        positions = np.array([i for i, _rows in groups])
        sizes = np.array([rows.size for _i, rows in groups])
        sims = self.matrix[np.concatenate([rows for _i, rows in groups])] @ question
        best[positions] = np.maximum.reduceat(sims, np.cumsum(sizes) - sizes)
        return best

    def bonus(self, question: np.ndarray, slugs: list[str]) -> np.ndarray:
        """What the examples add to each article's rank."""
        return EXAMPLE_WEIGHT * np.maximum(self.closeness(question, slugs) - EXAMPLE_FLOOR, 0.0)

    def near_gap(self, question: np.ndarray, slug: str) -> float | None:
        """The cosine of the nearest known gap, when the question is nearer it than GAP_FLOOR and than
        any example of article `slug` (the best one): it is then not answered. None otherwise."""
        rows = self.rows.get(None)
        if rows is None:
            return None
        gap = float((self.matrix[rows] @ question).max())
        if gap > GAP_FLOOR and gap > float(self.closeness(question, [slug])[0]):
            return gap
        return None


_TEXTS: dict[int, OrderedDict[str, np.ndarray]] = {}
_TEXTS_LOCK = threading.Lock()


class ExampleMemory:
    """Per tenant, its examples encoded, made again when the source's version stamp changes. Texts
    encoded once are kept (by the text the encoder was given), so a new example costs one encoding."""

    def __init__(self, encoder: Any):
        self.encoder = encoder
        self._entries: dict[str, ExampleVectors] = {}
        # Shared by every memory with the same encoder in the process (one app, or a test's many).
        with _TEXTS_LOCK:
            self._texts = _TEXTS.setdefault(id(encoder), OrderedDict())
        self._readings: OrderedDict[tuple[str, str, str], str] = OrderedDict()  # (tenant, locale, question) -> text
        self._lock = threading.Lock()
        self._tenant_locks: dict[str, threading.Lock] = {}

    def get(self, tenant: Any, source: Any, read: Callable[[Example], str]) -> ExampleVectors | None:
        """The tenant's encoded examples (None: the source keeps none, or there is no encoder).
        `read(example)`: the text to encode, read as the engine reads a question."""
        if self.encoder is None or not hasattr(source, "examples"):
            return None
        version = source.examples_version(tenant)
        entry = self._entries.get(tenant.slug)
        if entry is not None and entry.version == version:
            return entry
        with self._lock:
            tenant_lock = self._tenant_locks.setdefault(tenant.slug, threading.Lock())
        with tenant_lock:
            entry = self._entries.get(tenant.slug)
            if entry is None or entry.version != version:
                entry = self._build(tenant.slug, list(source.examples(tenant)), version, read)
                self._entries[tenant.slug] = entry
        return entry

    def _build(self, tenant_slug: str, examples: list[Example], version: Hashable, read: Callable[[Example], str]) -> ExampleVectors:
        texts = [self._reading(tenant_slug, example, read) for example in examples]
        with _TEXTS_LOCK:
            vectors = {text: self._texts[text] for text in texts if text in self._texts}
        missing = list(dict.fromkeys(text for text in texts if text and text not in vectors))
        if missing:
            try:
                encoded = np.asarray(self.encoder.encode(missing), dtype=np.float32)
            except Exception:  # the examples are a bonus: an encoder that fails leaves the ranking as it was
                log.exception("assistant: examples not encoded; answering without them")
                return ExampleVectors(version, {}, np.zeros((0, 1), dtype=np.float32))
            encoded /= np.maximum(np.linalg.norm(encoded, axis=1, keepdims=True), 1e-9)
            vectors.update(zip(missing, encoded))
            with _TEXTS_LOCK:
                for text, vector in zip(missing, encoded):
                    self._texts[text] = vector
                while len(self._texts) > TEXT_CACHE:
                    self._texts.popitem(last=False)
        kept = [(example.slug, vectors[text]) for example, text in zip(examples, texts) if text in vectors]
        if not kept:
            return ExampleVectors(version, {}, np.zeros((0, 1), dtype=np.float32))
        order = sorted(range(len(kept)), key=lambda i: (kept[i][0] is None, kept[i][0] or ""))
        matrix = np.stack([kept[i][1] for i in order])
        rows: dict[str | None, list[int]] = {}
        for row, i in enumerate(order):
            rows.setdefault(kept[i][0], []).append(row)
        return ExampleVectors(version, {slug: np.array(found) for slug, found in rows.items()}, matrix)

    def _reading(self, tenant_slug: str, example: Example, read: Callable[[Example], str]) -> str:
        key = (tenant_slug, example.locale, example.question)
        with self._lock:
            text = self._readings.get(key)
        if text is None:
            text = read(example)
            with self._lock:
                self._readings[key] = text
                while len(self._readings) > TEXT_CACHE:
                    self._readings.popitem(last=False)
        return text

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
