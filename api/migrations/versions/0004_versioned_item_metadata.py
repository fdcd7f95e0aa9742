"""Item metadata (owner, level, audience, tags, related, source path) is proposed with a version and applied
only when that version is published, so saving a draft never changes live knowledge.

Existing versions get the item's current metadata: it is what they were published (or drafted) under.
Versions also get `review_note`: why a reviewer rejected one or its unit withdrew it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meta', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
    bind = op.get_bind()
    items = sa.table('items', sa.column('id', sa.String), sa.column('owner', sa.String), sa.column('level', sa.String),
                     sa.column('audience', sa.JSON), sa.column('tags', sa.JSON), sa.column('related', sa.JSON),
                     sa.column('source_path', sa.Text))
    versions = sa.table('item_versions', sa.column('item_id', sa.String), sa.column('meta', sa.JSON))
    for row in bind.execute(sa.select(items)).all():
        meta = dict(owner=row.owner, level=row.level, audience=list(row.audience or []), tags=list(row.tags or []),
                    related=list(row.related or []), source_path=row.source_path)
        bind.execute(versions.update().where(versions.c.item_id == row.id).values(meta=meta))


def downgrade() -> None:
    with op.batch_alter_table('item_versions', schema=None) as batch_op:
        batch_op.drop_column('review_note')
        batch_op.drop_column('meta')
