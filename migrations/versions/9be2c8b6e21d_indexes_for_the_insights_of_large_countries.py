"""indexes for the insights of large countries: tickets and searches of a period, with who made them

Revision ID: 9be2c8b6e21d
Revises: ab684f67ae55
Create Date: 2026-12-01 16:30:00

The dashboard's deflection figure matches each day's searches of signed-in staff with the tickets
they opened that day or the next. With 100,000 tickets on PostgreSQL it read the whole tickets
table (about 400 ms a year); these indexes let it read a country's period from the indexes alone.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9be2c8b6e21d'
down_revision = 'ab684f67ae55'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tickets_created", "tickets", ["tenant_id", "created_at", "requester_user_id"])
    op.create_index("ix_kb_search_logs_tenant_time", "kb_search_logs", ["tenant_id", "created_at", "user_id"])


def downgrade():
    op.drop_index("ix_kb_search_logs_tenant_time", table_name="kb_search_logs")
    op.drop_index("ix_tickets_created", table_name="tickets")
