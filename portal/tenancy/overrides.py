"""Settings changed in the portal, kept apart from the country's file and merged over it.

`Tenant.config` is `tenant.toml` as last synced; `Tenant.overrides` holds only what a tenant
administrator changed on the settings page, as a tree of the same shape (`{"sla": {"urgent":
{"first_response_hours": 2.0}}}`). The settings in force are `deep_merge(config, overrides)`:
tables are merged key by key, anything else (a list, a number, a per-locale text) is replaced
whole. A sync writes `config` only, so an administrator's change outlives it.

Only the keys of `EDITABLE` are ever overridden: a key is a leaf of the override tree.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Any, Iterator

from pydantic import ValidationError

from portal.tenancy.settings import PRIORITIES, TenantSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Editable:
    """A key the settings page may change: its path in the settings, and what kind of value it is
    (`localized`: one text per locale, kept whole; `number`: a float or integer checked for sense)."""

    path: str
    section: str
    kind: str = "value"  # value, localized, number


_SLA_KEYS = [Editable(f"sla.{p}.{k}", "sla", "number") for p in PRIORITIES for k in ("first_response_hours", "resolution_hours")]
_FEES = ("birth_on_time", "birth_late", "birth_delayed", "death_on_time", "death_late", "death_delayed", "certificate_copy")
_REGISTRATION_NUMBERS = ("birth_deadline_days", "birth_late_deadline_days", "death_deadline_days", "death_late_deadline_days",
                         "verification_code_minutes", "login_lock_minutes")

EDITABLE: dict[str, Editable] = {
    item.path: item
    for item in [
        Editable("support.email", "contacts"),
        Editable("support.whatsapp", "contacts"),
        Editable("support.phone", "contacts"),
        Editable("support.hours", "contacts", "localized"),
        Editable("support.business_hours.start", "business_hours"),
        Editable("support.business_hours.end", "business_hours"),
        Editable("support.business_hours.days", "business_hours"),
        Editable("support.business_hours.holidays", "business_hours"),
        *_SLA_KEYS,
        Editable("sla.on_breach", "sla"),
        Editable("assistant.enabled", "assistant"),
        Editable("assistant.threshold", "assistant", "number"),
        *[Editable(f"registration.{key}", "registration", "number") for key in _REGISTRATION_NUMBERS],
        *[Editable(f"registration.fees.{key}", "registration", "number") for key in _FEES],
        Editable("registration.offices", "registration"),
    ]
}
SECTIONS = ("contacts", "business_hours", "sla", "assistant", "registration")


def section_paths(section: str) -> list[str]:
    return [path for path, item in EDITABLE.items() if item.section == section]


# -- trees of settings ----------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` laid over it: nested tables merged key by key, lists and scalars replaced.
    Neither argument is changed."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


_MISSING = object()


def get_path(tree: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def has_path(tree: dict[str, Any], path: str) -> bool:
    return get_path(tree, path, _MISSING) is not _MISSING


def with_path(tree: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `tree` where `path` holds `value` (the tables on the way made as needed)."""
    head, _, rest = path.partition(".")
    result = dict(tree)
    if rest:
        below = result.get(head)
        result[head] = with_path(below if isinstance(below, dict) else {}, rest, value)
    else:
        result[head] = copy.deepcopy(value)
    return result


def without_path(tree: dict[str, Any], path: str) -> dict[str, Any]:
    """A copy of `tree` without `path`; tables left empty are removed too."""
    head, _, rest = path.partition(".")
    if head not in tree:
        return dict(tree)
    result = dict(tree)
    if rest:
        if not isinstance(result[head], dict):
            return result
        below = without_path(result[head], rest)
        if below:
            result[head] = below
        else:
            del result[head]
    else:
        del result[head]
    return result


def override_paths(overrides: dict[str, Any]) -> list[str]:
    """The keys an override tree changes, in the order of `EDITABLE` (then any other, as stored)."""
    found = list(_leaves(overrides))
    known = [path for path in EDITABLE if path in found]
    return known + [path for path in found if path not in EDITABLE]


def _leaves(tree: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if path in EDITABLE or not isinstance(value, dict) or not value:
            yield path
        else:
            yield from _leaves(value, path + ".")


# -- reading: the settings in force -----------------------------------------------------------------


def error_path(error: dict) -> str:
    """The dotted key a pydantic error is about (a check comparing two keys names the one it blames)."""
    parts = [str(part) for part in error["loc"]]
    if error["type"] == "tenant_key":
        parts.append(str(error["ctx"]["key"]))
    return ".".join(parts)


def _related(a: str, b: str) -> bool:
    """Whether one key is the other or holds it (`support.business_hours` holds `support.business_hours.end`)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _blamed(paths: list[str], problems: list[str]) -> list[str]:
    """The overridden keys to drop for `problems` (keys of errors): those the error is about; else
    those of the table it is in (a check comparing an overridden key with one of the file); else all
    of them, since the file alone was valid when it was synced."""
    exact = [p for p in paths if any(_related(p, problem) for problem in problems)]
    if exact:
        return exact
    tables = {problem.rsplit(".", 1)[0] for problem in problems if "." in problem}
    near = [p for p in paths if any(_related(p, table) for table in tables)]
    return near or list(paths)


def settings_with_overrides(config: dict[str, Any], overrides: dict[str, Any] | None, slug: str = "") -> tuple[TenantSettings, list[str]]:
    """The settings in force, and the overridden keys left out because they no longer fit the file.

    A file synced later may make an override wrong (a text for a locale the country no longer
    offers, an on-time deadline now longer than the file's late one): such keys are dropped here,
    with a warning in the log, so that the country's pages keep working; the settings page lists
    them. A file that is itself invalid raises as it always did.
    """
    overrides = overrides or {}
    dropped: list[str] = []
    while True:
        merged = deep_merge(config, overrides) if overrides else config
        paths = override_paths(overrides)
        try:
            settings = TenantSettings.model_validate(merged)
        except ValidationError as exc:
            if not paths:
                raise
            problems = [error_path(error) for error in exc.errors()]
        else:
            # Keys that agree with another key (a text per locale among `locales`) are not checked
            # when stored settings are read (see `key_problems`), except those changed here.
            problems = [key for key, _reason in settings.key_problems() if any(_related(key, p) for p in paths)]
            if not problems:
                if dropped:
                    logger.warning("tenant %s: settings changed in the portal no longer fit tenant.toml and are ignored: %s",
                                   slug, ", ".join(dropped))
                return settings, dropped
        blamed = _blamed(paths, problems)
        for path in blamed:
            overrides = without_path(overrides, path)
        dropped.extend(blamed)
