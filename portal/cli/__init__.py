"""Command-line interface: `flask --app wsgi <group> <command>`.

Each command group lives in its own module and is registered here, so `flask --help` lists them all.
"""
from __future__ import annotations

import importlib

from flask import Flask

COMMAND_MODULES = ("tenants", "users", "demo", "translate", "kb", "tickets", "escalation", "channels", "outbox", "insights")


def register_commands(app: Flask) -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"portal.cli.{name}")
        app.cli.add_command(module.group)
