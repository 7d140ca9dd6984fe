"""Filling canned responses with a country's values (`{{ country.name }}`, `{{ ticket.reference }}`).

The text is data written by tenant staff, so only `{{ dotted.name }}` lookups in plain values are
filled, nothing is evaluated (a loop or an expression in a reply could hold a worker for minutes or
fill its memory), and an unknown name renders as nothing rather than failing. Knowledge-base
articles are filled the same way by `portal.kb.rendering`.
"""
from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

PLACEHOLDER_RE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
DOTTED_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
_BLOCK_RE = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)


class PlaceholderError(ValueError):
    """The text is not a valid template; the message says where."""


def format_value(value: Any) -> str | None:
    """A country's value as text fills it in ("true", "10" for 10.0, lists joined); None for no value."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) or "" for v in value)
    return str(value)


def _value(name: str, values: dict[str, Any]) -> str:
    value: Any = values
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return format_value(value) or ""


def render_placeholders(text: str, values: dict[str, Any]) -> str:
    """`text` with each `{{ dotted.name }}` replaced by its value from `values` (nested dicts, such
    as `tenant.settings.placeholder_values(locale)`); unknown names become nothing."""
    if "{" not in text:
        return text
    return PLACEHOLDER_RE.sub(lambda match: _value(match.group(1), values) if DOTTED_RE.fullmatch(match.group(1)) else "", text)


def check_placeholders(text: str) -> str | None:
    """None if `text` has only `{{ dotted.name }}` placeholders, else the problem (for form validation)."""
    block = _BLOCK_RE.search(text)
    if block:
        return _("Only placeholders such as {{ country.name }} are allowed, not “%(found)s”.", found=block.group(0)[:60])
    for match in PLACEHOLDER_RE.finditer(text):
        if not DOTTED_RE.fullmatch(match.group(1)):
            return _("Only placeholders such as {{ country.name }} are allowed, not “%(found)s”.", found=match.group(0)[:60])
    if "{{" in PLACEHOLDER_RE.sub("", text):
        return _("A placeholder is not closed: write it as {{ country.name }}.")
    return None
