"""repo ref patterns

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('repo_ref_patterns',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('pattern', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'pattern')
    )


def downgrade() -> None:
    op.drop_table('repo_ref_patterns')
