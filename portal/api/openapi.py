"""The OpenAPI document of `/api/v1`, assembled from one YAML file per domain.

`portal/api/openapi.yaml` holds what is shared (errors, security, the tenant parameter); each domain
that serves an API describes its own paths, and any schemas they need, in `portal/<domain>/openapi.yaml`.
Two domains may not define the same path or component: that is reported at load, not silently merged.
"""
from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml

PORTAL = Path(__file__).resolve().parent.parent
BASE = PORTAL / "api" / "openapi.yaml"


def _merge(spec: dict, part: dict, source: Path) -> None:
    for path, item in (part.get("paths") or {}).items():
        if path in spec["paths"]:
            raise ValueError(f"{source}: path {path} is already described elsewhere")
        spec["paths"][path] = item
    for section, entries in (part.get("components") or {}).items():
        target = spec["components"].setdefault(section, {})
        for name, value in entries.items():
            if name in target:
                raise ValueError(f"{source}: components.{section}.{name} is already defined elsewhere")
            target[name] = value
    for tag in part.get("tags") or []:
        spec.setdefault("tags", []).append(tag)


@cache
def _document(domains: tuple[str, ...]) -> dict:
    spec = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    for domain in domains:
        path = PORTAL / domain / "openapi.yaml"
        if domain != "api" and path.exists():
            _merge(spec, yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path)
    return spec


def openapi_document(domains: tuple[str, ...]) -> dict:
    """The whole API description for the registered `domains` (a copy the caller may change)."""
    return copy.deepcopy(_document(tuple(domains)))
