"""IR graphs packed per document; repository-level resolution per manifest

Occurrences move from a row each (`ir_occurrences`) into one packed blob per document with its edges
(`ir_document_graphs`, see core/ir_packing.py), beside the small interface that cross-file resolution
reads. Resolutions are content-addressed maps (target as the document wrote it → repository-wide symbol);
each manifest names the map of each of its files.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ir_document_graphs',
    sa.Column('doc_key', sa.String(length=160), nullable=False),
    sa.Column('graph', sa.LargeBinary(), nullable=False),
    sa.Column('interface', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('doc_key')
    )
    op.drop_table('ir_occurrences')
    op.create_table('ir_resolutions',
    sa.Column('resolution_key', sa.String(length=64), nullable=False),
    sa.Column('expression', sa.Text(), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('resolution_key', 'expression')
    )
    op.create_index(op.f('ix_ir_resolutions_target'), 'ir_resolutions', ['target'], unique=False)
    op.create_table('manifest_resolutions',
    sa.Column('manifest_id', sa.String(length=64), nullable=False),
    sa.Column('resolver', sa.String(length=160), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('resolution_key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('manifest_id', 'resolver', 'path')
    )
    op.create_index(op.f('ix_manifest_resolutions_resolution_key'), 'manifest_resolutions', ['resolution_key'],
                    unique=False)
    op.create_table('resolved_manifests',
    sa.Column('manifest_id', sa.String(length=64), nullable=False),
    sa.Column('resolver', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
              nullable=False),
    sa.PrimaryKeyConstraint('manifest_id', 'resolver')
    )


def downgrade() -> None:
    op.drop_table('resolved_manifests')
    op.drop_index(op.f('ix_manifest_resolutions_resolution_key'), table_name='manifest_resolutions')
    op.drop_table('manifest_resolutions')
    op.drop_index(op.f('ix_ir_resolutions_target'), table_name='ir_resolutions')
    op.drop_table('ir_resolutions')
    op.create_table('ir_occurrences',
    sa.Column('doc_key', sa.String(length=160), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('roles', sa.Integer(), nullable=False),
    sa.Column('start_line', sa.Integer(), nullable=False),
    sa.Column('start_col', sa.Integer(), nullable=False),
    sa.Column('end_line', sa.Integer(), nullable=False),
    sa.Column('end_col', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('doc_key', 'ordinal')
    )
    op.drop_table('ir_document_graphs')
