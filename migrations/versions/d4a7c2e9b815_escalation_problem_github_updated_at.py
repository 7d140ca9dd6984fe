"""escalation: when a problem's GitHub issue last changed, to drop webhooks that arrive out of order

Revision ID: d4a7c2e9b815
Revises: c5e8f2a7d913
Create Date: 2026-12-01 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a7c2e9b815'
down_revision = 'c5e8f2a7d913'
branch_labels = None
depends_on = None


def upgrade():
    # Existing problems know no time yet: the next state GitHub reports is taken, whatever its time.
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('github_updated_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_column('github_updated_at')
