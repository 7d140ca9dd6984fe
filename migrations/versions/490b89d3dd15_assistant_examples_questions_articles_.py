"""assistant: the questions each article is known to answer (learned from solved conversations, or added by editors)

Revision ID: 490b89d3dd15
Revises: 2128cf297a04
Create Date: 2026-12-02 03:54:16.448666

`assistant_examples` starts empty in every tenant: examples are learned as people say an answer solved
their question, or added by editors; a country's file (tenants/<slug>/assistant/examples.yaml) is read
beside them, not copied in.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '490b89d3dd15'
down_revision = '2128cf297a04'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assistant_examples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_assistant_examples_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_assistant_examples_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['turn_id'], ['assistant_turns.id'], name=op.f('fk_assistant_examples_turn_id_assistant_turns'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assistant_examples'))
    )
    with op.batch_alter_table('assistant_examples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assistant_examples_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_assistant_examples_tenant_slug', ['tenant_id', 'slug'], unique=False)



def downgrade():
    with op.batch_alter_table('assistant_examples', schema=None) as batch_op:
        batch_op.drop_index('ix_assistant_examples_tenant_slug')
        batch_op.drop_index(batch_op.f('ix_assistant_examples_tenant_id'))

    op.drop_table('assistant_examples')
