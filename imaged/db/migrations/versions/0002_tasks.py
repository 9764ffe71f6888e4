"""Import tasks: one row per POST /v2/images/{id}/import.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("image_id", sa.String(36)),
        sa.Column("user_id", sa.String(255)),
        sa.Column("request_id", sa.String(255)),
        sa.Column("input", sa.JSON),
        sa.Column("result", sa.JSON),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_tasks_owner_created", "tasks", ["owner", "created_at", "id"])
    op.create_index("ix_tasks_image_id", "tasks", ["image_id"])


def downgrade() -> None:
    op.drop_table("tasks")
