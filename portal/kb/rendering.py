"""Turning an article's Markdown into safe HTML filled with a tenant's values.

Placeholders are `{{ dotted.name }}` lookups evaluated by Jinja's sandbox over plain data (the
tenant's `placeholder_values`): nothing else is evaluated. An unknown placeholder renders as nothing
for readers and as a visible marker for editors, and is reported so the materials-status page can
list it. Markdown is CommonMark with tables, raw HTML disabled, and the result goes through an
allow-list sanitizer (nh3) anyway.
"""
from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Collection

import nh3
from jinja2 import StrictUndefined, Undefined, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt

from portal.core.placeholders import DOTTED_RE, PLACEHOLDER_RE, format_value

# Markers for unknown placeholders survive Markdown and sanitizing as private-use characters.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKER_RE = re.compile(f"{_OPEN}(.*?){_CLOSE}")

_sandbox = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td", "del", "s", "mark", "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# A blockquote that opens with a bold label ending with a colon ("**Note:**", "**Remarque :**").
_NOTE_RE = re.compile(r"<blockquote>\s*<p><strong>([^<]{1,40}?)(\s*):</strong>")
_NO_BREAK_SPACES = {"\u00a0", "\u202f"}


def _note(match: re.Match) -> str:
    # The label keeps its language's punctuation ("Note :" in French): a space the author put before
    # the colon stays, made no-break so that the colon never starts a line on its own.
    label, space = match.group(1), match.group(2)
    if space and not set(space) <= _NO_BREAK_SPACES:
        space = "\u00a0"
    return f'<blockquote class="kb-note"><p><strong>{label}{space}:</strong>'


@dataclass
class Filled:
    """Markdown with its placeholders filled, and the names that could not be."""

    text: str
    unknown: list[str] = field(default_factory=list)


def fill_placeholders(text: str, values: dict[str, Any], *, mark_unknown: bool = False) -> Filled:
    """Replace each `{{ dotted.name }}` with its value from `values` (sandboxed, no code)."""
    unknown: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1)
        value = _lookup(name, values)
        if value is None:
            if name not in unknown:
                unknown.append(name)
            return f"{_OPEN}{name}{_CLOSE}" if mark_unknown else ""
        return value

    return Filled(PLACEHOLDER_RE.sub(replace, text), unknown)


def _lookup(name: str, values: dict[str, Any]) -> str | None:
    if not DOTTED_RE.fullmatch(name):
        return None
    try:
        value = _compiled(name)(**values)
    except (UndefinedError, TypeError, AttributeError):
        return None
    return _format(value)


@lru_cache(maxsize=1024)
def _compiled(name: str):
    return _sandbox.compile_expression(name, undefined_to_none=False)


def _format(value: Any) -> str | None:
    return None if isinstance(value, Undefined) else format_value(value)


def unknown_placeholders(text: str, values: dict[str, Any]) -> list[str]:
    return fill_placeholders(text, values).unknown


def placeholder_names(values: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Every placeholder `values` can fill, as (name, what it is filled with), in the order given."""
    names: list[tuple[str, str]] = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            names.extend(placeholder_names(value, name + "."))
        elif (text := _format(value)) is not None:
            names.append((name, text))
    return names


@lru_cache(maxsize=2048)
def markdown_to_html(text: str) -> str:
    """Safe HTML for filled Markdown: sanitized, notes classed, unknown-placeholder markers shown."""
    raw = _markdown.render(text)
    clean = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    clean = _NOTE_RE.sub(_note, clean)
    return _MARKER_RE.sub(lambda m: f'<mark class="kb-unknown">{{{{ {html.escape(m.group(1))} }}}}</mark>', clean)


_TABLE_RE = re.compile(r"<table>.*?</table>", re.DOTALL)


def scrollable_tables(body_html: str, label: Callable[[int], str]) -> str:
    """Safe HTML with each table in a box of its own that scrolls sideways on a small screen (the
    page does not): a focusable region named `label(number)`, so that the keyboard scrolls it too."""
    numbers = itertools.count(1)
    return _TABLE_RE.sub(
        lambda m: f'<div class="table-wrap" tabindex="0" role="region" aria-label="{html.escape(label(next(numbers)))}">{m.group(0)}</div>',
        body_html,
    )


# A link to another article, as articles write it: by its address name ("how-to-get-help"), or from
# the article pages' folder ("../articles/how-to-get-help"); in safe HTML, where `href` comes first.
_ARTICLE_LINK_RE = re.compile(r'<a href="(?:\.\./articles/)?([a-z0-9][a-z0-9-]*)(#[^"]*)?"([^>]*)>(.*?)</a>', re.DOTALL)


def linked_articles(body_html: str) -> list[str]:
    """The address names of the articles safe HTML links to, in order, each once."""
    return list(dict.fromkeys(match.group(1) for match in _ARTICLE_LINK_RE.finditer(body_html)))


def article_links(body_html: str, href: Callable[[str, str], str | None]) -> str:
    """Safe HTML with each link to another article pointed at `href(address name, "#fragment" or "")`;
    where that is None (an article its reader cannot open: hidden, in draft, for staff, unknown) the
    link's text stays, without the link, rather than a link to a missing page."""

    def replace(match: re.Match) -> str:
        target = href(match.group(1), match.group(2) or "")
        if target is None:
            return match.group(4)
        return f'<a href="{html.escape(target)}"{match.group(3)}>{match.group(4)}</a>'

    return _ARTICLE_LINK_RE.sub(replace, body_html)


def readable_links(body_html: str, readable: Collection[str]) -> str:
    """Safe HTML whose links to articles outside `readable` (those its reader cannot open) read as their text."""
    return article_links(body_html, lambda slug, fragment: slug + fragment if slug in readable else None)


_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")


def html_to_text(markup: str) -> str:
    """Plain text of rendered HTML, for search and snippets."""
    text = _TAG_RE.sub(" ", markup.replace("</p>", "\n").replace("</li>", "\n"))
    return _SPACE_RE.sub(" ", html.unescape(text)).strip()


def render_article(text: str, values: dict[str, Any], *, editor: bool = False) -> tuple[str, str, list[str]]:
    """(filled Markdown, safe HTML, unknown placeholder names) for an article body."""
    filled = fill_placeholders(text, values, mark_unknown=editor)
    body_html = markdown_to_html(filled.text)
    markdown_text = filled.text if not editor else fill_placeholders(text, values).text
    return markdown_text, body_html, filled.unknown
