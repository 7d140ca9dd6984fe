"""Ticket pages for requesters and agents, and the tickets API."""
from __future__ import annotations

from flask import Blueprint, Flask

from portal.tickets import models, notify  # noqa: F401  (models for the metadata; notify connects the default subscribers)

bp = Blueprint("tickets", __name__, template_folder="templates")


def register(app: Flask) -> None:
    app.register_blueprint(bp)
