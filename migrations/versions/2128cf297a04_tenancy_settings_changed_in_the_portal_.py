"""tenancy: settings changed in the portal, kept apart from tenant.toml, and their history

Revision ID: 2128cf297a04
Revises: 36bd60f5d6a2
Create Date: 2026-12-02 03:45:31.734974

`tenants.overrides` holds what a tenant administrator changed on the settings page, laid over the
file's settings (`tenants.config`, which a sync keeps writing); every tenant starts with none.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2128cf297a04'
down_revision = '36bd60f5d6a2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tenant_setting_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('old_value', sa.JSON(), nullable=True),
    sa.Column('new_value', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_setting_changes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tenant_setting_changes_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_setting_changes'))
    )
    with op.batch_alter_table('tenant_setting_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenant_setting_changes_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_tenant_setting_changes_tenant_time', ['tenant_id', 'created_at'], unique=False)

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overrides', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))


def downgrade():
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('overrides')

    with op.batch_alter_table('tenant_setting_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_setting_changes_tenant_time')
        batch_op.drop_index(batch_op.f('ix_tenant_setting_changes_tenant_id'))

    op.drop_table('tenant_setting_changes')
