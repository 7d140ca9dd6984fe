"""kb: one pending draft per translation, kept from readers until an editor publishes it

Revision ID: 36bd60f5d6a2
Revises: 678235f7e319
Create Date: 2026-12-02 01:02:58.619432

A country's drafts are known by the article's address name: a draft of a generic article the
country has no copy of yet makes the copy only when it is published.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '36bd60f5d6a2'
down_revision = '678235f7e319'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kb_article_translation_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('base', sa.String(length=40), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_article_translation_drafts_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_kb_article_translation_drafts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_translation_drafts')),
    sa.UniqueConstraint('tenant_id', 'slug', 'locale', name=op.f('uq_kb_article_translation_drafts_tenant_id_slug_locale'))
    )
    with op.batch_alter_table('kb_article_translation_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_translation_drafts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('kb_generic_translation_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('base', sa.String(length=40), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_generic_articles.id'], name=op.f('fk_kb_generic_translation_drafts_article_id_kb_generic_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_generic_translation_drafts_author_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_generic_translation_drafts')),
    sa.UniqueConstraint('article_id', 'locale', name=op.f('uq_kb_generic_translation_drafts_article_id_locale'))
    )
    with op.batch_alter_table('kb_generic_translation_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_generic_translation_drafts_article_id'), ['article_id'], unique=False)


def downgrade():
    with op.batch_alter_table('kb_generic_translation_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_generic_translation_drafts_article_id'))

    op.drop_table('kb_generic_translation_drafts')
    with op.batch_alter_table('kb_article_translation_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_article_translation_drafts_tenant_id'))

    op.drop_table('kb_article_translation_drafts')
