"""vault: items, receipts, protected fields, custody log

Revision ID: 0001_vault
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001_vault"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at_vault_clock", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=False),
        sa.Column("first_log_index", sa.BigInteger(), nullable=False),
        sa.Column("received_at_vault_clock", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "log_entry_bundles",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("idx"),
    )
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "log_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("original_name", sa.Text(), nullable=True),
        sa.Column("collected_at_claimed", sa.String(length=64), nullable=True),
        sa.Column("collected_by_claimed", sa.Text(), nullable=True),
        sa.Column("received_at_vault_clock", sa.String(length=40), nullable=False),
        sa.Column("details_salt", sa.LargeBinary(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("log_index"),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipts_item_id"), ["item_id"], unique=False
        )

    op.create_table(
        "openings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("opened_with", sa.Text(), nullable=False),
        sa.Column("opened_at_vault_clock", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("log_index"),
    )
    with op.batch_alter_table("openings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_openings_receipt_id"), ["receipt_id"], unique=False
        )

    op.create_table(
        "protected_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_id", "field"),
    )
    with op.batch_alter_table("protected_fields", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protected_fields_receipt_id"), ["receipt_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("protected_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protected_fields_receipt_id"))

    op.drop_table("protected_fields")
    with op.batch_alter_table("openings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_openings_receipt_id"))

    op.drop_table("openings")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_item_id"))

    op.drop_table("receipts")
    op.drop_table("log_tiles")
    op.drop_table("log_head")
    op.drop_table("log_entry_bundles")
    op.drop_table("items")
    op.drop_table("checkpoints")
