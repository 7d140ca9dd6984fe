"""Running axe-core (from the npm registry, installed into .cache/ by .ci/run) inside a page."""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import AXE_JS

# WCAG 2.1 A and AA rules plus axe's best practices (landmarks, headings, skip link).
RUN_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}
BLOCKING_IMPACTS = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """Every axe violation on the page as it stands, with its impact and the offending elements."""
    if not AXE_JS.exists():
        pytest.skip(f"axe-core is not installed at {AXE_JS} (npm install --prefix .cache axe-core)")
    # Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) does not block it.
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(f"axe.run(document, {json.dumps(RUN_OPTIONS)})")
    return result["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} -> {targets}")
    return "\n".join(lines)


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
