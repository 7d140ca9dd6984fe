"""Keeping the interface catalogs in translations/ up to date (wraps pybabel)."""
from __future__ import annotations

import subprocess
import sys

import click

from portal.config import REPO_ROOT

POT = REPO_ROOT / "translations" / "messages.pot"


def _pybabel(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=REPO_ROOT)
    if result.returncode != 0:
        raise click.ClickException(f"pybabel {args[0]} failed")


@click.group("translate", help="Extract, update and compile the interface translations.")
def group() -> None:
    pass


SOURCE_LOCALE = "en"


def fill_source_catalog() -> None:
    """The source language's catalog says each message as written, so it is complete by construction."""
    from babel.messages.pofile import read_po, write_po

    path = REPO_ROOT / "translations" / SOURCE_LOCALE / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=SOURCE_LOCALE)
    for message in catalog:
        if not message.id:
            continue
        if message.pluralizable:
            if message.fuzzy or not all(message.string or ()):
                message.string = tuple(message.id)
        elif message.fuzzy or not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog, sort_output=True)


@group.command("update")
def update() -> None:
    """Extract every marked string and merge it into each catalog."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_pgettext:1c,2", "--no-location", "--sort-output", "-o", str(POT), ".")
    _pybabel("update", "-i", str(POT), "-d", "translations", "--no-fuzzy-matching", "--ignore-obsolete")
    fill_source_catalog()


@group.command("init")
@click.argument("locale")
def init(locale: str) -> None:
    """Start a catalog for a new interface language."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_pgettext:1c,2", "--no-location", "--sort-output", "-o", str(POT), ".")
    _pybabel("init", "-i", str(POT), "-d", "translations", "-l", locale)


@group.command("compile")
def compile_() -> None:
    """Compile the catalogs (the compiled files are committed, so a fresh clone needs no step)."""
    _pybabel("compile", "-d", "translations", "--statistics")
