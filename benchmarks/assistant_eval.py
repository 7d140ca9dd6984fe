"""Quality of the assistant on an evaluation set, against a plain full-text search baseline.

    python benchmarks/assistant_eval.py [SET.yaml] [--tenant farajaland] [--content DIR] [--verbose] [--typos] [--words-only]

The set (default: evaluation/assistant/questions.yaml) is a list of {id, lang, question, expected}
where `expected: []` means the content has no answer. The engine is built over the demo content
(`library/kb` and `tenants/<slug>/kb`) for the tenant. Printed per language:
- top-1 / top-3: share of answerable questions whose first article (first three) is expected,
  whatever the confidence;
- answered@1: share of answerable questions answered (confidence over the tenant threshold) with
  an expected article first, which is what a user sees;
- abstention: share of unanswerable questions where the assistant abstained (for the baselines,
  where the search returned nothing).
Baselines: the knowledge base's search service ("kb search", issue 3) and a plain SQLite FTS5
search over the same articles ("plain fts").
--typos asks every question again with keyboard slips added (`with_typos`, fixed seed), to see how
much the figures depend on clean spelling.
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import sys
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import portal.auth.models  # noqa: E402,F401  (a tenant's rows name its users: their mappers need the class)
from portal.assistant.engine import RetrievalAnswerer  # noqa: E402
from portal.assistant.examples import read_examples  # noqa: E402
from portal.assistant.sources import FolderSource, read_markdown  # noqa: E402
from portal.assistant.text import words  # noqa: E402
from portal.tenancy.models import Tenant  # noqa: E402
from portal.tenancy.services import read_tenant_file  # noqa: E402


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {row[i]: row[max(0, i - 1):i] + row[i + 1:i + 2] for row in _KEYBOARD_ROWS for i in range(len(row))}


def with_typos(text: str, rng: random.Random, rate: float = 0.35) -> str:
    """`text` with keyboard slips in about `rate` of its longer words: a letter dropped, two swapped,
    a neighbouring key hit, or a letter doubled (never the first letter)."""
    typed = []
    for word in text.split():
        if len(word) > 3 and word.isalpha() and rng.random() < rate:
            i = rng.randrange(1, len(word) - 1)
            slip = rng.randrange(4)
            if slip == 0:
                word = word[:i] + word[i + 1:]
            elif slip == 1:
                word = word[:i] + word[i + 1] + word[i] + word[i + 2:]
            elif slip == 2 and _NEIGHBOURS.get(word[i]):
                word = word[:i] + rng.choice(_NEIGHBOURS[word[i]]) + word[i + 1:]
            else:
                word = word[:i] + word[i] + word[i:]
        typed.append(word)
    return " ".join(typed)


def load_tenant(content: Path, slug: str) -> Tenant:
    """A transient Tenant row built from tenant.toml (no database needed)."""
    settings, problems = read_tenant_file(content / "tenants" / slug / "tenant.toml")
    if settings is None:
        raise SystemExit("\n".join(map(str, problems)))
    return Tenant(id=1, slug=slug, name=settings.name, default_locale=settings.default_locale,
                  locales=settings.locales, config=settings.model_dump(mode="json"))


class FtsBaseline:
    """Plain full-text search: SQLite FTS5, accents folded, every question word OR-ed, BM25 order."""

    def __init__(self, source: FolderSource, tenant: Tenant):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE a USING fts5(slug UNINDEXED, locale UNINDEXED, title, body, "
                        "tokenize='unicode61 remove_diacritics 2')")
        for locale in tenant.locales:
            for doc in source.documents(tenant, locale):
                self.db.execute("INSERT INTO a VALUES (?, ?, ?, ?)", (doc.slug, locale, doc.title, doc.body_markdown))

    def search(self, question: str, locale: str) -> list[str]:
        terms = [f'"{w}"' for w in words(question) if len(w) > 2]
        if not terms:
            return []
        rows = self.db.execute("SELECT slug FROM a WHERE a MATCH ? AND locale = ? ORDER BY bm25(a, 0, 0, 5.0, 1.0) "
                               "LIMIT 3", (" OR ".join(terms), locale)).fetchall()
        return [r[0] for r in rows]


class KbSearchBaseline:
    """The knowledge base's own full-text search (issue 3), on a throwaway SQLite database holding
    the same demo content, imported as `flask demo load` does."""

    def __init__(self, content: Path, slug: str):
        import tempfile

        from portal import create_app
        from portal.core.db import db, tenant_scope
        from portal.kb import importer
        from portal.tenancy.services import get_tenant, sync_tenants

        self.folder = tempfile.TemporaryDirectory()
        self.app = create_app({"TESTING": True, "SECRET_KEY": "evaluation-only-key", "WTF_CSRF_ENABLED": False,
                               "SQLALCHEMY_DATABASE_URI": f"sqlite:///{self.folder.name}/eval.sqlite3",
                               "RATELIMIT_STORAGE_URI": "memory://"})
        self.context = self.app.app_context()
        self.context.push()
        db.create_all()
        sync_tenants(content / "tenants")
        importer.import_folder(content / "library" / "kb")
        self.tenant = get_tenant(slug)
        self.scope = tenant_scope(db.session, self.tenant.id)
        self.scope.__enter__()
        if (content / "tenants" / slug / "kb").is_dir():
            importer.import_folder(content / "tenants" / slug / "kb", self.tenant)
        db.session.commit()

    def search(self, question: str, locale: str) -> list[str]:
        from portal.kb.search import search

        return [hit.slug for hit in search(self.tenant, locale, question, limit=3, log=False).hits]


def evaluate(items, rank, threshold=None):
    """Per language: counts for top-1, top-3, answered@1 and abstention."""
    stats = defaultdict(lambda: defaultdict(int))
    misses = []
    for item in items:
        slugs, confidence = rank(item)
        s = stats[item["lang"]]
        expected = set(item.get("expected") or [])
        answered = confidence is None or confidence >= threshold
        if expected:
            s["answerable"] += 1
            s["top1"] += bool(slugs[:1] and slugs[0] in expected)
            s["top3"] += bool(expected & set(slugs[:3]))
            s["answered1"] += bool(answered and slugs[:1] and slugs[0] in expected)
            if not (slugs[:1] and slugs[0] in expected) or not answered:
                misses.append((item, slugs, confidence))
        else:
            s["unanswerable"] += 1
            abstained = not slugs if confidence is None else not answered
            s["abstained"] += abstained
            if not abstained:
                misses.append((item, slugs, confidence))
    return stats, misses


def show(name, stats):
    for lang in sorted(stats):
        s = stats[lang]
        a, u = max(s["answerable"], 1), max(s["unanswerable"], 1)
        print(f"{name:10} {lang}  n={s['answerable']:3}+{s['unanswerable']:2}  top-1 {s['top1'] / a:.2f}  "
              f"top-3 {s['top3'] / a:.2f}  answered@1 {s['answered1'] / a:.2f}  abstention {s['abstained'] / u:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", nargs="?", default=str(REPO / "evaluation/assistant/questions.yaml"))
    parser.add_argument("--tenant", default="farajaland")
    parser.add_argument("--content", default=str(REPO), help="folder holding library/ and tenants/")
    parser.add_argument("--verbose", action="store_true", help="list the misses")
    parser.add_argument("--typos", action="store_true", help="add keyboard slips to every question")
    parser.add_argument("--words-only", action="store_true", help="the engine without its sentence encoder "
                        "(as with ASSISTANT_SEMANTIC=false)")
    parser.add_argument("--examples", help="comma-separated sets whose answerable questions are the tenant's examples "
                        "(portal.assistant.examples), instead of tenants/<slug>/assistant/examples.yaml")
    parser.add_argument("--no-examples", action="store_true", help="rank without any example")
    args = parser.parse_args()
    content = Path(args.content)
    items = yaml.safe_load(Path(args.set).read_text(encoding="utf-8"))
    if args.typos:
        rng = random.Random(7)
        items = [{**item, "question": with_typos(item["question"], rng)} for item in items]
    tenant = load_tenant(content, args.tenant)
    source = FolderSource(content / "library", content / "tenants")
    if args.no_examples or args.examples:
        chosen = [] if args.no_examples else [e for name in args.examples.split(",") for e in read_examples(Path(name))]
        source.examples = lambda tenant: chosen
        source.examples_version = lambda tenant: len(chosen)
    answerer = RetrievalAnswerer(source, **({"encoder": None} if args.words_only else {}))
    answerer.warm(tenant)  # as a server does when it starts: the indexes and their vectors
    threshold = tenant.settings.assistant.threshold

    def assistant(item):
        answer = answerer.answer(tenant, item["question"])  # the language is detected, as in a chat
        return [h.slug for h in answer.hits], answer.confidence

    print(f"set: {args.set} ({len(items)} questions), tenant {args.tenant}, threshold {threshold}")
    stats, misses = evaluate(items, assistant, threshold)
    show("assistant", stats)
    kb_search = KbSearchBaseline(content, args.tenant)
    show("kb search", evaluate(items, lambda item: (kb_search.search(item["question"], item["lang"]), None))[0])
    fts = FtsBaseline(source, tenant)
    show("plain fts", evaluate(items, lambda item: (fts.search(item["question"], item["lang"]), None))[0])
    if args.verbose:
        for item, slugs, confidence in misses:
            print(f"  miss {item['id']}: {item['question']!r} expected {item['expected']} got {slugs} "
                  f"conf {confidence:.2f}")


if __name__ == "__main__":
    main()
