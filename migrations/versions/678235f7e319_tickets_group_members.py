"""tickets: who is in each support group is kept in the database, changed on the Tiers page

The groups themselves stay in tenant.toml (`[tiers.groups.<key>]`); their `members` lists only seed
the new table from now on. The lists each country had at its last sync (kept in `tenants.config`)
are carried over here, for the people who have a support role in that country: nobody drops out of
a group with the upgrade.

Revision ID: 678235f7e319
Revises: d4ce21aa611c
Create Date: 2026-12-02 00:53:06.090613

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '678235f7e319'
down_revision = 'd4ce21aa611c'
branch_labels = None
depends_on = None

# The roles of the support desk then (portal.tickets.services.STAFF_ROLES), written out: a migration
# keeps the meaning it had when it was written.
STAFF_ROLES = ('l1_agent', 'l2_technician', 'tenant_admin')


def upgrade():
    op.create_table('ticket_group_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=60), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ticket_group_members_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_group_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_group_members')),
    sa.UniqueConstraint('tenant_id', 'group_key', 'user_id', name=op.f('uq_ticket_group_members_tenant_id_group_key_user_id'))
    )
    with op.batch_alter_table('ticket_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_group_members_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_group_members_user_id'), ['user_id'], unique=False)

    _carry_over_listed_members()


def _carry_over_listed_members():
    """One row per (country, group, email listed there) whose user has a support role in the country,
    active or not (the desk reads only active staff, as it did from the file)."""
    import datetime as dt

    tenants = sa.table('tenants', sa.column('id', sa.Integer()), sa.column('config', sa.JSON()))
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('email', sa.String()))
    memberships = sa.table('memberships', sa.column('tenant_id', sa.Integer()), sa.column('user_id', sa.Integer()), sa.column('role', sa.String()))
    members = sa.table('ticket_group_members', sa.column('tenant_id', sa.Integer()), sa.column('group_key', sa.String()),
                       sa.column('user_id', sa.Integer()), sa.column('created_at', sa.DateTime()))
    connection = op.get_bind()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)  # stored as UTC without a zone, as UTCDateTime does
    for tenant_id, config in connection.execute(sa.select(tenants.c.id, tenants.c.config)).all():
        groups = ((config or {}).get('tiers') or {}).get('groups') or {}
        rows = []
        for key, group in groups.items():
            emails = sorted({(email or '').strip().lower() for email in (group or {}).get('members') or []} - {''})
            if not emails:
                continue
            staff = connection.execute(
                sa.select(users.c.id).join(memberships, memberships.c.user_id == users.c.id)
                .where(memberships.c.tenant_id == tenant_id, memberships.c.role.in_(STAFF_ROLES), users.c.email.in_(emails))
            ).scalars().all()
            rows.extend({'tenant_id': tenant_id, 'group_key': key, 'user_id': user_id, 'created_at': now} for user_id in sorted(set(staff)))
        if rows:
            connection.execute(members.insert(), rows)


def downgrade():
    with op.batch_alter_table('ticket_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_group_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_group_members_tenant_id'))

    op.drop_table('ticket_group_members')
