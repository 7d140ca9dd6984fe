"""OpenCRVS versions: parsing, comparing, and deciding whether a deployed version carries a fix.

Fixes ship on the supported minor lines (1.8.x and 1.9.x at once), often backported after a newer
line was released: a fix first released in 1.8.2 on 1 December is not in 1.9.0 released on
15 November. A deployed version carries the fix of problem P when:
- a release fixing P is on its own minor line: from that release on (the line's own fix decides,
  so 1.9.0 does not carry a fix the 1.9 line got in 1.9.1);
- else, when a release of its own line, not newer than it, was released after the first release
  of the fix on an older line: only then was the fix there to be carried forward. Days are all we
  know, so a release of the same day is not counted; and a version whose line has no such release
  recorded is not known to carry the fix (recording the release runs the roll-out again).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

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


def _days(released_on: Mapping[str, dt.date]) -> dict[Version, dt.date]:
    """The days of the recorded releases by version ("1.9" and "1.9.0" are one version)."""
    return {v: day for text, day in released_on.items() if (v := parse_version(text)) is not None}


def carries_fix(deployed: str | None, fixing: Iterable[str], released_on: Mapping[str, dt.date]) -> bool:
    """Whether `deployed` includes a fix released in any of the `fixing` versions; `released_on`
    gives the day of every recorded release (see the module's rule)."""
    current = parse_version(deployed)
    fixes = [v for v in (parse_version(f) for f in fixing) if v is not None]
    if current is None or not fixes:
        return False
    own_line = [f for f in fixes if _line(f) == _line(current)]
    if own_line:
        return min(own_line) <= current
    days = _days(released_on)
    fixed_on = [days[f] for f in fixes if _line(f) < _line(current) and f in days]
    if not fixed_on:
        return False
    return any(_line(r) == _line(current) and r <= current and day > min(fixed_on) for r, day in days.items())


def first_fix_for(deployed: str | None, fixing: Iterable[str], released_on: Mapping[str, dt.date]) -> str | None:
    """The first recorded release newer than `deployed` that carries the fix, on its own line if
    there is one, else on the nearest newer line: what a tenant on `deployed` should upgrade to.
    None when no recorded release newer than `deployed` carries it."""
    fixing = list(fixing)
    current = parse_version(deployed)
    carrying = sorted(
        (v, text) for text in released_on
        if (v := parse_version(text)) is not None and (current is None or v > current) and carries_fix(text, fixing, released_on)
    )
    if current is not None:
        same_line = [text for v, text in carrying if _line(v) == _line(current)]
        if same_line:
            return same_line[0]
    return carrying[0][1] if carrying else None


def is_newer(candidate: str | None, than: str | None) -> bool:
    a, b = parse_version(candidate), parse_version(than)
    return a is not None and (b is None or a > b)
