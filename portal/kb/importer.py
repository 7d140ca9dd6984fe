"""Folders of Markdown files with YAML front matter, in and out of the knowledge base.

One file per slug and locale, `<locale>/<slug>.md` (any layout is read; the front matter decides),
plus an optional `categories.yaml` (ordered list of `{slug, title: {locale: text}}`) for the
generic library. Import is idempotent: an unchanged file changes nothing, a changed one adds a
revision. A bad file is reported with its path and reason; the others still import.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from babel import Locale, UnknownLocaleError
from sqlalchemy import select

from portal.core.db import db
from portal.kb.models import Article, Audience, GenericArticle, Status
from portal.kb.services import NOTE_IMPORTED, Draft, list_categories, normalize_text, save_article, save_categories, save_generic_article

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)
REQUIRED = ("slug", "title", "locale", "category")


@dataclass
class ImportProblem:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


@dataclass
class ArticleFile:
    slug: str
    locale: str
    draft: Draft


def parse_article(path: Path, known_categories: set[str] | None = None) -> ArticleFile:
    """Read one Markdown file; raises ValueError with the reason when it is not valid."""
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    match = FRONT_MATTER_RE.match(normalize_text(content))
    if not match:
        raise ValueError("no YAML front matter (the file must start with a line '---')")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"front matter is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        raise ValueError("front matter must be a mapping of keys to values")
    missing = [key for key in REQUIRED if not meta.get(key)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)} in front matter")
    slug, locale = str(meta["slug"]), str(meta["locale"])
    if not SLUG_RE.match(slug):
        raise ValueError(f"slug '{slug}' must be lowercase letters, digits and hyphens")
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"locale '{locale}' is not a known locale code") from None
    category = str(meta["category"])
    if known_categories and category not in known_categories:
        raise ValueError(f"category '{category}' is not one of the library's categories")
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list):
        raise ValueError("tags must be a list")
    audience, status = str(meta.get("audience", "public")), str(meta.get("status", "published"))
    if audience not in set(Audience):
        raise ValueError(f"audience '{audience}' must be public or staff")
    if status not in set(Status):
        raise ValueError(f"status '{status}' must be published or draft")
    body = match.group(2).strip("\n") + "\n"
    draft = Draft(title=str(meta["title"]).strip(), body=body, category=category, tags=[str(t) for t in tags], audience=audience, status=status)
    return ArticleFile(slug, locale, draft)


def _read_categories(folder: Path, report: ImportReport) -> None:
    path = folder / "categories.yaml"
    if not path.exists():
        return
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("slug") for e in entries):
            raise ValueError("must be a list of entries with a slug and a title per locale")
    except (yaml.YAMLError, ValueError) as exc:
        report.problems.append(ImportProblem(str(path), str(exc).splitlines()[0]))
        return
    save_categories(entries)
    db.session.flush()


def import_folder(folder: Path, tenant=None, user=None) -> ImportReport:
    """Import every `*.md` below `folder` into the generic library (tenant None) or `tenant`."""
    report = ImportReport()
    folder = Path(folder)
    if not folder.is_dir():
        report.problems.append(ImportProblem(str(folder), "not a folder"))
        return report
    if tenant is None:
        _read_categories(folder, report)
    known = {c.slug for c in list_categories()}
    seen: dict[tuple[str, str], Path] = {}
    for path in sorted(folder.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            item = parse_article(path, known)
            if (item.slug, item.locale) in seen:
                raise ValueError(f"same slug and locale as {seen[(item.slug, item.locale)]}")
            if tenant is not None and item.locale not in tenant.locales:
                raise ValueError(f"locale '{item.locale}' is not one of the tenant's locales")
        except ValueError as exc:
            report.problems.append(ImportProblem(str(path), str(exc)))
            continue
        seen[(item.slug, item.locale)] = path
        existed = _exists(item, tenant)
        # A file's status is stated deliberately, as in an export (the same in every language's file).
        with db.session.begin_nested():
            if tenant is None:
                changed = save_generic_article(user, item.slug, item.locale, item.draft, note=NOTE_IMPORTED, reindex=False, unpublish=True)
            else:
                changed = save_article(tenant, user, item.slug, item.locale, item.draft, note=NOTE_IMPORTED, reindex=False, unpublish=True)
        label = f"{item.locale}/{item.slug}"
        (report.unchanged if not changed else report.updated if existed else report.created).append(label)
    if report.created or report.updated:
        _reindex(tenant)
    return report


def _reindex(tenant) -> None:
    from portal.kb.search import reindex_tenant
    from portal.tenancy.services import list_tenants

    for target in [tenant] if tenant is not None else list_tenants():
        reindex_tenant(target)


def _exists(item: ArticleFile, tenant) -> bool:
    owner = GenericArticle if tenant is None else Article
    article = db.session.scalar(select(owner).where(owner.slug == item.slug))
    return article is not None and article.translation(item.locale) is not None


def render_file(slug: str, locale: str, translation, meta: dict) -> str:
    front = {"slug": slug, "title": translation.title, "locale": locale, "category": meta["category"],
             "tags": list(translation.tags or []), "audience": meta["audience"], "status": meta["status"]}
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{head}---\n\n{normalize_text(translation.body).rstrip()}\n"


def export_folder(folder: Path, tenant=None) -> int:
    """Write the generic library (tenant None) or `tenant`'s own articles as files; returns the count."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    if tenant is None:
        categories = [{"slug": c.slug, "title": dict(c.titles)} for c in list_categories()]
        if categories:
            (folder / "categories.yaml").write_text(yaml.safe_dump(categories, allow_unicode=True, sort_keys=False), encoding="utf-8")
        owners = db.session.scalars(select(GenericArticle).order_by(GenericArticle.slug))
    else:
        owners = db.session.scalars(select(Article).order_by(Article.slug))
    for owner in owners:
        # The source locale first, so a re-import knows which translation the others follow.
        for translation in sorted(owner.translations, key=lambda t: (t.locale != owner.source_locale, t.locale)):
            path = folder / translation.locale / f"{owner.slug}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_file(owner.slug, translation.locale, translation, owner.meta()), encoding="utf-8")
            count += 1
    return count
