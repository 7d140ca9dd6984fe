"""indexes for large countries: the breaching view, merged tickets, a country's inbox

Revision ID: ab684f67ae55
Revises: e6b1f3c8a247
Create Date: 2026-12-01 16:05:00

Measured with 100,000 tickets on PostgreSQL (benchmarks/scale_pages.py):
- the queue's "breaching" view read every ticket of every country (81 ms); it now reads the
  country's active tickets in target order (0.1 ms);
- every staff ticket page looked for tickets merged into it by reading the whole table (60-100 ms);
- a country's inbox listed by status had no index starting with the country.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ab684f67ae55'
down_revision = 'e6b1f3c8a247'
branch_labels = None
depends_on = None

ACTIVE_NOT_MERGED = "merged_into_id IS NULL AND status IN ('new', 'open', 'waiting', 'escalated')"


def upgrade():
    op.create_index("ix_tickets_breaching", "tickets", ["tenant_id", "resolution_due_at", "id"],
                    postgresql_where=sa.text(ACTIVE_NOT_MERGED), sqlite_where=sa.text(ACTIVE_NOT_MERGED))
    op.create_index("ix_tickets_merged_into", "tickets", ["merged_into_id"],
                    postgresql_where=sa.text("merged_into_id IS NOT NULL"), sqlite_where=sa.text("merged_into_id IS NOT NULL"))
    op.create_index("ix_inbound_messages_inbox", "inbound_messages", ["tenant_id", "status", "created_at"])


def downgrade():
    op.drop_index("ix_inbound_messages_inbox", table_name="inbound_messages")
    op.drop_index("ix_tickets_merged_into", table_name="tickets")
    op.drop_index("ix_tickets_breaching", table_name="tickets")
