"""kb: the SQLite search index reads marks as letters (vowel signs of Brahmic scripts)

Revision ID: c5e8f2a7d913
Revises: b7d3e9a1c254
Create Date: 2026-12-01 06:20:00.000000

SQLite only. The FTS5 table is made again with the unicode61 tokenizer's categories 'L* N* Co M*'
(by default a combining mark ends a word, and the vowel signs of Bengali, Hindi or Tamil are
marks: "নিবন্ধন" was three words), and filled again from kb_search_documents. Words of those
scripts that the application indexed before this release were cut the same way, and words joined
by an underscore ("sync_connection_fail") were kept as one: `flask kb reindex` indexes both as a
query now reads them (other text needs nothing). The statements are
written out here, as the migration must not change when portal/kb/search.py does.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c5e8f2a7d913'
down_revision = 'b7d3e9a1c254'
branch_labels = None
depends_on = None

TABLE = "CREATE VIRTUAL TABLE kb_search_fts USING fts5(filters, title, body, tokenize = {tokenizer})"
NEW_TOKENIZER = "\"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\""
OLD_TOKENIZER = "'unicode61 remove_diacritics 2'"
FILL = ("INSERT INTO kb_search_fts (rowid, filters, title, body) "
        "SELECT id, filters, title_index, body_index FROM kb_search_documents")


def _rebuild(tokenizer: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The triggers of kb_search_documents name the table and find the new one.
    op.execute("DROP TABLE IF EXISTS kb_search_fts")
    op.execute(TABLE.format(tokenizer=tokenizer))
    op.execute(FILL)


def upgrade():
    _rebuild(NEW_TOKENIZER)


def downgrade():
    _rebuild(OLD_TOKENIZER)
