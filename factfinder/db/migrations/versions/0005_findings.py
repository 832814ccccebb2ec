"""analysts' decisions on incidents

Revision ID: 0005_findings
Revises: 0004_text
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005_findings'
down_revision = '0004_text'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('at_vault_clock', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('log_index')
    )


def downgrade() -> None:
    op.drop_table('incident_decisions')
