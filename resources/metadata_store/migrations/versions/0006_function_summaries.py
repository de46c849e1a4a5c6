"""function summaries (enrichment, FULL tier)

LLM summaries keyed by their content key, the mapping of IR functions to them, the chunks embedded with
summaries, and the enrichment state of each partition's lexical index of a manifest.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('summaries',
    sa.Column('summary_key', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
              nullable=False),
    sa.PrimaryKeyConstraint('summary_key')
    )
    op.create_table('symbol_summaries',
    sa.Column('enrichment', sa.String(length=200), nullable=False),
    sa.Column('doc_key', sa.String(length=160), nullable=False),
    sa.Column('symbol_id', sa.Text(), nullable=False),
    sa.Column('summary_key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('enrichment', 'doc_key', 'symbol_id')
    )
    op.create_index(op.f('ix_symbol_summaries_summary_key'), 'symbol_summaries', ['summary_key'], unique=False)
    op.create_table('summarized_chunks',
    sa.Column('embed_key', sa.String(length=64), nullable=False),
    sa.Column('chunk_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('embed_key')
    )
    op.create_index(op.f('ix_summarized_chunks_chunk_hash'), 'summarized_chunks', ['chunk_hash'], unique=False)
    op.create_table('lexical_enrichment',
    sa.Column('repo', sa.String(length=200), nullable=False),
    sa.Column('snapshot', sa.String(length=500), nullable=False),
    sa.Column('manifest_id', sa.String(length=64), nullable=False),
    sa.Column('enrichment', sa.String(length=200), nullable=False),
    sa.Column('pending_paths', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('repo', 'snapshot', 'manifest_id')
    )


def downgrade() -> None:
    op.drop_table('lexical_enrichment')
    op.drop_index(op.f('ix_summarized_chunks_chunk_hash'), table_name='summarized_chunks')
    op.drop_table('summarized_chunks')
    op.drop_index(op.f('ix_symbol_summaries_summary_key'), table_name='symbol_summaries')
    op.drop_table('symbol_summaries')
    op.drop_table('summaries')
