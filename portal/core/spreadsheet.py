"""Cells of the CSV files people open in a spreadsheet (the insights tables, the ticket export).

What users type (searches, comments, ticket subjects, their own names) reaches these files, and a
spreadsheet runs a cell that starts like a formula (=HYPERLINK(...), +, -, @, or a tab or carriage
return before one) when the file is opened.
"""
from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[\d.,\s%\u00a0\u202f]+")


def safe_cell(value):
    """`value` as a CSV cell that no spreadsheet runs: a text that starts like a formula is quoted
    with an apostrophe, except a signed figure ("+400%", "-3")."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
