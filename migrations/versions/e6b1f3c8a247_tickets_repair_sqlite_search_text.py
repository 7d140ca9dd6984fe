"""tickets: make every ticket's search text again, without accents (and repair SQLite's lost texts)

Revision ID: e6b1f3c8a247
Revises: d4a7c2e9b815
Create Date: 2026-12-01 13:50:00

Two reasons, one pass over the tickets:
- On SQLite, adding a message's words to a ticket's search text used `+` (the column's type is
  PostgreSQL's tsvector), which SQLite read as a sum: the text became 0, and the ticket could no
  longer be found by its words.
- The search now compares words without accents ("declaration" finds "Déclaration"), on both
  databases: texts written before keep their accents until they are written again here.
Each ticket's text is made from its subject and its messages, as the portal writes it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e6b1f3c8a247'
down_revision = 'd4a7c2e9b815'
branch_labels = None
depends_on = None


def upgrade():
    from portal.core.words import strip_accents  # the folding the portal applies (portal.tickets.services.search_text)

    bind = op.get_bind()
    bodies: dict[int, list[str]] = {}
    for ticket_id, body in bind.execute(sa.text("SELECT ticket_id, body FROM ticket_messages ORDER BY id")):
        bodies.setdefault(ticket_id, []).append(body or "")
    rows = [{"id": ticket_id, "text": strip_accents("\n".join([subject or "", *bodies.get(ticket_id, [])]).lower())}
            for ticket_id, subject in bind.execute(sa.text("SELECT id, subject FROM tickets"))]
    if not rows:
        return
    value = "to_tsvector('simple', :text)" if bind.dialect.name == "postgresql" else ":text"
    bind.execute(sa.text(f"UPDATE tickets SET search_document = {value} WHERE id = :id"), rows)


def downgrade():
    pass  # the texts stay as the portal writes them from now on
