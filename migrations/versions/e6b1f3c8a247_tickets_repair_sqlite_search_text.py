"""tickets: rebuild the search text of SQLite tickets that a reply had turned into 0

Revision ID: e6b1f3c8a247
Revises: d4a7c2e9b815
Create Date: 2026-12-01 13:50:00

On SQLite, adding a message's words to a ticket's search text used `+` (the column's type is
PostgreSQL's tsvector), which SQLite read as a sum: the text became 0 and the ticket could no longer
be found by its words. Each SQLite ticket's text is made again from its subject and its messages.
PostgreSQL was not affected.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e6b1f3c8a247'
down_revision = 'd4a7c2e9b815'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    bodies: dict[int, list[str]] = {}
    for ticket_id, body in bind.execute(sa.text("SELECT ticket_id, body FROM ticket_messages ORDER BY id")):
        bodies.setdefault(ticket_id, []).append(body or "")
    rows = [{"id": ticket_id, "text": "\n".join([subject or "", *bodies.get(ticket_id, [])]).lower()}
            for ticket_id, subject in bind.execute(sa.text("SELECT id, subject FROM tickets"))]
    if rows:
        bind.execute(sa.text("UPDATE tickets SET search_document = :text WHERE id = :id"), rows)


def downgrade():
    pass  # the repaired text is what the portal writes from now on
