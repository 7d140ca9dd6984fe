"""kb: the SQLite search index writes ligatures out (œ → oe, æ → ae)

Revision ID: b7d3e9a1c254
Revises: a41c2e7f9b10
Create Date: 2026-12-01 06:05:00.000000

The words of kb_search_documents.title_index and body_index (what the SQLite FTS5 table reads, by
its triggers) are now folded with ligatures written out, as a query typed on a phone has them
("oeuvre" finds "œuvre"). Rows indexed before are rewritten the same way here, so that no
`kb reindex` is needed; PostgreSQL searches its own vectors and only sees the same rows rewritten.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d3e9a1c254'
down_revision = 'a41c2e7f9b10'
branch_labels = None
depends_on = None

COLUMNS = ("title_index", "body_index")


def upgrade():
    written_out = ", ".join(f"{c} = replace(replace({c}, 'œ', 'oe'), 'æ', 'ae')" for c in COLUMNS)
    having = " OR ".join(f"{c} LIKE '%œ%' OR {c} LIKE '%æ%'" for c in COLUMNS)
    op.execute(f"UPDATE kb_search_documents SET {written_out} WHERE {having}")


def downgrade():
    pass  # rows stay written out: after a downgrade, `flask kb reindex` gives the older code its ligatures back
