"""Filling support text with a country's values (`{{ country.name }}`) in a sandboxed Jinja.

Shared by canned responses and knowledge-base articles: the text is data written by tenant staff,
so it runs in Jinja's sandbox with no access to the application, and an unknown value renders as
nothing rather than failing.
"""
from __future__ import annotations

from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True, undefined=ChainableUndefined)


class PlaceholderError(ValueError):
    """The text is not a valid template; the message says where."""


def render_placeholders(text: str, values: dict[str, Any]) -> str:
    """Render `text` with `values` (e.g. `tenant.settings.placeholder_values(locale)`)."""
    if "{" not in text:
        return text
    try:
        return _env.from_string(text).render(**values)
    except TemplateError as exc:
        raise PlaceholderError(str(exc)) from None


def check_placeholders(text: str) -> str | None:
    """None if `text` is a valid template, else the problem (for form validation)."""
    try:
        _env.parse(text)
    except TemplateError as exc:
        return str(exc)
    return None
