"""Every interface catalog is complete, keeps its placeholders, covers every marked string, and is compiled."""
import re
import subprocess
import sys

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from portal.config import Config
from tests.conftest import REPO

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def catalog(locale: str, suffix: str = "po"):
    path = REPO / "translations" / locale / "LC_MESSAGES" / f"messages.{suffix}"
    with path.open("rb") as fh:
        return read_po(fh, locale=locale) if suffix == "po" else read_mo(fh)


@pytest.mark.parametrize("locale", Config.UI_LOCALES)
def test_catalog_is_complete_and_keeps_placeholders(locale):
    for message in catalog(locale):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"{locale}: untranslated {message.id!r}"
        source = message.id if isinstance(message.id, str) else message.id[0]
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(strings[0])), f"{locale}: {message.id!r}"


@pytest.mark.parametrize("locale", Config.UI_LOCALES)
def test_compiled_catalog_matches_its_source(locale):
    def ids(messages):
        return {m.id if isinstance(m.id, str) else tuple(m.id)[0] for m in messages if m.id}

    source = ids(catalog(locale))
    compiled = ids(catalog(locale, "mo"))
    assert source == compiled, f"run 'flask --app wsgi translate compile' ({locale})"


def test_every_marked_string_is_in_the_catalogs(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_pgettext:1c,2", "-o", str(pot), "."],
        cwd=REPO, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        marked = {(m.context or "", m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh) if m.id}
    known = {(m.context or "", m.id if isinstance(m.id, str) else m.id[0]) for m in catalog("fr") if m.id}
    missing = sorted(marked - known)
    assert not missing, f"run 'flask --app wsgi translate update', then translate: {missing[:10]}"
