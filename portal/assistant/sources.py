"""Where the assistant reads articles from: a small interface and its implementations.

The app answers from the knowledge base (`KbSource`), so tenant overrides, hidden articles and
tenant-only articles are respected. `FolderSource` reads the Markdown-with-front-matter folders
(`library/kb/<locale>/` and `tenants/<slug>/kb/<locale>/`) directly: the evaluation and the speed
benchmark use it, and so can a deployment without the knowledge base.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Iterable, Protocol

import yaml
from jinja2 import ChainableUndefined
from jinja2.sandbox import SandboxedEnvironment


class Document(Protocol):
    """One published article in one locale, placeholders already filled."""

    slug: str
    title: str
    locale: str
    category: str
    tags: list[str]
    body_markdown: str
    url: str
    fallback: bool  # true when shown in the tenant default because the wanted locale lacks it


class DocumentSource(Protocol):
    def documents(self, tenant: Any, locale: str) -> Iterable[Document]:
        """The public, published articles of `tenant` in `locale` (default-locale copies where missing)."""

    key: Hashable  # equal keys read the same articles, so their indexes may be shared

    def version(self, tenant: Any, locale: str) -> Hashable:
        """A cheap stamp that changes whenever `documents` would return something different."""


@dataclass
class Article:
    slug: str
    title: str
    locale: str
    body_markdown: str
    category: str = "other"
    tags: list[str] = field(default_factory=list)
    url: str = ""
    fallback: bool = False
    updated_at: dt.datetime | None = None


def settings_stamp(tenant: Any) -> str:
    """Changes when the tenant's configuration (hence its placeholder values) changes: its file's,
    or what its administrators changed over it in the portal."""
    settings = [tenant.config, getattr(tenant, "overrides", None) or {}]
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


_sandbox = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)


def fill_placeholders(text: str, values: dict[str, Any]) -> str:
    """Fill `{{ support.email }}` and the like in a sandbox; an unknown placeholder becomes empty text."""
    try:
        return _sandbox.from_string(text).render(values)
    except Exception:  # a broken template in one article must not break answering
        return text


def read_markdown(path: Path) -> tuple[dict[str, Any], str] | None:
    """(front matter, body) of a Markdown file with a YAML header, or None if it has none."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return None
    try:
        _, header, body = text.split("---", 2)
        meta = yaml.safe_load(header) or {}
    except (ValueError, yaml.YAMLError):
        return None
    return (meta, body.strip()) if isinstance(meta, dict) else None


class FolderSource:
    """Articles from folders of Markdown files: the generic library, then the tenant's own files."""

    def __init__(self, library_dir: Path | str, tenants_dir: Path | str, url_pattern: str = "/{tenant}/kb/articles/{slug}"):
        self.library_dir = Path(library_dir)
        self.tenants_dir = Path(tenants_dir)
        self.url_pattern = url_pattern
        self.key = ("folder", str(self.library_dir), str(self.tenants_dir), url_pattern)

    def _folders(self, tenant: Any, locale: str) -> list[Path]:
        return [self.library_dir / "kb" / locale, self.tenants_dir / tenant.slug / "kb" / locale]

    def _read(self, tenant: Any, locale: str) -> dict[str, tuple[dict, str]]:
        found: dict[str, tuple[dict, str]] = {}
        for folder in self._folders(tenant, locale):
            for path in sorted(folder.glob("*.md")) if folder.is_dir() else ():
                parsed = read_markdown(path)
                if parsed is None:
                    continue
                meta, body = parsed
                if meta.get("status", "published") != "published" or meta.get("audience", "public") != "public":
                    found.pop(str(meta.get("slug") or path.stem), None)
                    continue
                found[str(meta.get("slug") or path.stem)] = (meta, body)
        return found

    def documents(self, tenant: Any, locale: str) -> Iterable[Document]:
        settings = tenant.settings
        wanted = self._read(tenant, locale)
        chosen = {slug: (locale, meta, body, False) for slug, (meta, body) in wanted.items()}
        if locale != settings.default_locale:
            for slug, (meta, body) in self._read(tenant, settings.default_locale).items():
                chosen.setdefault(slug, (settings.default_locale, meta, body, True))
        values_by_locale: dict[str, dict] = {}
        for slug, (article_locale, meta, body, fallback) in sorted(chosen.items()):
            values = values_by_locale.setdefault(article_locale, settings.placeholder_values(article_locale))
            yield Article(
                slug=slug,
                title=fill_placeholders(str(meta.get("title") or slug), values),
                locale=article_locale,
                body_markdown=fill_placeholders(body, values),
                category=str(meta.get("category") or "other"),
                tags=[str(t) for t in meta.get("tags") or []],
                url=self.url_pattern.format(tenant=tenant.slug, slug=slug, locale=article_locale),
                fallback=fallback,
            )

    def examples(self, tenant: Any) -> Iterable[Any]:
        """The questions the tenant's articles are known to answer (`portal.assistant.examples`), from its file."""
        from portal.assistant.examples import examples_file, read_examples

        path = examples_file(self.tenants_dir, tenant.slug)
        return read_examples(path) if path.is_file() else []

    def examples_version(self, tenant: Any) -> Hashable:
        from portal.assistant.examples import examples_file

        path = examples_file(self.tenants_dir, tenant.slug)
        return path.stat().st_mtime_ns if path.is_file() else None

    def version(self, tenant: Any, locale: str) -> Hashable:
        stamps = []
        for wanted in {locale, tenant.settings.default_locale}:
            for folder in self._folders(tenant, wanted):
                if folder.is_dir():
                    files = list(folder.glob("*.md"))
                    stamps.append((str(folder), len(files), max((f.stat().st_mtime_ns for f in files), default=0)))
        return (settings_stamp(tenant), tuple(sorted(stamps)))


class ListSource:
    """Articles given in memory (benchmarks, tests of the engine): {locale: [Article, ...]}."""

    def __init__(self, articles: dict[str, list[Article]], version: Hashable = 0):
        self.articles = articles
        self._version = version
        self.key = ("list", id(self))

    def documents(self, tenant: Any, locale: str) -> Iterable[Document]:
        return self.articles.get(locale, [])

    def version(self, tenant: Any, locale: str) -> Hashable:
        return self._version
