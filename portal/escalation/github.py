"""Creating and reading GitHub issues for problems, through the REST API.

Configured from the environment (or the app config in tests): `GITHUB_API_BASE` (default
https://api.github.com), `GITHUB_REPOSITORY` (`owner/repo`) and `GITHUB_TOKEN`; and, for GitHub to
tell the portal when an issue changes (the webhook), `GITHUB_WEBHOOK_SECRET`.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from portal.core.security import storable

TIMEOUT = 10


class GitHubError(RuntimeError):
    """GitHub is not configured or refused the call; the message is safe to show."""


@dataclass
class IssueInfo:
    number: int
    url: str
    state: str  # open or closed
    state_reason: str = ""  # when closed: completed or not_planned; reopened; or nothing
    updated_at: dt.datetime | None = None  # when the issue last changed, as GitHub says


def _setting(name: str, default: str = "") -> str:
    return str(current_app.config.get(name) or os.environ.get(name) or default).strip()


def is_configured() -> bool:
    return bool(_setting("GITHUB_REPOSITORY") and _setting("GITHUB_TOKEN"))


def _call(method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    if not is_configured():
        raise GitHubError(_("GitHub is not configured: set GITHUB_REPOSITORY and GITHUB_TOKEN."))
    base = _setting("GITHUB_API_BASE", "https://api.github.com").rstrip("/")
    url = f"{base}/repos/{_setting('GITHUB_REPOSITORY')}{path}"
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("Authorization", f"Bearer {_setting('GITHUB_TOKEN')}")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (configured https base)
            return json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the answer's connection
        current_app.logger.warning("GitHub %s %s answered %s", method, path, exc.code)
        raise GitHubError(_("GitHub refused the request (HTTP %(code)s).", code=exc.code)) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        current_app.logger.warning("GitHub %s %s failed: %s", method, path, exc)
        raise GitHubError(_("GitHub could not be reached. Please try again later.")) from None


ISSUE_NUMBERS = range(1, 2**31)  # what problems.github_number keeps
URL_LIMIT = 500  # problems.github_url


def _info(data: dict[str, Any]) -> IssueInfo:
    try:
        number = data["number"]
        if isinstance(number, bool) or not isinstance(number, int) or number not in ISSUE_NUMBERS:
            raise ValueError(number)
        url = storable(data.get("html_url") or "")
        return IssueInfo(number, url if len(url) <= URL_LIMIT else "", storable(data.get("state") or "open", 20),
                         storable(data.get("state_reason") or "", 20), _moment(data.get("updated_at")))
    except (KeyError, TypeError, ValueError, OverflowError):
        raise GitHubError(_("GitHub sent an answer we could not read.")) from None


def _moment(value: Any) -> dt.datetime | None:
    """GitHub's ISO 8601 time ("2026-11-30T10:00:00Z") in UTC, or None when there is none."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(dt.timezone.utc) if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def create_issue(title: str, body: str, labels: list[str] | None = None) -> IssueInfo:
    payload: dict[str, Any] = {"title": title, "body": body}
    if labels:
        payload["labels"] = labels
    return _info(_call("POST", "/issues", payload))


def get_issue(number: int) -> IssueInfo:
    return _info(_call("GET", f"/issues/{int(number)}"))


def webhook_secret() -> str:
    return _setting("GITHUB_WEBHOOK_SECRET")


def repository() -> str:
    return _setting("GITHUB_REPOSITORY")


def issue_of_event(payload: Any) -> IssueInfo:
    """The issue an `issues` webhook event is about (GitHubError if the payload has none)."""
    issue = payload.get("issue") if isinstance(payload, dict) else None
    if not isinstance(issue, dict):
        raise GitHubError(_("GitHub sent an answer we could not read."))
    return _info(issue)
