"""Data access to the self-service sources (knowledge base, assistant), one small function each.

Each returns None while its source is not part of the application, so the dashboard leaves the
section out and says so instead of showing made-up figures.
"""
from __future__ import annotations

import importlib.util


def _installed(domain: str) -> bool:
    try:
        return importlib.util.find_spec(f"portal.{domain}.models") is not None
    except ModuleNotFoundError:
        return False


def search_gaps(first, last, limit: int = 20):
    """Top searches with no result, and with no article opened, per locale (knowledge base log)."""
    if not _installed("kb"):
        return None
    return None  # wired in when the knowledge base's search log lands


def handover_questions(first, last, limit: int = 500):
    """Assistant questions that ended in a hand-over to a person, as (question, locale) pairs."""
    if not _installed("assistant"):
        return None
    return None  # wired in when the assistant's turns land


def unhelpful_articles(first, last, limit: int = 20):
    """Articles most often rated "not helpful", with the comments."""
    if not _installed("kb"):
        return None
    return None


def outdated_translations():
    """Article translations older than their source text."""
    if not _installed("kb"):
        return None
    return None


def deflection(first, last):
    """Self-service sessions (KB or assistant) and those of them that led to no ticket."""
    if not (_installed("kb") or _installed("assistant")):
        return None
    return None
