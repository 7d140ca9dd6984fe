"""OpenCRVS versions: parsing, comparing, and deciding whether a deployed version carries a fix.

Fixes ship on the supported minor lines (1.8.x and 1.9.x at once). A deployed version carries the
fix of problem P when a release fixing P is on its own minor line and not newer than it, or when
it is on a newer minor line than every release fixing P (fixes are carried forward).
"""
from __future__ import annotations

from collections.abc import Iterable

from packaging.version import InvalidVersion, Version


def parse_version(value: str | None) -> Version | None:
    """The version, accepting a leading `v`; None when it is not a version."""
    text = (value or "").strip()
    if not text or len(text) > 40:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _line(v: Version) -> tuple[int, int]:
    return (v.major, v.minor)


def carries_fix(deployed: str | None, fixing: Iterable[str]) -> bool:
    """Whether `deployed` includes a fix released in any of the `fixing` versions."""
    current = parse_version(deployed)
    fixes = [v for v in (parse_version(f) for f in fixing) if v is not None]
    if current is None or not fixes:
        return False
    if any(_line(f) == _line(current) and f <= current for f in fixes):
        return True
    return _line(current) > max(_line(f) for f in fixes)


def first_fix_for(deployed: str | None, fixing: Iterable[str]) -> str | None:
    """The release a tenant on `deployed` should upgrade to for the fix (on its line if any)."""
    current = parse_version(deployed)
    fixes = sorted((v, f) for f in fixing if (v := parse_version(f)) is not None)
    if not fixes:
        return None
    if current is not None:
        same_line = [f for v, f in fixes if _line(v) == _line(current)]
        if same_line:
            return same_line[0]
        newer = [f for v, f in fixes if _line(v) > _line(current)]
        if newer:
            return newer[0]
    return fixes[-1][1]


def is_newer(candidate: str | None, than: str | None) -> bool:
    a, b = parse_version(candidate), parse_version(than)
    return a is not None and (b is None or a > b)
