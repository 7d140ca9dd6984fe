"""escalation: the expert who owns an escalation to the central team, and since when

Revision ID: d4ce21aa611c
Revises: c547c3c45af0
Create Date: 2026-12-02 00:53:45.725886

Escalations already open have no owner: the first expert to take one, or to answer Level 2 on it, owns it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4ce21aa611c'
down_revision = 'c547c3c45af0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tier_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('owned_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tier_steps_owner_id_users'), 'users', ['owner_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('tier_steps', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tier_steps_owner_id_users'), type_='foreignkey')
        batch_op.drop_column('owned_at')
        batch_op.drop_column('owner_id')
