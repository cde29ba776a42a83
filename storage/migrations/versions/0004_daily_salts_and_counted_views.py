"""daily viewer salts and counted views

Viewer ids become HMACs of (user agent, address, video) with a salt that rotates every UTC day, so the monthly
salts are deleted (the table is re-created keyed by day; ids already stored stay as they were, they simply can no
longer be recomputed). Viewing sessions get ``counted``: the page views that count as views (10 s watched, at most
one per viewer, video and hour), with an index for the hourly check. Existing sessions that played for 10 s or more
are marked counted (the hourly de-duplication is not applied to history).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('viewer_salts')  # the monthly salts: deleted, not converted
    op.create_table('viewer_salts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('value', sa.LargeBinary(length=16), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    with op.batch_alter_table('view_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_view_sessions_pub_viewer_started', ['publication_id', 'viewer', 'started_at'],
                              unique=False)
    sessions = sa.table('view_sessions', sa.column('counted', sa.Boolean()), sa.column('played', sa.Boolean()),
                        sa.column('watched_s', sa.Float()))
    op.execute(sessions.update().where(sessions.c.played.is_(True), sessions.c.watched_s >= 10.0)
               .values(counted=True))


def downgrade() -> None:
    with op.batch_alter_table('view_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_view_sessions_pub_viewer_started')
        batch_op.drop_column('counted')
    op.drop_table('viewer_salts')
    op.create_table('viewer_salts',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('period')
    )
