"""kb: search vectors carry their filters, GIN without pending list

Revision ID: f9119eebf346
Revises: 5d048d01a9bc
Create Date: 2026-11-30 06:55:01.125722

PostgreSQL only (the SQLite FTS5 table is unchanged): the search table is rebuilt so that the
tenant, locale, category and audience are lexemes of each vector (the GIN index narrows to them),
and the GIN index skips the pending list. Existing documents are indexed again from
kb_search_documents. The statements are written out here, as the migration
must not change when portal/kb/search.py does.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f9119eebf346'
down_revision = '5d048d01a9bc'
branch_labels = None
depends_on = None

VECTOR = (
    "setweight(to_tsvector({row}.ts_config::regconfig, {row}.title), 'A') || "
    "setweight(to_tsvector({row}.ts_config::regconfig, {row}.body_text), 'B') || "
    "array_to_tsvector(ARRAY(SELECT '~' || t FROM unnest(string_to_array({row}.filters, ' ')) AS t WHERE t <> ''))"
)
DROP = [
    'DROP TRIGGER IF EXISTS kb_search_fts_sync ON kb_search_documents',
    'DROP FUNCTION IF EXISTS kb_search_fts_sync()',
    'DROP TABLE IF EXISTS kb_search_fts',
]
NEW = [
    'CREATE TABLE kb_search_fts (doc_id integer PRIMARY KEY REFERENCES kb_search_documents (id) ON DELETE CASCADE, vector tsvector NOT NULL)',
    "INSERT INTO kb_search_fts (doc_id, vector) SELECT d.id, " + VECTOR.format(row="d") + " FROM kb_search_documents AS d",
    'CREATE INDEX kb_search_fts_vector ON kb_search_fts USING gin (vector) WITH (fastupdate = off)',
    "CREATE FUNCTION kb_search_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO kb_search_fts (doc_id, vector) VALUES (NEW.id, "
    + VECTOR.format(row="NEW") + ") ON CONFLICT (doc_id) DO UPDATE SET vector = EXCLUDED.vector; RETURN NEW; END $$",
    'CREATE TRIGGER kb_search_fts_sync AFTER INSERT OR UPDATE ON kb_search_documents FOR EACH ROW EXECUTE FUNCTION kb_search_fts_sync()',
]
OLD = [
    'CREATE TABLE kb_search_fts (doc_id integer PRIMARY KEY REFERENCES kb_search_documents (id) ON DELETE CASCADE, scope varchar(40) NOT NULL, vector tsvector NOT NULL)',
    "INSERT INTO kb_search_fts (doc_id, scope, vector) SELECT d.id, d.scope, setweight(to_tsvector(d.ts_config::regconfig, d.title), 'A') || setweight(to_tsvector(d.ts_config::regconfig, d.body_text), 'B') FROM kb_search_documents AS d",
    'CREATE INDEX kb_search_fts_vector ON kb_search_fts USING gin (vector)',
    'CREATE INDEX kb_search_fts_scope ON kb_search_fts (scope)',
    "CREATE FUNCTION kb_search_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO kb_search_fts (doc_id, scope, vector) VALUES (NEW.id, NEW.scope, setweight(to_tsvector(NEW.ts_config::regconfig, NEW.title), 'A') || setweight(to_tsvector(NEW.ts_config::regconfig, NEW.body_text), 'B')) ON CONFLICT (doc_id) DO UPDATE SET scope = EXCLUDED.scope, vector = EXCLUDED.vector; RETURN NEW; END $$",
    'CREATE TRIGGER kb_search_fts_sync AFTER INSERT OR UPDATE ON kb_search_documents FOR EACH ROW EXECUTE FUNCTION kb_search_fts_sync()',
]


def _postgresql(statements):
    if op.get_bind().dialect.name == "postgresql":
        for statement in statements:
            op.execute(statement)


def upgrade():
    _postgresql(DROP + NEW)


def downgrade():
    _postgresql(DROP + OLD)
