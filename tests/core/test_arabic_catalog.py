"""The Arabic interface catalog is complete, keeps every placeholder, and turns the page right-to-left."""
import re
from pathlib import Path

from babel.messages.pofile import read_po

from tests.conftest import REPO

CATALOG = REPO / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _messages():
    with Path(CATALOG).open("rb") as fh:
        return [m for m in read_po(fh, locale="ar") if m.id]


def test_every_interface_message_has_an_arabic_translation():
    untranslated = [m.id for m in _messages() if not (m.string if isinstance(m.string, str) else all(m.string)) or m.fuzzy]
    assert not untranslated, f"run 'flask --app wsgi translate update' and translate: {untranslated}"


def test_arabic_translations_keep_the_placeholders():
    for m in _messages():
        source, target = (m.id, m.string) if isinstance(m.id, str) else (m.id[0], m.string[0])
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(target)), m.id


def test_arabic_pages_are_right_to_left_and_translated(client):
    page = client.post("/language", data={"lang": "ar", "next": "/"}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "اختر بلدك" in html  # "Choose your country"
