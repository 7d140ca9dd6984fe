"""assistant: a turn says whether it was a request for a person

The web chat shows such a turn as a hand-over with the contacts open, and insights leave it out of
the questions the content missed ("talk to someone" is no gap in the articles). Turns recorded
before this column existed are marked from their question, with the same rule the assistant uses.

Revision ID: a41c2e7f9b10
Revises: d83b5208bc79
Create Date: 2026-12-01 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a41c2e7f9b10'
down_revision = 'd83b5208bc79'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assistant_turns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asked_for_person', sa.Boolean(), server_default=sa.false(), nullable=False))

    from portal.core.intents import asks_for_person

    turns = sa.table('assistant_turns', sa.column('id', sa.Integer()), sa.column('question', sa.Text()),
                     sa.column('handoff', sa.Boolean()), sa.column('asked_for_person', sa.Boolean()))
    connection = op.get_bind()
    last = 0
    while True:  # a thousand hand-overs at a time, so that a big table is never all in memory
        rows = connection.execute(sa.select(turns.c.id, turns.c.question)
                                  .where(turns.c.handoff.is_(True), turns.c.id > last).order_by(turns.c.id).limit(1000)).all()
        if not rows:
            break
        last = rows[-1].id
        marked = [row.id for row in rows if asks_for_person(row.question or "") is not None]
        if marked:
            connection.execute(turns.update().where(turns.c.id.in_(marked)).values(asked_for_person=True))


def downgrade():
    with op.batch_alter_table('assistant_turns', schema=None) as batch_op:
        batch_op.drop_column('asked_for_person')
