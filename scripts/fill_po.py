"""Fill untranslated entries of a catalog from a JSON file of {msgid: msgstr} (a translator's aid).

Usage: python scripts/fill_po.py translations/fr/LC_MESSAGES/messages.po translations.json
Prints the msgids still untranslated afterwards.
"""
import json
import sys

from babel.messages.pofile import read_po, write_po

po_path, json_path = sys.argv[1], sys.argv[2]
with open(json_path, encoding="utf-8") as fh:
    given = json.load(fh)
with open(po_path, "rb") as fh:
    catalog = read_po(fh)
for message in catalog:
    if not message.id:
        continue
    key = message.id if isinstance(message.id, str) else message.id[0]
    if key in given and (not message.string or message.fuzzy or (isinstance(message.string, tuple) and not all(message.string))):
        message.string = given[key] if isinstance(message.id, str) else tuple(given[key])
        message.flags.discard("fuzzy")
with open(po_path, "wb") as fh:
    write_po(fh, catalog, sort_output=True)
for message in catalog:
    if message.id and (not message.string or (isinstance(message.string, tuple) and not all(message.string))):
        print(json.dumps(message.id if isinstance(message.id, str) else message.id[0], ensure_ascii=False))
