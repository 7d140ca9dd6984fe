"""Words of any script, read the same way by every search and grouping of the portal.

`\\w` in Python's `re` does not match combining marks, and the vowel signs of the Brahmic scripts
(Bengali, Devanagari, Tamil, Sinhala...) are such marks: "নিবন্ধন" would be read as "ন" and "বন্ধন".
These patterns keep a mark with the letters it belongs to. Accents are another matter: they are
marks written over Latin, Greek or Cyrillic letters (and Arabic or Hebrew vowel points), which
staff often leave out, so `strip_accents` removes those, and only those; it also writes the
ligatures out ("œ" as "oe"), as most phones type them.

    WORD_RE.findall("Réinitialiser জন্ম-নিবন্ধন 2024")   # ['Réinitialiser', 'জন্ম', 'নিবন্ধন', '2024']
    LETTERS_RE.findall("code 1234 expiré")              # ['code', 'expiré'] (letters only, 2 or more)
    strip_accents("vérifié")                            # 'verifie'
"""
from __future__ import annotations

import re
import unicodedata


def _marks() -> str:
    """The combining marks of the Basic Multilingual Plane, as the body of a regex character class;
    not the emoji's (variation selectors, the keycap's enclosing mark): "2️⃣" is the number 2."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x0300, 0x10000):
        if unicodedata.category(chr(code)) in ("Mn", "Mc") and not 0xFE00 <= code <= 0xFE0F:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


_MARKS = _marks()
# A letter or digit (never "_"), then letters, digits and the marks written on them.
WORD_RE = re.compile(rf"[^\W_](?:[^\W_]|[{_MARKS}])*")
# Letters only (no digit), two or more: the words of a text that say what it is about.
LETTERS_RE = re.compile(rf"[^\W\d_](?:[^\W\d_]|[{_MARKS}])+")

# Blocks of marks that are accents: combining diacritics of Latin, Greek and Cyrillic (and their
# extensions), and the vowel points of Hebrew, Arabic and Syriac, which typed text mostly leaves out.
_ACCENT_BLOCKS = ((0x0300, 0x08FF), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F))


def is_letters(token: str) -> bool:
    """Whether `token` is a word of letters only (with the marks written on them), not a number or
    a reference: "নিবন্ধন" is one, though str.isalpha() says no for its vowel signs."""
    return bool(token) and token[0].isalpha() and all(c.isalpha() or unicodedata.category(c) in ("Mn", "Mc") for c in token)


def is_accent(char: str) -> bool:
    code = ord(char)
    return bool(unicodedata.combining(char)) and any(low <= code <= high for low, high in _ACCENT_BLOCKS)


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})


def strip_accents(text: str) -> str:
    """`text` without accents and with ligatures written out ("vérifié" -> "verifie", "œuvre" ->
    "oeuvre", "مُدِير" -> "مدير"); the vowel signs of other scripts stay, being letters there
    ("নিবন্ধন" is unchanged)."""
    if text.isascii():
        return text
    return "".join(char for char in unicodedata.normalize("NFKD", text.translate(_LIGATURES)) if not is_accent(char))
