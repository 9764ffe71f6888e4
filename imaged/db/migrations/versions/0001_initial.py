"""The first schema: images, their properties, tags, members and locations.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255)),
        sa.Column("owner", sa.String(255)),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("os_hidden", sa.Boolean, nullable=False),
        sa.Column("disk_format", sa.String(20)),
        sa.Column("container_format", sa.String(20)),
        sa.Column("min_disk", sa.Integer, nullable=False),
        sa.Column("min_ram", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("virtual_size", sa.BigInteger),
        sa.Column("checksum", sa.String(32)),
        sa.Column("os_hash_algo", sa.String(64)),
        sa.Column("os_hash_value", sa.String(128)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("deleted_at", sa.DateTime),
    )
    op.create_index("ix_images_created_id", "images", ["created_at", "id"])
    op.create_index("ix_images_owner_created", "images", ["owner", "created_at", "id"])
    op.create_index("ix_images_visibility_created", "images",
                    ["visibility", "created_at", "id"])
    op.create_index("ix_images_status", "images", ["status"])
    op.create_index("ix_images_name", "images", ["name"])
    op.create_index("ix_images_updated_at", "images", ["updated_at"])

    op.create_table(
        "image_properties",
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_image_properties_name_value", "image_properties", ["name", "value"],
                    mysql_length={"value": 255})

    op.create_table(
        "image_tags",
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_image_tags_value", "image_tags", ["value"])

    op.create_table(
        "image_members",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("image_id", "member", name="uq_image_members_image_member"),
    )
    op.create_index("ix_image_members_member_status", "image_members",
                    ["member", "status", "image_id"])

    op.create_table(
        "image_locations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("metadata", sa.JSON),
    )
    op.create_index("ix_image_locations_image_id", "image_locations", ["image_id"])


def downgrade() -> None:
    for table in ("image_locations", "image_members", "image_tags", "image_properties",
                  "images"):
        op.drop_table(table)
